"""Would polishing the first half's harvests in the night make the best climb? Per run: the best
judge p of each half's records, then each first-half record at the robust bar polished through
its constants (`genart polish`'s ConstantPolisher: the run's own networks and views, kept only
if their fixed-view fitness does not fall; the judge scores it, never consulted), and whether
the best of the second half with the polished pictures beats the first half's.
usage: python docs/measure/polish_climb.py RUN [RUN ...]"""
import sys
from pathlib import Path

import torch

from evolve.runfolder.constant_polish import ConstantPolisher
from evolve.runfolder.judge import judged, make_judge
from evolve.runfolder.rundir import RunDir
from genart import parse
from speed_summary import record_rows

HALF = 1800          # seconds: the first half of an hour


def polishing(path: Path):
    """(run, its ConstantPolisher, its judge, its judged records, a function: record → its
    polished genome with the judge's p and whether it was kept)."""
    run, device = RunDir.open(path), torch.device("cpu")
    config = run.read_config()
    polisher, judge = ConstantPolisher(config, device), make_judge(config, device)
    rows = [r for r in record_rows(path) if isinstance(r.get("judge"), dict)]

    def formula(row: dict):
        return parse((run.records / f"{row['number']:04d}.formula").read_text().strip())

    def polish(genome, draw: int = 0):
        outcome = polisher.polish(genome, draw=draw)
        after, fitness = outcome.genome, outcome.fitness_after
        return after, judged(after, judge.model, judge.classes, judge.views)["probability"], \
            after is not genome, fitness
    return rows, formula, polish


def main() -> None:
    print("run: best judge p 1st/2nd half, climbed; first-half bar records polished "
          "(judge p before -> after, * kept); best of 2nd half with them, climbed")
    for path in map(Path, sys.argv[1:]):
        rows, formula, polish = polishing(path)
        halves = [[r for r in rows if (r["elapsed"] > HALF) == late] for late in (0, 1)]
        best = [max((r["judge"]["probability"] for r in h), default=0.0) for h in halves]
        polished, text = [], []
        for r in (r for r in halves[0] if r.get("robust_bar")):
            _, p, kept, _ = polish(formula(r))
            polished.append(p)
            text.append(f"#{r['number']:04d} {r['judge']['probability']:.3f}->{p:.3f}"
                        f"{'*' if kept else ''}")
        late = max([best[1], *polished])
        print(f"  {path.name}: {best[0]:.3f}/{best[1]:.3f} {'yes' if best[1] > best[0] else 'no'}"
              f"; {', '.join(text)}; {late:.3f} {'yes' if late > best[0] else 'no'}", flush=True)


if __name__ == "__main__":
    main()
