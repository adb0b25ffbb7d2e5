"""Issue 21, wave 13: does the size the search renders at matter to the held-out judge? For every
record at the robust bar in RUNs: Lite2's mean crab p on the judge's 16 fixed views with the formula
rendered at 128 (the search's old size) and at 260 (native; what the judge scores), Lite1's at 128
and 240, and each one's correlation with the judge p the run wrote.
usage: python docs/measure/render_scale.py RUN [RUN ...]"""
import sys
from pathlib import Path

import numpy as np
import torch

from genart import parse, render_batch
from scorers import JUDGE_SEED, draw_views, judge_scores, load_model, resolve_classes
from speed_summary import record_rows

COLUMNS = [("efficientnet-lite2", 128), ("efficientnet-lite2", 260),
           ("efficientnet-lite1", 128), ("efficientnet-lite1", 240)]


def main() -> None:
    device = torch.device("cpu")
    models = {name: load_model(name, device) for name in {name for name, _ in COLUMNS}}
    classes = resolve_classes("crab", models["efficientnet-lite2"].class_names)
    views = draw_views(16, JUDGE_SEED)
    judged, genomes = [], []
    for run in map(Path, sys.argv[1:]):
        for record in record_rows(run):
            if record.get("robust_bar"):
                judged.append(record["judge"]["probability"])
                genomes.append(parse((run / "records" / f"{record['number']:04d}.formula")
                                     .read_text()))
    print(f"{len(genomes)} records at the bar; mean p and correlation with the run's judge p:")
    with torch.inference_mode():
        for name, size in COLUMNS:
            images = render_batch(genomes, size, device)
            p = judge_scores(images, models[name], classes, views).probability.numpy()
            print(f"  {name[-5:]} rendered at {size}: mean {p.mean():.3f}"
                  f"  correlation {np.corrcoef(judged, p)[0, 1]:.2f}")


if __name__ == "__main__":
    main()
