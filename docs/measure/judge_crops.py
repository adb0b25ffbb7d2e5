"""Did the polish's keep-check, run on the judge's own 16 crops (before 90846bc), lift the
judge's p on those crops more than elsewhere? Per record at the robust bar with a `polish` part:
Lite2's p on the judge's 16 views (JUDGE_SEED) minus its p on 48 other views, by what the
record is: a harvest as found, its first polish kept, or a later round kept.
usage: python docs/measure/judge_crops.py RUN [RUN ...]"""
import glob
import json
import statistics
import sys

import torch

from genart import parse, render_batch
from scorers import JUDGE_SEED, draw_views, judge_scores, load_model, resolve_classes


def main() -> None:
    lite2 = load_model("efficientnet-lite2", "cpu")
    crab = resolve_classes("crab", lite2.class_names)
    own, other = draw_views(16, JUDGE_SEED), draw_views(48, 424242)
    groups = {}
    for run in sys.argv[1:]:
        for path in sorted(glob.glob(run + "/records/*.json")):
            row = json.load(open(path))
            polish = row.get("polish")
            if not row.get("robust_bar") or not polish:
                continue
            genome = parse(open(path[:-5] + ".formula").read())
            with torch.inference_mode():
                image = render_batch([genome], lite2.input_size, "cpu")
                a = judge_scores(image, lite2, crab, own).row(0)["probability"]
                b = judge_scores(image, lite2, crab, other).row(0)["probability"]
            key = ("as found" if not polish.get("at_bar") else
                   "round 1 kept" if polish["round"] == 1 else "later round kept")
            groups.setdefault(key, []).append(a - b)
    for key, gaps in groups.items():
        print(f"{key}: n {len(gaps)}, judge-crops p minus other-crops p: mean "
              f"{statistics.mean(gaps):+.3f}, median {statistics.median(gaps):+.3f}")


if __name__ == "__main__":
    main()
