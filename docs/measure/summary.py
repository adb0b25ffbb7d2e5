"""One row per run for issue 10's tables: the best record's audit (top-1 rate / median rank per
network on 64 fixed views) and the held-out judge over the run (rank at quarters of its time)."""
import json

from speed_summary import run_and_log


def judge_curve(log: list[dict]) -> str:
    """The judge's rank of crab on the best individual at 1/4, 1/2, 3/4 and the end of the run."""
    judged = [row for row in log if row.get("judge_rank") is not None]
    if not judged:
        return "-"
    end = judged[-1]["elapsed"]
    marks = []
    for quarter in (0.25, 0.5, 0.75, 1.0):
        upto = [row for row in judged if row["elapsed"] <= quarter * end + 1e-9] or judged[:1]
        marks.append(f"{upto[-1]['judge_rank']:.0f}")
    return "/".join(marks)


def main() -> None:
    args, run, log = run_and_log()
    config = json.loads((run / "config.json").read_text())
    audit = json.loads((run / "audit.json").read_text())
    item = audit["items"][-1]
    cells = "  ".join(f"{name.replace('efficientnet-', '')} {row['top1_rate']:.2f}/"
                      f"{row['median_rank']:.0f}"
                      + (f" grey {row['grey']['top1_rate']:.2f}" if "grey" in row else "")
                      for name, row in item["models"].items())
    if item.get("figure"):
        cells += f"  coverage {item['coverage']:.2f}"
    print(f"{args.label:>14} seed {config['seed']:>2}  gens {log[-1]['generation']:>4}  "
          f"record {item['key']}  p {item['confidence']:.3f}  {cells}  "
          f"slope {item['slope']:.2f}  residual {item['residual']:.3f}  "
          f"judge rank over time {judge_curve(log)}", flush=True)


if __name__ == "__main__":
    main()
