"""Would a rising fitness floor make later harvests better? From records' JSON alone: each
harvest's fixed-view fitness as found (its first polish's `fixed_fitness_before`) against the
median of the harvests before it (from the fourth on), and the judge's p of the harvests such a
floor would keep and refuse; with the correlation of fitness as found and judge p.
usage: python docs/measure/harvest_floor.py RUN [RUN ...]"""
import statistics
import sys
from pathlib import Path

import numpy as np

from speed_summary import record_rows


def main() -> None:
    print("run: harvests, refused by a median floor; judge p kept / refused (mean); "
          "correlation of fitness as found with judge p")
    for run in sys.argv[1:]:
        fits, kept, refused, pairs = [], [], [], []
        for row in record_rows(Path(run)):
            polish = row.get("polish") or {}
            if not row.get("robust_bar") or polish.get("round") != 1:
                continue
            found, p = polish["fixed_fitness_before"], row["judge"]["probability"]
            floor = statistics.median(fits) if len(fits) >= 3 else -np.inf
            (kept if found >= floor else refused).append(p)
            pairs.append((found, p))
            fits.append(polish["fixed_fitness_after"] if polish.get("at_bar") else found)
        r = np.corrcoef(np.array(pairs).T)[0, 1] if len(pairs) > 2 else float("nan")
        mean = (lambda xs: f"{statistics.mean(xs):.2f}" if xs else "-")
        print(f"  {run.rstrip('/').split('/')[-1]}: {len(pairs)}, {len(refused)}; "
              f"{mean(kept)} / {mean(refused)}; {r:.2f}")


if __name__ == "__main__":
    main()
