"""Issue 21's figures for one audited run, every 10 minutes: the held-out judge's score of the
leader, the best record's, and how many records meet the robust bar and how many of those are
mutually distinct. Writes RUN/portfolio_sheet.png (the distinct robust records).

Robust bar (issue 21): Lite0 ranks the target top-1 on ≥ 90 % of the audit's 64 fixed views and
Lite2 has it in its top 5 on the median view. Distinct: greedy, oldest first, a record counts
when its 64-px render differs from every counted one by a mean absolute pixel difference above
DISTINCT and its look (scorers.descriptors niche) is not taken — both numbers are printed.
`--best-path`: only the records today's search writes (the best's, not a look's gains).
"""
import argparse
import json
from pathlib import Path

import torch

from evolve.runfolder.judge import meets_bar
from genart import contact_sheet, parse, render_batch
from scorers.descriptors import niche_name, niche_of
from speed_summary import log_rows

DISTINCT = 0.1
BY_EYE = 0.15   # a proxy of what a person tells apart: on the sheets of seeds 70–75 it counted
                # 6/8/6/5/6/6 where I counted about 8/10/7/5/7/6 (docs/measurements.md, wave 19)
SIDE = 64


def robust(item: dict) -> bool:
    models = item["models"]
    return meets_bar(models["efficientnet-lite0"], models["efficientnet-lite2"])


def distinct(rows: list[dict], apart: float = DISTINCT) -> tuple[list[dict], list[dict]]:
    """(records apart by pixels, records apart by look), each greedy over rows in order."""
    if not rows:
        return [], []
    images = render_batch([parse(r["formula"]) for r in rows], SIDE, torch.device("cpu"))
    looks = niche_of(images).tolist()
    by_pixels, by_look, kept, taken = [], [], [], set()
    for row, image, look in zip(rows, images, looks):
        if all((image - other).abs().mean() > apart for other in kept):
            kept.append(image)
            by_pixels.append(row)
        if look not in taken:
            taken.add(look)
            by_look.append({**row, "look": niche_name(look)})
    return by_pixels, by_look


def save_harvest_sheet(rows: list[dict], path: Path) -> None:
    """Records' pictures at 256 px on a contact sheet, each named by record, lineage, polish
    round and the judge's p (harvest_audit's and by_eye's sheets)."""
    images = render_batch([parse(r["formula"]) for r in rows], 256, torch.device("cpu"))
    names = [f"#{r['number']:04d} L{r['lineage']} r{r.get('polish', {}).get('round', 1)}"
             f" {r['judge']['probability']:.2f}" for r in rows]
    contact_sheet(images, names).save(path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("run")
    parser.add_argument("--label", default="")
    parser.add_argument("--best-path", action="store_true")
    args = parser.parse_args()
    run = Path(args.run)
    log = log_rows(run)
    audit = {str(i["key"]): i for i in json.loads((run / "audit.json").read_text())["items"]}
    records = []
    for meta in sorted(run.glob("records/[0-9][0-9][0-9][0-9].json")):
        row = json.loads(meta.read_text())
        if args.best_path and row.get("niche_record"):
            continue
        row["stem"] = meta.stem
        row["formula"] = meta.with_suffix(".formula").read_text().strip()
        row["audit"] = audit.get(meta.stem) or audit.get(str(int(meta.stem)))
        records.append(row)
    end = max([log[-1]["elapsed"]] + [r["elapsed"] for r in records])   # the final records too
    label = args.label + (" (best path)" if args.best_path else "")
    print(f"{label}: {run.name}, {len(records)} records, {log[-1]['generation']} generations, "
          f"{end / 60:.1f} min; per 10 min: leader judge p / best record judge p / records at "
          f"the bar / distinct by pixels / distinct by look")
    marks = [m for m in range(600, int(end) + 1, 600) if end - m > 60] + [end]
    for mark in marks:
        lines = [e for e in log if e["elapsed"] <= mark and e.get("judge_score") is not None]
        upto = [r for r in records if r["elapsed"] <= mark]
        judged = [r["judge"]["probability"] for r in upto if isinstance(r.get("judge"), dict)]
        good = [r for r in upto if r["audit"] and robust(r["audit"])]
        apart, looks = distinct(good)
        print(f"  {mark / 60:4.0f} min  {lines[-1]['judge_score'] if lines else float('nan'):.3f}"
              f"  {max(judged, default=float('nan')):.3f}  {len(good):3d}  {len(apart):3d}"
              f"  {len(looks):3d}", flush=True)
    good = [r for r in records if r["audit"] and robust(r["audit"])]
    apart, _ = distinct(good)
    if apart:
        images = render_batch([parse(r["formula"]) for r in apart], 256, torch.device("cpu"))
        names = [f"#{r['stem']} {r['judge']['probability']:.2f}" if isinstance(r.get("judge"), dict)
                 else f"#{r['stem']}" for r in apart]
        sheet = run / ("portfolio_sheet_best_path.png" if args.best_path else "portfolio_sheet.png")
        contact_sheet(images, names).save(sheet)
        print(f"  sheet: {sheet}")


if __name__ == "__main__":
    main()
