"""Do transfer tricks from the adversarial-example literature make a polish carry to the judge?
Each harvest's first record (round 1) is polished once more, on one draw, under each variant
(--variants): plain (the best constants seen); the mean of the constants over the last k steps
(`tail k`: Polyak averaging, no step's easy views picking the winner); or with the
networks' residual blocks changed during the Adam steps only (the keep check and the judge
see the networks as they are): the Skip Gradient Method (Wu et al. 2020: a residual
branch passes only `decay` of its gradient back, the forward unchanged); Ghost networks' skip
erosion (Li et al. 2020: each forward scales each skip connection by U(1 - spread, 1 + spread)).
Prints per variant the share kept, the mean change of fixed-view fitness and of the judge's p
(unkept: no change), and the judge's p change of the tuned constants whether kept or not.
usage: python polish_transfer.py [--per-run K] [--start first|latest] [--variants NAME ...]
       RUN [RUN ...]"""
import argparse
import contextlib
import time
from pathlib import Path

import numpy as np
import torch

from genart import parse

import evolve.runfolder.constant_polish as constant_polish
from evolve.runfolder.constant_polish import ConstantPolisher
from evolve.runfolder.judge import make_judge
from evolve.runfolder.rundir import RunDir
from speed_summary import harvest_rows

DRAW = 7777                    # a polish draw no run made (rounds use k·1000 + harvest)
VARIANTS = {"plain": None, "skip grad 0.5": ("decay", 0.5), "skip grad 0.2": ("decay", 0.2),
            "ghost 0.2": ("ghost", 0.2), "last": ("tail", 1), "tail 20": ("tail", 20)}


def harvest_forms(run: Path, per_run: int, start: str) -> list[str]:
    """Each harvest's first (or latest) record's formula (the first `per_run` harvests)."""
    forms = {}
    for row in harvest_rows(run):
        if start == "latest" or row["polish"]["harvest"] not in forms:
            forms[row["polish"]["harvest"]] = row["formula"].strip()
    return [forms[k] for k in sorted(forms)[:per_run]]


def residual_blocks(classifier) -> list:
    """The blocks of an EfficientNet-Lite whose input is added to their output."""
    def stride(block):
        s = block._block_args.stride
        return s if isinstance(s, int) else s[0]
    return [b for b in classifier.net.blocks if b.id_skip and stride(b) == 1
            and b._block_args.input_filters == b._block_args.output_filters]


@contextlib.contextmanager
def modulated(models, change, seed: int):
    """The models' residual blocks changed as `change` says while inside."""
    if change is None or change[0] == "tail":
        yield
        return
    kind, amount = change
    generator = torch.Generator().manual_seed(seed)

    def hook(_module, inputs, output):
        skip = inputs[0]
        branch = output - skip
        if kind == "decay":
            return skip + amount * branch + (1 - amount) * branch.detach()
        scale = 1 + amount * (2 * torch.rand((), generator=generator).item() - 1)
        return scale * skip + branch
    handles = [b.register_forward_hook(hook) for m in models for b in residual_blocks(m)]
    try:
        yield
    finally:
        for h in handles:
            h.remove()


def watched_tuner(state: dict) -> list:
    """Every polish's tuned genome, kept or not; its steps under state['change']."""
    tuned, real = [], constant_polish.tune_constants

    def watched(genomes, objective, *args, **kwargs):
        with modulated(objective.models, state["change"], state["seed"]):
            result = real(genomes, objective, *args, **kwargs)
        tuned.append(result[0][0])
        return result
    constant_polish.tune_constants = watched
    return tuned


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--per-run", type=int, default=4)
    parser.add_argument("--start", choices=["first", "latest"], default="first")
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    args = parser.parse_args()
    variants = {name: VARIANTS[name] for name in ["plain"] + args.variants}
    results = {name: [] for name in variants}   # name -> [(kept, fixed, judge, tuned's judge)]
    state = {"change": None, "seed": 0}
    tuned = watched_tuner(state)
    for run in map(Path, args.runs):
        config = RunDir.open(run).read_config()
        judge = make_judge(config, torch.device("cpu"))
        polisher = ConstantPolisher(config, torch.device("cpu"), tune_size=config.size)
        for index, form in enumerate(harvest_forms(run, args.per_run, args.start)):
            genome = parse(form)
            before = judge.score(genome)["probability"]
            line = []
            for name, change in variants.items():
                state.update(change=change, seed=DRAW + index)
                polisher.tail_mean = change[1] if change and change[0] == "tail" else 0
                start = time.time()
                outcome = polisher.polish(genome, draw=DRAW + index)
                kept = outcome.genome is not genome
                after = judge.score(outcome.genome)["probability"] if kept else before
                gain = outcome.fitness_after - outcome.fitness_before if kept else 0.0
                candidate = judge.score(tuned[-1])["probability"] - before
                results[name].append((kept, gain, after - before, candidate))
                line.append(f"{name} {after - before:+.3f}, tuned {candidate:+.3f}"
                            f" ({time.time() - start:.0f} s)")
            print(f"{run.name} harvest {index}: judge {before:.3f}; " + "; ".join(line),
                  flush=True)
    print("variant: polishes; kept; mean fixed-view fitness change; judge p change (share up);"
          " paired against plain")
    base = np.array([r[2] for r in results["plain"]])
    for name, rows in results.items():
        d = np.array(rows, dtype=float)
        print(f"  {name}: {len(d)}; kept {d[:, 0].mean():.2f}; fixed {d[:, 1].mean():+.3f};"
              f" judge {d[:, 2].mean():+.3f} ({np.mean(d[:, 2] > 0):.2f} up); tuned's judge"
              f" {d[:, 3].mean():+.3f} ({np.mean(d[:, 3] > 0):.2f} up);"
              f" beats plain on {np.mean(d[:, 2] > base):.2f}, ties {np.mean(d[:, 2] == base):.2f}")


if __name__ == "__main__":
    main()
