"""Is more polish more transfer? Each run's two fittest first-half records at the robust bar are
polished round after round (polish_climb's ConstantPolisher, 40 Adam steps a round, each round
its own views, kept only when the run's networks score it no lower on fixed views); the judge's
p after each round ('-': the round's tuning was not kept), with the fixed-view fitness reached.
usage: python docs/measure/polish_rounds.py RUN [RUN ...]"""
import sys
from pathlib import Path

from polish_climb import HALF, polishing

ROUNDS = 6


def main() -> None:
    print("run record: judge p as found, then after each round (fixed-view fitness)")
    for path in map(Path, sys.argv[1:]):
        rows, formula, polish = polishing(path)
        first = [r for r in rows if r.get("robust_bar") and r["elapsed"] <= HALF]
        for row in sorted(first, key=lambda r: -r["fitness"])[:2]:
            genome, line = formula(row), [f"{row['judge']['probability']:.3f}"]
            for k in range(ROUNDS):
                genome, p, kept, fitness = polish(genome, draw=k)
                line.append(f"{p:.3f}{'' if kept else '-'}({fitness:.2f})")
            print(f"  {path.name} #{row['number']:04d}: {' '.join(line)}", flush=True)


if __name__ == "__main__":
    main()
