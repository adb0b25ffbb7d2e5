"""A run's lineages from its log (issue 21): for each, the generations to its first harvest (X:
none) and its length in generations and minutes — the last one is the one the budget cut off.
Then, pooled over the runs (cut-off lineages left out), what ending every lineage without a
crab after C generations would cost per first harvest: Σ min(T, C) / #(T ≤ C), T a lineage's
generations to its first (∞ for one that never made one; exact only for C below the shortest of
those).
usage: python docs/measure/lineages.py RUN [RUN ...]"""
import sys
from pathlib import Path

from speed_summary import log_rows


def lineages(rows: list[dict]) -> list[dict]:
    """One dict per lineage: start generation and minute, first harvest (generations in), end."""
    found: dict[int, dict] = {}
    for row in rows:
        line = found.setdefault(row["lineage"], {"start": row["generation"], "first": None,
                                                 "from": row["elapsed"],
                                                 "harvests": row["harvests"]})
        line["end"], line["to"] = row["generation"], row["elapsed"]
        if line["first"] is None and row["harvests"] > line["harvests"]:
            line["first"] = row["generation"] - line["start"]
    return list(found.values())


CAPS = (6, 8, 10, 12, 15, 20, 30)


def main() -> None:
    firsts, failed = [], []
    for run in map(Path, sys.argv[1:]):
        lines = lineages(log_rows(run))
        said = [f"{'X' if l['first'] is None else l['first']}:{l['end'] - l['start']}/"
                f"{(l['to'] - l['from']) / 60:.0f}m" for l in lines]
        print(f"{run.name}: first harvest:generations/minutes per lineage: {' '.join(said)}")
        firsts += [l["first"] for l in lines if l["first"] is not None]
        failed += [l["end"] - l["start"] for l in lines[:-1] if l["first"] is None]
    print(f"{len(firsts)} firsts, {len(failed)} lineages without one (shortest "
          f"{min(failed, default=0)}); generations per first with a cap of C: " + ", ".join(
              f"{c}: {(sum(min(t, c) for t in firsts + failed)) / sum(t <= c for t in firsts):.1f}"
              for c in CAPS))


if __name__ == "__main__":
    main()
