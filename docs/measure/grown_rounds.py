"""What --harvest-grow's rounds did, from records' JSON and formulas (no networks): per run,
the polish rounds after each harvest's first (log.jsonl) and those kept, plain and grown, with
the judge p and fixed-view fitness each moved from its harvest's previous record; the best
judge p of each half and the round that made it; each harvest's constants as first recorded
and at the end.
usage: python docs/measure/grown_rounds.py RUN [RUN ...]   (the project on PYTHONPATH)"""
import sys
from pathlib import Path

from genart import constants_of, parse
from speed_summary import log_rows, record_rows

HALF = 1800.0


def constants(run: Path, record: dict) -> int:
    """How many constants the record's formula has (constants_of: a colour counts 3)."""
    text = (run / "records" / f"{record['number']:04d}.formula").read_text()
    return len(constants_of(parse(text)))


def main() -> None:
    for run in map(Path, sys.argv[1:]):
        records = record_rows(run)
        rows = [r for r in records if r.get("polish") and r.get("robust_bar")]
        last, moved = {}, {"plain": [], "grown": []}
        for row in rows:
            harvest, p = row["polish"]["harvest"], row["judge"]["probability"]
            fixed = row["polish"]["fixed_fitness_after"]
            if harvest in last and row["polish"]["round"] > 1:
                kind = "grown" if row["polish"].get("grown") else "plain"
                moved[kind].append((p - last[harvest][0], fixed - last[harvest][1], row))
            last[harvest] = p, fixed
        end = log_rows(run)[-1]
        later = end.get("polish_rounds", 0) - end.get("harvests", 0)
        print(f"{run.name}: {later} later polish rounds, "
              f"{sum(map(len, moved.values()))} kept at the bar")
        for kind, rows_moved in moved.items():
            if rows_moved:
                dp = [m[0] for m in rows_moved]
                df = [m[1] for m in rows_moved]
                print(f"  {kind}: {len(rows_moved)} kept; judge p {sum(dp) / len(dp):+.3f} mean "
                      f"({sum(d > 0 for d in dp)} up), fixed fitness {sum(df) / len(df):+.3f} mean")
        for name, late in (("1st half", False), ("2nd half", True)):
            half = [r for r in records if isinstance(r.get("judge"), dict)
                    and (r["elapsed"] > HALF) == late]
            if half:
                best = max(half, key=lambda r: r["judge"]["probability"])
                polish = best.get("polish") or {}
                print(f"  {name} best: #{best['number']:04d} p {best['judge']['probability']:.3f}"
                      f" (harvest {polish.get('harvest')}, round {polish.get('round')}, "
                      f"grown {polish.get('grown', 0)})")
        firsts, ends = {}, {}
        for row in rows:
            firsts.setdefault(row["polish"]["harvest"], constants(run, row))
            ends[row["polish"]["harvest"]] = constants(run, row)
        print("  constants first/last per harvest: "
              + " ".join(f"{h}:{firsts[h]}/{ends[h]}" for h in sorted(firsts)))


if __name__ == "__main__":
    main()
