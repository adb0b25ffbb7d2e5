"""Which polish views carry to the held-out judge?  Each harvest's latest record (its form after
the rounds it had) is polished once more under each variant of the polish's training views —
the run's own; with thumbnail and blurred views mixed in (--polish-thumb, --polish-blur: input
diversity, which makes adversarial steps carry to other networks); twice the views per step —
on the same draw, kept by the run's check on the same fixed views; prints per variant the share
kept, the mean change of the fixed-view fitness and of the judge's p (unkept: no change), and
the judge's p change of the tuned constants whether kept or not.
usage: python polish_views.py [--per-run K] RUN [RUN ...]"""
import argparse
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


def latest_forms(run: Path, per_run: int) -> list[str]:
    """Each harvest's latest record's formula (the first `per_run` harvests)."""
    latest = {}
    for row in harvest_rows(run):
        latest[row["polish"]["harvest"]] = row["formula"].strip()
    return [latest[k] for k in sorted(latest)[:per_run]]


def polishers(config) -> dict:
    """One ConstantPolisher per variant; the check's fixed views are the run's in every one."""
    made = {}
    for name, change in VARIANTS.items():
        change = {"views": 2 * config.views} if change == "double" else change
        made[name] = ConstantPolisher(dataclasses.replace(config, **change), torch.device("cpu"),
                                      tune_size=config.size)
        made[name].fixed = made["run's views"].fixed
    return made


def tuned_of_each_polish() -> list:
    """The tuned genome of every polish from now on, kept or not (the polish's tuner, watched)."""
    tuned, real = [], constant_polish.tune_constants

    def watched(*args, **kwargs):
        result = real(*args, **kwargs)
        tuned.append(result[0][0])
        return result
    constant_polish.tune_constants = watched
    return tuned


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--per-run", type=int, default=4)
    args = parser.parse_args()
    results = {name: [] for name in VARIANTS}   # name -> [(kept, fixed, judge, tuned's judge)]
    tuned = tuned_of_each_polish()
    for run in map(Path, args.runs):
        config = RunDir.open(run).read_config()
        judge, made = make_judge(config, torch.device("cpu")), polishers(config)
        for index, form in enumerate(latest_forms(run, args.per_run)):
            genome = parse(form)
            before = judge.score(genome)["probability"]
            line = []
            for name, polisher in made.items():
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
          " paired against the run's views")
    base = np.array([r[2] for r in results["run's views"]])
    for name, rows in results.items():
        d = np.array(rows, dtype=float)
        print(f"  {name}: {len(d)}; kept {d[:, 0].mean():.2f}; fixed {d[:, 1].mean():+.3f};"
              f" judge {d[:, 2].mean():+.3f} ({np.mean(d[:, 2] > 0):.2f} up); tuned's judge"
              f" {d[:, 3].mean():+.3f} ({np.mean(d[:, 3] > 0):.2f} up);"
              f" beats the run's views on {np.mean(d[:, 2] > base):.2f},"
              f" ties {np.mean(d[:, 2] == base):.2f}")


if __name__ == "__main__":
    main()
