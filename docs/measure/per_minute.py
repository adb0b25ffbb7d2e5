"""A short run's figures every minute (issue 21's GPU check): generations, network passes per
second, the leader's and the best record's held-out judge p, looks in the portfolio and records
harvested at the robust bar in-run.   usage: python docs/measure/per_minute.py RUN [--label L]"""
from speed_summary import record_rows, run_and_log


def main() -> None:
    args, run, log = run_and_log()
    records = record_rows(run)
    print(f"{args.label or run.name}: minute / generation / evals/s / passes/s / leader judge p"
          " / best record judge p / looks / harvested")
    for minute in range(1, int(log[-1]["elapsed"] // 60) + 2):
        upto = [e for e in log if e["elapsed"] <= minute * 60]
        if not upto:
            continue
        last = upto[-1]
        timed = [e for e in upto if e.get("evals_per_s")][-3:] or [last]
        judged = [r["judge"]["probability"] for r in records
                  if r["elapsed"] <= minute * 60 and isinstance(r.get("judge"), dict)]
        print(f"  {min(minute * 60, log[-1]['elapsed']) / 60:4.1f}  {last['generation']:3d}"
              f"  {sum(e.get('evals_per_s') or 0 for e in timed) / len(timed):6.1f}"
              f"  {sum(e.get('passes_per_s') or 0 for e in timed) / len(timed):6.0f}"
              f"  {last.get('judge_score') or 0:.3f}  {max(judged, default=0):.3f}"
              f"  {last.get('portfolio', 0):3d}  {last.get('harvests', 0):3d}")


if __name__ == "__main__":
    main()
