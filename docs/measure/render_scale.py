"""Issue 21, wave 13: does the size the search renders at matter to the held-out judge? For every
record at the robust bar in RUNs: Lite2's mean crab p on the judge's 16 fixed views with the formula
rendered at 128 (the search's old size) and at 260 (native; what the judge scores), Lite1's at 128
and 240, and each one's correlation with the judge p the run wrote.
usage: python docs/measure/render_scale.py RUN [RUN ...]"""
import glob
import json
import sys

import numpy as np
import torch

from genart import parse, render_batch
from scorers import JUDGE_SEED, draw_views, judge_scores, load_model, resolve_classes

COLUMNS = [("efficientnet-lite2", 128), ("efficientnet-lite2", 260),
           ("efficientnet-lite1", 128), ("efficientnet-lite1", 240)]


def main() -> None:
    device = torch.device("cpu")
    models = {name: load_model(name, device) for name in {name for name, _ in COLUMNS}}
    classes = resolve_classes("crab", models["efficientnet-lite2"].class_names)
    views = draw_views(16, JUDGE_SEED)
    rows = []
    for run in sys.argv[1:]:
        for meta in sorted(glob.glob(f"{run}/records/[0-9][0-9][0-9][0-9].json")):
            record = json.loads(open(meta).read())
            if not record.get("robust_bar"):
                continue
            genome = parse(open(meta.replace(".json", ".formula")).read())
            row = [record["judge"]["probability"]]
            with torch.inference_mode():
                for name, size in COLUMNS:
                    image = render_batch([genome], size, device)
                    row.append(judge_scores(image, models[name], classes, views).row(0)
                               ["probability"])
            rows.append(row)
    table = np.array(rows)
    print(f"{len(table)} records at the bar; mean p and correlation with the run's judge p:")
    for i, (name, size) in enumerate(COLUMNS, 1):
        print(f"  {name[-5:]} rendered at {size}: mean {table[:, i].mean():.3f}"
              f"  correlation {np.corrcoef(table[:, 0], table[:, i])[0, 1]:.2f}")


if __name__ == "__main__":
    main()
