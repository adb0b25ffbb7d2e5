"""Are harvests found later in an hour any better?  Per 10 minutes over all RUNs: harvests found
and their judge p as first recorded (mean, max).  usage: python harvest_trend.py RUN [RUN ...]"""
import sys
from pathlib import Path

import numpy as np

from speed_summary import harvest_rows


def main() -> None:
    first = []                                       # (minute found, judge p as recorded)
    for run in map(Path, sys.argv[1:]):
        seen = set()
        for row in harvest_rows(run):
            if row["polish"]["harvest"] not in seen:
                seen.add(row["polish"]["harvest"])
                first.append((row["elapsed"] / 60, row["judge"]["probability"]))
    found = np.array(first)
    for start in range(0, 60, 10):
        part = found[(found[:, 0] >= start) & (found[:, 0] < start + 10), 1]
        print(f"{start}-{start + 10} min: {len(part):3d} harvests, judge p as recorded mean"
              f" {part.mean():.3f} max {part.max():.3f}")


if __name__ == "__main__":
    main()
