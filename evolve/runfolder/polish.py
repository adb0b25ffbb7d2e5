"""Dream polishing wired to genart: dream objectives from options, the source image from a
formula or file, zoom frames and GIFs, layer-sweep sheets, and `polish` of a run's best records.

Files are written here (uint8 only at this boundary); `scorers.dream` sees only tensors.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from genart import contact_sheet, parse, read_png, render_batch, save_png
from evolve.errors import RunError
from evolve.runfolder.gallery import build_gallery
from evolve.runfolder.rundir import RunDir, write_json
from scorers import ClassObjective, LayerObjective, make_objective, tv_residual
from scorers.dream import DEFAULT_DREAM_LAYER, MixObjective

MAX_SIDE = 8192
DEFAULT_LAYER = DEFAULT_DREAM_LAYER
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class DreamSpec:
    """What to maximise: layers (each weight 1), optional channels, optional class query.
    `objective` reduces each layer: "l2" (mean square, DeepDream's) or "mean"."""

    layers: tuple[str, ...] = ()
    channels: tuple[int, ...] | None = None
    target_class: str | None = None
    class_weight: float = 1.0
    objective: str = "l2"

    def describe(self) -> str:
        reduced = " (mean square)" if self.objective == "l2" else " (mean)"
        parts = [f"layer {name}" + (f" channels {list(self.channels)}" if self.channels else "")
                 + reduced for name in self.layers]
        if self.target_class:
            parts.append(f"class {self.target_class} (log prob, weight {self.class_weight:g})")
        return " + ".join(parts)


def dream_objective(model, spec: DreamSpec):
    """The objective a spec names; several terms become a MixObjective. Unknown layer/class
    raise a ScorerError from scorers, naming the closest matches."""
    layers = spec.layers or (() if spec.target_class else (DEFAULT_LAYER,))
    terms = [(1.0, LayerObjective(model, name, channels=spec.channels, reduce=spec.objective))
             for name in layers]
    if spec.target_class:
        terms.append((spec.class_weight, ClassObjective(model, spec.target_class, log=True)))
    return terms[0][1] if len(terms) == 1 and terms[0][0] == 1.0 else MixObjective(terms)


def parse_channels(text: str | None) -> tuple[int, ...] | None:
    if text is None:
        return None
    if not re.fullmatch(r"\s*\d+(\s*,\s*\d+)*\s*", text):
        raise RunError(f"bad --channels {text!r}; write comma-separated indices like 3,17")
    return tuple(int(c) for c in text.split(","))


def load_source(source: str, size: int | None, device, antialias: int = 3) -> tuple[torch.Tensor, str | None]:
    """IMAGE path (a genart PNG is re-rendered from its formula when --size is given),
    @file.formula, or formula text → (image (3, H, W) in [0, 1] on device, formula or None)."""
    if size is not None and not 16 <= size <= MAX_SIDE:
        raise RunError(f"--size must be between 16 and {MAX_SIDE}, got {size}")
    if source.startswith("@"):
        path = Path(source[1:])
        if not path.is_file():
            raise FileNotFoundError(f"no such formula file: {path}")
        source = path.read_text(encoding="utf-8", errors="replace").strip()
    elif Path(source).suffix.lower() in {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif"}:
        image, text = read_png(source)          # FileNotFoundError / GenartError on bad files
        if size is not None and "formula" in text:
            return _render(text["formula"], size, device, antialias), text["formula"]
        if size is not None:
            h, w = image.shape[-2:]
            scale = size / max(h, w)
            new = (max(1, round(h * scale)), max(1, round(w * scale)))
            image = F.interpolate(image[None], size=new, mode="bilinear", antialias=True,
                                  align_corners=False)[0].clamp(0, 1)
        return image.to(device), text.get("formula")
    return _render(source, size or 512, device, antialias), source


def _render(formula: str, size: int, device, antialias: int) -> torch.Tensor:
    genome = parse(formula)                      # FormulaError (one line) on bad text
    return render_batch([genome], size, device, antialias=antialias)[0]


def to_pil(image: torch.Tensor) -> Image.Image:
    pixels = (image.detach().float().clamp(0, 1) * 255).round().to(torch.uint8)
    return Image.fromarray(pixels.permute(1, 2, 0).cpu().numpy())  # (H, W, 3)


def write_zoom(frames: list[torch.Tensor], folder: Path, *, duration_ms: int = 80,
               gif_side: int | None = None, meta: dict | None = None) -> tuple[list[Path], Path]:
    """frames/NNN.png (full size) and zoom.gif (optionally downscaled to gif_side) in folder."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, frame in enumerate(frames):
        paths.append(folder / f"frame_{k:03d}.png")
        save_png(paths[-1], frame, meta={**(meta or {}), "frame": k})
    pictures = [to_pil(f) for f in frames]
    if gif_side:
        pictures = [p.resize((gif_side, round(gif_side * p.height / p.width)), Image.LANCZOS)
                    for p in pictures]
    gif = folder / "zoom.gif"
    pictures[0].save(gif, save_all=True, append_images=pictures[1:], duration=duration_ms,
                     loop=0, optimize=False, disposal=1)
    return paths, gif


def sweep_sheet(original: torch.Tensor, dreams: list[tuple[str, torch.Tensor]],
                tile: int = 256) -> torch.Tensor:
    """A labelled contact sheet (3, H, W): the original, then one tile per dreamed layer."""

    images = [original] + [image for _, image in dreams]
    tiles = torch.stack([F.interpolate(i[None].float().cpu(), size=(tile, tile), mode="bilinear",
                                       antialias=True, align_corners=False)[0] for i in images])
    sheet = contact_sheet(tiles.clamp(0, 1), ["original"] + [label for label, _ in dreams])
    return torch.from_numpy(np.asarray(sheet).copy()).permute(2, 0, 1).float() / 255


@dataclass
class PolishResult:
    stem: str
    path: Path
    scores: dict = field(default_factory=dict)


def measure(model, image: torch.Tensor, target: str | None) -> dict:
    """Target-class probability (whole image at the model's size) and TV residuals of (3, H, W):
    at the model's input size, as the run scored it, and at full size."""
    batch = image[None].to(model.device)
    small = F.interpolate(batch, size=(model.input_size,) * 2, mode="bilinear", antialias=True,
                          align_corners=False)
    with torch.no_grad():
        out = {"residual": float(tv_residual(small)[0]), "residual_full": float(tv_residual(batch)[0])}
        if target and not target.startswith("layer:"):
            out["prob"] = float(ClassObjective(model, target)(batch)[0])
    return out


def polish_run(path: Path, model, *, top: int, size: int, dream_options: dict,
               spec: DreamSpec | None = None, antialias: int = 3,
               progress: Progress | None = None,
               on_record: Callable[[str], None] | None = None) -> list[PolishResult]:
    """Render the `top` best records of the run at `size` (anti-aliased), dream them into
    RUN/polished/NNNN.png with NNNN.json (before/after probability and residual), rebuild the
    gallery. The default objective is the run's own target (a class as log probability)."""
    run = RunDir.open(Path(path))
    if top < 1:
        raise RunError(f"--top must be at least 1, got {top}")
    target = run.read_config().target
    entries = run.best_records(top)
    if spec is None or not (spec.layers or spec.target_class):
        objective = make_objective(target, model, log=True,
                                   reduce=spec.objective if spec else "l2")
        described = f"run target {target}"
    else:
        objective, described = dream_objective(model, spec), spec.describe()
    out_dir = run.path / "polished"
    out_dir.mkdir(exist_ok=True)
    from scorers.dream import dream

    results = []
    for entry in entries:
        stem = entry["stem"]
        if on_record:
            on_record(stem)
        formula = (run.records / f"{stem}.formula").read_text(encoding="utf-8").strip()
        before = _render(formula, size, model.device, antialias)
        after = dream(before, objective, progress=progress, **dream_options)
        b, a = measure(model, before, target), measure(model, after, target)
        scores = {f"{k}_before": v for k, v in b.items()} | {f"{k}_after": v for k, v in a.items()}
        options = {k: v for k, v in dream_options.items() if isinstance(v, (int, float, str))}
        image_path = out_dir / f"{stem}.png"
        save_png(image_path, after, formula=formula,
                 meta={"objective": described, "size": size, **options})
        write_json(out_dir / f"{stem}.json", {**scores, "record": stem, "objective": described,
                                              "size": size, "options": options})
        results.append(PolishResult(stem, image_path, scores))
    build_gallery(run)
    return results


def polished_summary(results: list[PolishResult]) -> list[str]:
    lines = []
    for r in results:
        s = r.scores
        prob = (f"prob {s['prob_before']:.4f} -> {s['prob_after']:.4f}, "
                if "prob_before" in s else "")
        lines.append(f"{r.path}: {prob}residual {s['residual_before']:.4f} -> "
                     f"{s['residual_after']:.4f} (full size {s['residual_full_before']:.4f} -> "
                     f"{s['residual_full_after']:.4f})")
    return lines

