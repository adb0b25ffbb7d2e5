"""One row per run for issue 22's speed table: generations per minute, evaluations per second
(scored + tuning), network passes per second (logs before issue 22 have none: n/a), and the
held-out judge's score (the last record's judge probability and top-1 rate, and the highest
judge probability of any record: with lineage restarts the last record may be a new picture's)."""
import argparse
import json
from pathlib import Path


def record_rows(run: Path) -> list[dict]:
    """Every record's JSON, in order (records are written as the best improves)."""
    files = sorted((run / "records").glob("[0-9][0-9][0-9][0-9].json"))
    return [json.loads(f.read_text()) for f in files]


def harvest_rows(run: Path) -> list[dict]:
    """The records of harvests (at the bar, with a `polish` part), in order, each with its
    formula text under "formula"."""
    return [{**row, "formula": (run / "records" / f"{row['number']:04d}.formula").read_text()}
            for row in record_rows(run) if row.get("robust_bar") and row.get("polish")]


def latest_harvests(run: Path) -> list[dict]:
    """Each harvest's latest record (its picture after the last kept polish), harvests in order."""
    return list({row["polish"]["harvest"]: row for row in harvest_rows(run)}.values())


def log_rows(run: Path) -> list[dict]:
    """The entries of a run's log.jsonl, one per generation."""
    return [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line]


def later_round(record: dict) -> bool:
    """A record of a harvest's later polish round (--harvest-rounds), not a harvest as found."""
    return record.get("polish", {}).get("round", 1) > 1


def run_and_log() -> tuple[argparse.Namespace, Path, list[dict]]:
    """The command line (RUN [--label L]), RUN and the entries of its log.jsonl."""
    parser = argparse.ArgumentParser()
    parser.add_argument("run")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    run = Path(args.run)
    return args, run, log_rows(run)


def main() -> None:
    args, run, log = run_and_log()
    last = log[-1]
    minutes = last["elapsed"] / 60
    work = last["evaluations"] + last.get("tuning_evaluations", 0)
    passes = [row.get("passes") for row in log]
    per_s = (f"{sum(passes) / last['elapsed']:.1f}" if all(p is not None for p in passes)
             else "n/a")
    rows = record_rows(run)
    judge = rows[-1].get("judge", {}) if rows else {}
    highest = max((r["judge"]["probability"] for r in rows if isinstance(r.get("judge"), dict)),
                  default=float("nan"))
    rate = last["generation"] / minutes
    print(f"{args.label:>14}  gens {last['generation']:>4} = {rate:5.2f}/min  "
          f"evals/s {work / last['elapsed']:5.2f}  passes/s {per_s:>6}  "
          f"judge p {judge.get('probability', float('nan')):.3f} top-1 "
          f"{judge.get('top1_rate', float('nan')):.2f}  highest judge p {highest:.3f}  "
          f"best fitness {last['best_ever_fitness']:.3f}",
          flush=True)


if __name__ == "__main__":
    main()
