"""`genart bench`: throughput of every stage on one device, reported as figures and ratios.

Each part is a function `(device, seed) -> printable lines` in its own module; the parts run in
data-flow order (render → score → generation → dream) so one run shows where the time goes.
"""
from __future__ import annotations

import argparse
import importlib

import torch

from evolve.search.ranges import int_in
from evolve.search.settings import resolve_device

PARTS = {"render": "evolve.bench.render:render_part",
         "scoring": "evolve.bench.scoring:scoring_part",
         "generation": "evolve.bench.generation:generation_part",
         "dream": "evolve.bench.dream:dream_part",
         "population": "evolve.bench.population:population_part",
         "backend": "evolve.bench.backend:backend_part"}


def part(name: str):
    module, function = PARTS[name].split(":")
    return getattr(importlib.import_module(module), function)


def run_bench(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    print(f"genart bench: device={device} torch={torch.__version__} "
          f"threads={torch.get_num_threads()}")
    for name in args.parts or list(PARTS):
        options = {"compile": args.compile} if name == "generation" else {}
        for line in part(name)(device, args.seed, **options):
            print(line, flush=True)
    return 0


def register(sub) -> None:
    parser = sub.add_parser("bench", help="measure render, scoring, generation and dream speed")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    parser.add_argument("--seed", type=int_in(0, 2**63 - 1), default=0)
    parser.add_argument("--parts", nargs="*", choices=list(PARTS), help="only these parts")
    parser.add_argument("--compile", action="store_true",
                        help="generation part: the networks through torch.compile (a warm-up "
                             "generation pays the compiling, untimed)")
    parser.set_defaults(func=run_bench)
