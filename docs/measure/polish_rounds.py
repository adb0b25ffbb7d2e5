"""Is more polish more transfer? Each run's two fittest first-half records at the robust bar are
polished round after round (ConstantPolisher, 40 Adam steps a round, each round its own views,
kept only when the run's networks score it no lower on fixed views); the judge's p after each
round ('-': the round's tuning was not kept), with the fixed-view fitness it reached.
usage: python docs/measure/polish_rounds.py RUN [RUN ...] [--rounds N]"""
import argparse
from pathlib import Path

import torch

from evolve.runfolder.constant_polish import ConstantPolisher
from evolve.runfolder.judge import judged, make_judge
from evolve.runfolder.rundir import RunDir
from genart import parse
from speed_summary import record_rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs", nargs="+")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    device = torch.device("cpu")
    print("run record: judge p as found, then after each round (fixed-view fitness)")
    for path in map(Path, args.runs):
        run = RunDir.open(path)
        config = run.read_config()
        polisher, judge = ConstantPolisher(config, device), make_judge(config, device)
        rows = [r for r in record_rows(path) if r.get("robust_bar") and r["elapsed"] <= 1800]
        for row in sorted(rows, key=lambda r: -r["fitness"])[:2]:
            genome = parse((run.records / f"{row['number']:04d}.formula").read_text().strip())
            line = [f"{row['judge']['probability']:.3f}"]
            for k in range(args.rounds):
                polished, _, after = polisher.polish(genome, draw=k)
                kept, genome = polished is not genome, polished
                p = judged(genome, judge.model, judge.classes, judge.views)["probability"]
                line.append(f"{p:.3f}{'' if kept else '-'}({after:.2f})")
            print(f"  {path.name} #{row['number']:04d}: {' '.join(line)}", flush=True)


if __name__ == "__main__":
    main()
