"""Issue 20's ten-seed table from docs/measure/seeds10.sh's runs: per seed and arm, the best
record's audit (crab top-1 rate over the 64 views / median rank; grey top-1 rate) and coverage,
then each arm's mean and the seeds at the robust bar; a contact sheet of each arm's records.
usage: python docs/measure/seeds10_summary.py [ARM ...]   (default: before10 today10)"""
import json
import statistics
import sys
from pathlib import Path

import torch

from genart import contact_sheet, parse, render_batch
from portfolio_summary import robust as at_bar

RUNS = Path("runs/measure")
NETS = ("efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2")


def best_item(run: Path) -> dict:
    item = json.loads((run / "audit.json").read_text())["items"][-1]
    item["formula"] = (run / "records" / f"{item['key']}.formula").read_text().strip()
    return item


def harvested(run: Path) -> int:
    """Records the run itself found at the robust bar (--harvest)."""
    return sum(bool(json.loads(p.read_text()).get("robust_bar"))
               for p in (run / "records").glob("[0-9][0-9][0-9][0-9].json"))


def main() -> None:
    arms = sys.argv[1:] or ["before10", "today10"]
    print("arm seed | Lite0 top-1/rank grey | Lite1 | Lite2 (judge) | coverage | at bar | "
          "records harvested in-run")
    for arm in arms:
        runs = sorted(RUNS.glob(f"{arm}-s[0-9]*/audit.json"), key=lambda p: int(p.parent.name.split("-s")[-1]))
        items = [(run.parent.name.split("-s")[-1], best_item(run.parent)) for run in runs]
        found = [harvested(run.parent) for run in runs]
        for (seed, item), count in zip(items, found):
            cells = " | ".join(f"{item['models'][n]['top1_rate']:.2f}/{item['models'][n]['median_rank']:.0f} "
                               f"grey {item['models'][n]['grey']['top1_rate']:.2f}" for n in NETS)
            cover = f"{item['coverage']:.2f}" if item.get("figure") else "—"
            print(f"{arm} s{seed} | {cells} | {cover} | {'yes' if at_bar(item) else 'no'} | harvested {count}")
        mean = lambda f: statistics.fmean(f(item) for _, item in items)
        cells = " | ".join(f"{mean(lambda i: i['models'][n]['top1_rate']):.2f}/"
                           f"{statistics.median(i['models'][n]['median_rank'] for _, i in items):.0f} "
                           f"grey {mean(lambda i: i['models'][n]['grey']['top1_rate']):.2f}"
                           for n in NETS)
        figures = [i["coverage"] for _, i in items if i.get("figure")]
        cover = f"{statistics.fmean(figures):.2f}" if figures else "—"
        print(f"{arm} mean of {len(items)} (rank: median) | {cells} | {cover} | "
              f"{sum(at_bar(i) for _, i in items)} at bar | {sum(c > 0 for c in found)} runs harvested")
        images = render_batch([parse(i["formula"]) for _, i in items], 192, torch.device("cpu"))
        sheet = RUNS / f"{arm}_sheet.png"
        contact_sheet(images, [f"s{s} {i['models'][NETS[2]]['top1_rate']:.2f}" for s, i in items]).save(sheet)
        print(f"sheet: {sheet}")


if __name__ == "__main__":
    main()
