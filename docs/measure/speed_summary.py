"""One row per run for issue 22's speed table: generations per minute, evaluations per second
(scored + tuning), network passes per second (logs before issue 22 have none: n/a), and the
held-out judge's score (best record's judge probability and top-1 rate)."""
import argparse
import json
from pathlib import Path


def best_record(run: Path) -> dict:
    """The last record's JSON (records are written as the best improves)."""
    files = sorted((run / "records").glob("[0-9][0-9][0-9][0-9].json"))
    return json.loads(files[-1].read_text()) if files else {}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run")
    parser.add_argument("--label", default="")
    args = parser.parse_args()
    run = Path(args.run)
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines() if line]
    last = log[-1]
    minutes = last["elapsed"] / 60
    work = last["evaluations"] + last.get("tuning_evaluations", 0)
    passes = [row.get("passes") for row in log]
    per_s = (f"{sum(passes) / last['elapsed']:.1f}" if all(p is not None for p in passes)
             else "n/a")
    judge = best_record(run).get("judge", {})
    rate = last["generation"] / minutes
    print(f"{args.label:>14}  gens {last['generation']:>4} = {rate:5.2f}/min  "
          f"evals/s {work / last['elapsed']:5.2f}  passes/s {per_s:>6}  "
          f"judge p {judge.get('probability', float('nan')):.3f} top-1 "
          f"{judge.get('top1_rate', float('nan')):.2f}  "
          f"best fitness {last['best_ever_fitness']:.3f}",
          flush=True)


if __name__ == "__main__":
    main()
