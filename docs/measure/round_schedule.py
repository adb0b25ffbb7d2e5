"""Would polishing rounds less often buy more crabs, and keep the climb? From log.jsonl and the
records' JSON: the run's generations replayed with a round every E generations instead of every
third (a round's extra seconds moved to the new schedule's generations), the n-th round of the
new schedule taken to be the n-th of the run (its record, if kept, at the new time); then the
minutes saved by the end and the best judge p at the bar in each half. Rounds do not change the
search (no global RNG), so the generations are the run's own.
usage: python docs/measure/round_schedule.py RUN [RUN ...]"""
import statistics
import sys
from pathlib import Path

from speed_summary import later_round, log_rows, record_rows

EVERY = (3, 4, 6, 9, 0)       # 3: the run's own schedule; 0: no later rounds
HALF = 1800.0


def generations(rows: list[dict]) -> list[tuple[int, float, bool, bool]]:
    """(generation, seconds, harvested, polished a later round) of each generation after the 0th."""
    return [(b["generation"], b["elapsed"] - a["elapsed"], b["harvests"] > a["harvests"],
             b["polish_rounds"] > a["polish_rounds"] and b["harvests"] == a["harvests"])
            for a, b in zip(rows, rows[1:])]


def replay(rows: list[dict], records: list[dict], every: int) -> tuple[int, float, float, float]:
    """(rounds, minutes saved, best judge p at the bar in the first half, in the second)."""
    gens = generations(rows)
    plain = statistics.median(s for _, s, h, r in gens if not h and not r)
    cost = statistics.median(s - plain for _, s, h, r in gens if r)
    rank = {g: n for n, g in enumerate(g for g, _, _, r in gens if r)}
    clock, harvested, when, at_round = rows[0]["elapsed"], 0, {}, []
    for generation, seconds, harvest, polished in gens:
        clock += seconds - (cost if polished else 0.0)
        harvested += harvest
        if every and harvested and not harvest and generation % every == 0:
            clock += cost
            at_round.append(clock)
        when[generation] = clock
    points = []
    for record in records:
        if not record.get("robust_bar"):
            continue
        n = rank.get(record["generation"]) if later_round(record) else None
        if n is None:
            at = when.get(record["generation"], float("inf"))
            points.append((at, record["judge"]["probability"]))
        elif n < len(at_round):
            points.append((at_round[n], record["judge"]["probability"]))
    best = lambda lo, hi: max((p for t, p in points if lo < t <= hi), default=0.0)
    return len(at_round), (rows[-1]["elapsed"] - clock) / 60, best(-1, HALF), best(HALF, 2 * HALF)


def main() -> None:
    print("run: at a round every E generations (0: none): rounds, minutes saved, best judge p "
          "1st / 2nd half (+ climbed)")
    for run in sys.argv[1:]:
        rows, records = log_rows(Path(run)), record_rows(Path(run))
        cells = []
        for every in EVERY:
            rounds, saved, first, second = replay(rows, records, every)
            cells.append(f"E={every}: {rounds} {saved:.1f} {first:.2f}/{second:.2f}"
                         f"{'+' if second > first else ' '}")
        print(f"{Path(run).name}: " + "  ".join(cells))


if __name__ == "__main__":
    main()
