"""Grown against plain on the same harvest, views and steps (issue 21, wave 29): each run's
harvests with the most polish rounds, at their latest form, polished once as they are and once
grown (operators.grown, the run's --harvest-grow or 3 terms) under the same draw; the judge's p
before and after each (a polish not kept leaves the form as it was), and the seconds each kind
of polish took. The judge is not consulted.
usage: python docs/measure/grown_paired.py RUN [RUN ...]"""
import json
import sys
import time
from pathlib import Path

import torch

from evolve.runfolder.constant_polish import ConstantPolisher
from evolve.runfolder.judge import judged, make_judge
from evolve.runfolder.rundir import RunDir
from evolve.search.operators import grown
from genart import parse

HARVESTS = 5                  # per run, those with the most rounds (the stalled ones)
DRAWS = (900_001, 900_002)    # apart from every draw a run's own rounds use


def main() -> None:
    device, gains = torch.device("cpu"), {"plain": [], "grown": []}
    seconds = {"plain": 0.0, "grown": 0.0}
    for path in map(Path, sys.argv[1:]):
        config = RunDir.open(path).read_config()
        portfolio = json.loads((path / "checkpoint.json").read_text())["portfolio"]
        polisher = ConstantPolisher(config, device, steps=config.harvest_polish,
                                    tune_size=config.size)
        judge = make_judge(config, device)

        def p(genome) -> float:
            return judged(genome, judge.model, judge.classes, judge.views)["probability"]
        rounds = portfolio["harvest_rounds"]
        for i in sorted(range(len(rounds)), key=lambda i: -rounds[i])[:HARVESTS]:
            form = parse(portfolio["harvest_forms"][i])
            start, line = p(form), []
            for draw in DRAWS:
                for kind, genome in (("plain", form),
                                     ("grown", grown(form, config.harvest_grow or 3, draw))):
                    start_s = time.perf_counter()
                    after = polisher.polish(genome, draw=draw).genome
                    seconds[kind] += time.perf_counter() - start_s
                    gains[kind].append(p(after) - start)
                    line.append(f"{kind} {gains[kind][-1]:+.3f}")
            print(f"{path.name} harvest {i} ({rounds[i]} rounds) p {start:.3f}: " + ", ".join(line),
                  flush=True)
    plain, grow = gains["plain"], gains["grown"]
    print(f"pairs {len(plain)}: plain {sum(plain) / len(plain):+.4f} mean, grown "
          f"{sum(grow) / len(grow):+.4f} mean; grown above plain in "
          f"{sum(g > q for g, q in zip(grow, plain))}, below in "
          f"{sum(g < q for g, q in zip(grow, plain))}; seconds per polish: plain "
          f"{seconds['plain'] / len(plain):.2f}, grown {seconds['grown'] / len(grow):.2f}")


if __name__ == "__main__":
    main()
