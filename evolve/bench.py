"""`genart bench`: throughput of every stage on one device, reported as figures and ratios.

Each part returns printable lines; the parts run in data-flow order (render → score → generation
→ dream) so one run shows where the time goes.
"""
from __future__ import annotations

import argparse

import torch


def render_part(device: torch.device, seed: int) -> list[str]:
    """Our renderer against DEAP's compiled lambda evaluated per pixel (issue: genome/render)."""
    return []


def scoring_part(device: torch.device, seed: int) -> list[str]:
    """CNN alone, naturalness exact and fast, whole population score (issue: scorers)."""
    return []


def generation_part(device: torch.device, seed: int) -> list[str]:
    """A whole generation against the CNN's own batched throughput (issue: evolve)."""
    return []


def dream_part(device: torch.device, seed: int) -> list[str]:
    """Seconds per dream step at 512² and 2048² (issue: dream)."""
    return []


PARTS = {"render": render_part, "scoring": scoring_part, "generation": generation_part,
         "dream": dream_part}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def run_bench(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    print(f"genart bench: device={device} torch={torch.__version__} "
          f"threads={torch.get_num_threads()}")
    for name in args.parts or list(PARTS):
        for line in PARTS[name](device, args.seed):
            print(line, flush=True)
    return 0


def register(sub) -> None:
    parser = sub.add_parser("bench", help="measure render, scoring, generation and dream speed")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--parts", nargs="*", choices=list(PARTS), help="only these parts")
    parser.set_defaults(func=run_bench)
