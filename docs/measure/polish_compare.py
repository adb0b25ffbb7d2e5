"""One row per polish for issue 20 item 5: the best record and its polished images (constants,
DeepDream) on Lite0/1/2 over 64 fixed views (top-1 rate / median rank, grey top-1 in brackets)."""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F

from genart import parse, read_png, render_batch
from scorers import AUDIT_VIEWS, JUDGE_SEED, draw_views, judge_scores, load_model, resolve_classes
from scorers.views import grey_images

NETWORKS = ("efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2")


def cells(image: torch.Tensor, models, views) -> str:
    out = []
    for model in models:
        crab = resolve_classes("crab", model.class_names)
        seen = F.interpolate(image[None], size=(model.input_size,) * 2, mode="bilinear",
                             antialias=True, align_corners=False)
        colour = judge_scores(seen, model, crab, views).row(0)
        grey = judge_scores(grey_images(seen), model, crab, views).row(0)
        out.append(f"{model.name[-5:]} {colour['top1_rate']:.2f}/{colour['median_rank']:.0f}"
                   f" ({grey['top1_rate']:.2f})")
    return "  ".join(out)


def main() -> None:
    models = [load_model(name, "cpu") for name in NETWORKS]
    views = draw_views(AUDIT_VIEWS, JUDGE_SEED)
    constants, dreamed = (Path(p) for p in sys.argv[1:3])
    for png in sorted((constants / "polished").glob("*.png")):
        record = parse((constants / "records" / f"{png.stem}.formula").read_text().strip())
        with torch.inference_mode():
            rows = {"record": render_batch([record], 512, "cpu", antialias=2)[0],
                    "constants": read_png(png)[0], "dream": read_png(dreamed / "polished" /
                                                                   png.name)[0]}
            for label, image in rows.items():
                print(f"{constants.name} {png.stem} {label:>9}  {cells(image, models, views)}",
                      flush=True)


if __name__ == "__main__":
    main()
