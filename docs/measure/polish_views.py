"""Which polish views carry to the held-out judge?  Each harvest's latest record (its form after
the rounds it had) is polished once more under each variant of the polish's training views —
the run's own; with thumbnail and blurred views mixed in (--polish-thumb, --polish-blur: input
diversity, which makes adversarial steps carry to other networks); twice the views per step —
on the same draw, kept by the run's check on the same fixed views; prints per variant the share
kept, the mean change of the fixed-view fitness and of the judge's p (unkept: no change), and
the judge's p change of the tuned constants whether kept or not.
usage: python polish_views.py [--per-run K] RUN [RUN ...]"""
import argparse
import contextlib
import dataclasses
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
VARIANTS = {"run's views": {},
            "thumb+blur 0.25": {"polish_thumb": 0.25, "polish_blur": 0.25},
            "views x2": "double"}


def harvest_forms(run: Path, per_run: int, start: str = "latest") -> list[str]:
    """Each harvest's latest (or `start` "first": first) record's formula, the first `per_run`
    harvests."""
    forms = {}
    for row in harvest_rows(run):
        if start == "latest" or row["polish"]["harvest"] not in forms:
            forms[row["polish"]["harvest"]] = row["formula"].strip()
    return [forms[k] for k in sorted(forms)[:per_run]]


def polishers(config) -> dict:
    """One ConstantPolisher per variant; the check's fixed views are the run's in every one."""
    made = {}
    for name, change in VARIANTS.items():
        change = {"views": 2 * config.views} if change == "double" else change
        made[name] = ConstantPolisher(dataclasses.replace(config, **change), torch.device("cpu"),
                                      tune_size=config.size)
        made[name].fixed = made["run's views"].fixed
        made[name].tail_mean = 0     # as wave 24 measured them: the best step seen, not the mean
    return made


def tuned_of_each_polish(around=None) -> list:
    """The tuned genome of every polish from now on, kept or not (the polish's tuner, watched);
    `around(objective)`, when given, is a context each tuning runs inside."""
    tuned, real = [], constant_polish.tune_constants

    def watched(genomes, objective, *args, **kwargs):
        with around(objective) if around else contextlib.nullcontext():
            result = real(genomes, objective, *args, **kwargs)
        tuned.append(result[0][0])
        return result
    constant_polish.tune_constants = watched
    return tuned


def polished_once(polisher, judge, genome, before: float, draw: int,
                  tuned: list) -> tuple[tuple, str]:
    """One more polish of `genome` (judge p `before`): (kept, fixed-view fitness change, judge p
    change, the tuned constants' judge p change whether kept or not; unkept: no change) and a
    printed part."""
    start = time.time()
    outcome = polisher.polish(genome, draw=draw)
    kept = outcome.genome is not genome
    after = judge.score(outcome.genome)["probability"] if kept else before
    gain = outcome.fitness_after - outcome.fitness_before if kept else 0.0
    candidate = judge.score(tuned[-1])["probability"] - before
    return ((kept, gain, after - before, candidate),
            f"{after - before:+.3f}, tuned {candidate:+.3f} ({time.time() - start:.0f} s)")


def print_summary(results: dict, base: str) -> None:
    """Per variant: polishes, share kept, mean changes, and how often it beats variant `base`."""
    print("variant: polishes; kept; mean fixed-view fitness change; judge p change (share up);"
          f" paired against {base}")
    paired = np.array([r[2] for r in results[base]])
    for name, rows in results.items():
        d = np.array(rows, dtype=float)
        print(f"  {name}: {len(d)}; kept {d[:, 0].mean():.2f}; fixed {d[:, 1].mean():+.3f};"
              f" judge {d[:, 2].mean():+.3f} ({np.mean(d[:, 2] > 0):.2f} up); tuned's judge"
              f" {d[:, 3].mean():+.3f} ({np.mean(d[:, 3] > 0):.2f} up);"
              f" beats {base} on {np.mean(d[:, 2] > paired):.2f},"
              f" ties {np.mean(d[:, 2] == paired):.2f}")


def compared(runs: list[Path], per_run: int, start: str, setups, tuned: list) -> dict:
    """Each run's harvest forms polished once more under every variant; `setups(config)` gives
    {name: (polisher, prepare)}, prepare(index) (or None) called before that variant's polish.
    Prints a line per form; returns name -> [(kept, fixed, judge, tuned's judge)]."""
    results = {}
    for run in runs:
        config = RunDir.open(run).read_config()
        judge, made = make_judge(config, torch.device("cpu")), setups(config)
        for index, form in enumerate(harvest_forms(run, per_run, start)):
            genome = parse(form)
            before, line = judge.score(genome)["probability"], []
            for name, (polisher, prepare) in made.items():
                if prepare:
                    prepare(index)
                row, text = polished_once(polisher, judge, genome, before, DRAW + index, tuned)
                results.setdefault(name, []).append(row)
                line.append(f"{name} {text}")
            print(f"{run.name} harvest {index}: judge {before:.3f}; " + "; ".join(line),
                  flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--per-run", type=int, default=4)
    args = parser.parse_args()
    results = compared(list(map(Path, args.runs)), args.per_run, "latest",
                       lambda config: {name: (polisher, None)
                                       for name, polisher in polishers(config).items()},
                       tuned_of_each_polish())
    print_summary(results, "the run's views")


if __name__ == "__main__":
    main()
