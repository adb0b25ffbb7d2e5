"""Issue 21 with --harvest: the records a run found at the robust bar in-run (`robust_bar` in
their JSON), audited again by `genart audit`'s own scoring (native-size render on white, 64
fixed views, Lite0/1/2) and counted every 10 minutes: harvested / confirmed by the audit /
mutually distinct by pixels / by look (portfolio_summary's rules) / by pixels at BY_EYE, a proxy
of what a person tells apart; and which the run took it as:
the best ever, the generation's leader or a lower member. A harvest polished again in a later
round (--harvest-rounds) is audited too but counted once, as found; the sheet shows each
harvest's latest round. Writes RUN/harvest_sheet.png.
usage: python docs/measure/harvest_audit.py RUN [--label L]"""
import json

import torch

from evolve.runfolder.audit import audit_models, audit_rows
from evolve.runfolder.rundir import RunDir
from portfolio_summary import BY_EYE, distinct, robust, save_harvest_sheet
from scorers import AUDIT_VIEWS, JUDGE_SEED, Naturalness, draw_views, resolve_classes
from speed_summary import later_round, run_and_log


def main() -> None:
    args, path, log = run_and_log()
    run = RunDir.open(path)
    rows = []
    for meta in sorted(run.records.glob("[0-9][0-9][0-9][0-9].json")):
        row = json.loads(meta.read_text())
        if row.get("robust_bar"):
            row["stem"], row["formula"] = meta.stem, meta.with_suffix(".formula").read_text()
            rows.append(row)
    models, _ = audit_models(run.config, "auto", torch.device("cpu"))
    classes = resolve_classes(run.config.target, models[0].class_names)
    items = [{"key": r["stem"], "image": "", "formula": r["formula"], "classes": classes,
              "class_name": run.config.target} for r in rows]
    scored = audit_rows(items, models, draw_views(AUDIT_VIEWS, JUDGE_SEED),
                        Naturalness(weight=run.config.naturalness_weight),
                        run.config.size) if items else []
    by_generation = {e["generation"]: e for e in log}
    latest = {}                                   # harvest index (or stem) → its latest row
    for row, audit in zip(rows, scored):
        row["audit"] = audit
        entry = by_generation.get(row["generation"], {})
        taken = ("best" if row["fitness"] == entry.get("best_ever_fitness") else
                 "leader" if row["fitness"] == entry.get("best_fitness") else "member")
        lite = [audit["models"][m.name] for m in models]
        polish = row.get("polish", {})
        latest[polish.get("harvest", row["stem"])] = row
        if later_round(row):
            taken = f"harvest {polish['harvest']} round {polish['round']}"
        print(f"  #{row['stem']} {row['elapsed'] / 60:5.1f} min lineage {row['lineage']} {taken}: "
              + "  ".join(f"{m.name[-5:]} {x['top1_rate']:.2f}/{x['median_rank']:.0f}"
                          for m, x in zip(models, lite))
              + f"  grey lite0 {lite[0]['grey']['top1_rate']:.2f}  at bar {robust(audit)}")
    end = log[-1]["elapsed"]
    again = [r for r in rows if later_round(r)]
    rows = [r for r in rows if r not in again]
    print(f"{args.label}: {len(rows)} harvested, {len(again)} records of later polish rounds;"
          " per 10 min: harvested / confirmed by the audit / distinct by pixels / by look"
          f" / by pixels at {BY_EYE} (by eye)")
    for mark in [m for m in range(600, int(end) + 1, 600) if end - m > 60] + [end]:
        upto = [r for r in rows if r["elapsed"] <= mark]
        good = [r for r in upto if robust(r["audit"])]
        (apart, looks), (eye, _) = distinct(good), distinct(good, BY_EYE)
        print(f"  {mark / 60:4.0f} min  {len(upto):3d}  {len(good):3d}  {len(apart):3d}"
              f"  {len(looks):3d}  {len(eye):3d}")
    for harvest, row in latest.items():              # the judge's p, found → latest round
        first = next((r for r in rows if r.get("polish", {}).get("harvest") == harvest), None)
        if first is not None and row is not first:
            print(f"  harvest {harvest}: judge p {first['judge']['probability']:.3f}"
                  f" (#{first['stem']}) -> {row['judge']['probability']:.3f} (#{row['stem']}, round"
                  f" {row['polish']['round']})")
    shown = list(latest.values())
    if shown:
        save_harvest_sheet(shown, run.path / "harvest_sheet.png")
        print(f"  sheet: {run.path / 'harvest_sheet.png'}")


if __name__ == "__main__":
    main()
