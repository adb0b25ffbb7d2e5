"""Issue 21's climb, from records' JSON alone (no networks): per run, records, records at the
robust bar and the best judge p in each half of the hour, and among the bar records the
correlation of the judge p with the search's fitness and with Lite0's and Lite1's p on the
judge's views; and the records of later polish rounds (--harvest-rounds) in each half.
usage: python docs/measure/climb.py RUN [RUN ...]"""
import sys
from pathlib import Path

import numpy as np

from speed_summary import later_round, record_rows


def main() -> None:
    print("run: records 1st/2nd half, at the bar 1st/2nd, best judge p 1st/2nd, climbed;"
          " bar records' judge p correlation with fitness / Lite0 p / Lite1 p; later rounds")
    for run in map(Path, sys.argv[1:]):
        records = [r for r in record_rows(run) if isinstance(r.get("judge"), dict)]
        halves = [[r for r in records if (r["elapsed"] > 1800) == late] for late in (0, 1)]
        bar = [r for r in records if r.get("robust_bar")]
        best = [max((r["judge"]["probability"] for r in half), default=0.0) for half in halves]
        judge = [r["judge"]["probability"] for r in bar]
        signals = [[r["fitness"] for r in bar]] + [
            [r["training_views"][name]["probability"] for r in bar]
            for name in ("efficientnet-lite0", "efficientnet-lite1")]
        corr = [np.corrcoef(judge, s)[0, 1] if len(bar) > 2 else float("nan") for s in signals]
        print(f"  {run.name}: {len(halves[0])}/{len(halves[1])}"
              f"  {'/'.join(str(sum(bool(r.get('robust_bar')) for r in h)) for h in halves)}"
              f"  {best[0]:.3f}/{best[1]:.3f}  {'yes' if best[1] > best[0] else 'no'};"
              f"  {corr[0]:.2f} / {corr[1]:.2f} / {corr[2]:.2f};"
              f"  {'/'.join(str(sum(later_round(r) for r in h)) for h in halves)}")


if __name__ == "__main__":
    main()
