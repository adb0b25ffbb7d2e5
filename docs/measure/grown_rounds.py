"""What --harvest-grow's rounds did, from records' JSON and formulas (no networks): per run,
the polish rounds after each harvest's first (log.jsonl) and those kept, plain and grown, with
the judge p and fixed-view fitness each moved from its harvest's previous record; the best
judge p of each half and the round that made it; each harvest's constants as first recorded
and at the end; and the rounds tried, plain and grown, rebuilt from which rounds were kept
(checkpoint.json's harvest_rounds: a round not kept leaves no record).
usage: python docs/measure/grown_rounds.py RUN [RUN ...]   (the project on PYTHONPATH)"""
import json
import sys
from pathlib import Path

from evolve.runfolder.harvest import GROW_AFTER
from genart import constants_of, parse
from speed_summary import log_rows, record_rows

HALF = 1800.0


def constants(run: Path, record: dict) -> int:
    """How many constants the record's formula has (constants_of: a colour counts 3)."""
    text = (run / "records" / f"{record['number']:04d}.formula").read_text()
    return len(constants_of(parse(text)))


def tried(run: Path, rows: list[dict]) -> dict[str, list[int]]:
    """Rounds after the first, tried and kept, plain and grown: each harvest's rounds replayed
    in order (checkpoint.json's count; a record for each kept one), a round grown when the
    harvest's last GROW_AFTER rounds were not kept and the run grows. The replay's misses must
    end as the checkpoint's harvest_misses."""
    grow = json.loads((run / "config.json").read_text()).get("harvest_grow", 0)
    portfolio = json.loads((run / "checkpoint.json").read_text())["portfolio"]
    counts = portfolio["harvest_rounds"]
    kept = {(r["polish"]["harvest"], r["polish"]["round"]) for r in rows}
    out = {"plain": [0, 0], "grown": [0, 0]}
    for harvest, rounds in enumerate(counts):
        misses = 0
        for number in range(2, rounds + 1):
            won = (harvest, number) in kept
            kind = out["grown" if grow and misses >= GROW_AFTER else "plain"]
            kind[0], kind[1] = kind[0] + 1, kind[1] + won
            misses = 0 if won else misses + 1
        if misses != portfolio["harvest_misses"][harvest]:
            sys.exit(f"{run}: harvest {harvest} replayed to {misses} misses, checkpoint says "
                     f"{portfolio['harvest_misses'][harvest]}")
    return out


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
        print("  tried/kept: " + ", ".join(f"{kind} {n}/{k}"
                                           for kind, (n, k) in tried(run, rows).items()))
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
