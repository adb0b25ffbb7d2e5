"""How many of a run's harvests a person tells apart, by proxy: each harvest's latest picture
(as harvest_sheet.png shows it), counted greedily in order when its 64-px render differs from
every counted one by a mean |Δ| above a threshold: portfolio_summary's DISTINCT (0.1, the
search's own rule) and higher ones, to set against counts made by eye on the sheets.
usage: python docs/measure/by_eye.py RUN [RUN ...]"""
import sys
from pathlib import Path

from portfolio_summary import distinct
from speed_summary import record_rows

THRESHOLDS = (0.1, 0.15, 0.19, 0.22)


def main() -> None:
    for run in map(Path, sys.argv[1:]):
        latest = {}
        for row in record_rows(run):
            if row.get("robust_bar") and row.get("polish"):
                text = (run / "records" / f"{row['number']:04d}.formula").read_text()
                latest[row["polish"]["harvest"]] = {"formula": text}
        counts = [len(distinct(list(latest.values()), apart)[0]) for apart in THRESHOLDS]
        print(f"{run.name}: {len(latest)} harvests; distinct at "
              + ", ".join(f"{t}: {n}" for t, n in zip(THRESHOLDS, counts)))


if __name__ == "__main__":
    main()
