"""How many of a run's harvests a person tells apart, by proxy: each harvest's latest picture
(as harvest_sheet.png shows it), counted greedily in order when its 64-px render differs from
every counted one by a mean |Δ| above a threshold: portfolio_summary's DISTINCT (0.1, the
audit's rule), the crab search's --harvest-apart (0.14) and higher ones, to set against counts
made by eye on the sheets.
`--sheet`: also writes RUN/latest_sheet.png, those pictures at 256 px (harvest_audit's sheet,
without its audit), named by record, lineage, round and the judge's p.
usage: python docs/measure/by_eye.py [--sheet] RUN [RUN ...]"""
import sys
from pathlib import Path

from portfolio_summary import distinct, save_harvest_sheet
from speed_summary import latest_harvests

THRESHOLDS = (0.1, 0.14, 0.15, 0.19, 0.22)


def main() -> None:
    sheet = "--sheet" in sys.argv
    for run in (Path(a) for a in sys.argv[1:] if a != "--sheet"):
        latest = latest_harvests(run)
        counts = [len(distinct(latest, apart)[0]) for apart in THRESHOLDS]
        print(f"{run.name}: {len(latest)} harvests; distinct at "
              + ", ".join(f"{t}: {n}" for t, n in zip(THRESHOLDS, counts)))
        if sheet and latest:
            save_harvest_sheet(latest, run / "latest_sheet.png")


if __name__ == "__main__":
    main()
