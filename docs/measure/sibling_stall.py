"""How long should a lineage look for siblings after a harvest? From log.jsonl alone: the
harvests per 10 minutes before a lineage's first harvest (firsts) and after it (siblings); then,
for a stall clock of X generations after a harvest (the best's gain by --record-gain resets
it), the harvests a lineage would have lost, the minutes it would have saved, and the net: the
saved minutes bought at the run's rate of firsts, less the lost harvests.
usage: python docs/measure/sibling_stall.py RUN [RUN ...]"""
import sys
from itertools import groupby
from pathlib import Path

from speed_summary import log_rows

GAIN = 0.005                  # --record-gain: what counts as a climb of the best
CLOCKS = (0, 1, 2, 3, 4, 5, 6, 8)   # 0: a lineage ends at its first harvest; 8: the old clock


def phases(rows: list[dict]) -> tuple[float, int, float, int]:
    """Seconds before each lineage's first harvest and the firsts; seconds after, siblings."""
    before = after = 0.0
    firsts = siblings = in_lineage = 0
    for prev, row in zip(rows, rows[1:]):
        if row["lineage"] != prev["lineage"]:
            in_lineage = 0
        seconds, new = row["elapsed"] - prev["elapsed"], row["harvests"] - prev["harvests"]
        if in_lineage:
            after, siblings = after + seconds, siblings + new
        else:
            before, firsts = before + seconds, firsts + min(new, 1)
            siblings += max(new - 1, 0)
        in_lineage += new
    return before, firsts, after, siblings


def shorter_clock(rows: list[dict], clock: int) -> tuple[int, float]:
    """Harvests lost and seconds saved had each lineage ended `clock` generations after its
    last harvest or climb, once it had harvested."""
    lost, saved, harvests = 0, 0.0, rows[0]["harvests"]
    for _, lineage in groupby(rows, key=lambda r: r["lineage"]):
        lineage = list(lineage)
        mark, climbed, harvested, ended = -float("inf"), lineage[0]["generation"], 0, False
        for row in lineage:
            generation = row["generation"]
            if row["best_fitness"] > mark + GAIN:
                mark, climbed = row["best_fitness"], generation
            new, harvests = row["harvests"] - harvests, row["harvests"]
            if new and ended:
                lost += new
            elif new:
                harvested, climbed = harvested + new, generation
            if not ended and harvested and generation - climbed >= clock:
                ended, saved = True, saved + lineage[-1]["elapsed"] - row["elapsed"]
    return lost, saved


def main() -> None:
    for run in sys.argv[1:]:
        rows = log_rows(Path(run))
        before, firsts, after, siblings = phases(rows)
        rate = firsts / before * 60                                  # firsts per minute
        print(f"{Path(run).name}: harvests {rows[-1]['harvests']}; before a lineage's first "
              f"{before / 60:.1f} min, {firsts} firsts ({rate * 10:.2f}/10 min); after "
              f"{after / 60:.1f} min, {siblings} siblings "
              f"({siblings / max(after, 1) * 600:.2f}/10 min)")
        for clock in CLOCKS:
            lost, saved = shorter_clock(rows, clock)
            print(f"  clock {clock}: lost {lost}, saved {saved / 60:.1f} min, "
                  f"net {saved / 60 * rate - lost:+.1f}")


if __name__ == "__main__":
    main()
