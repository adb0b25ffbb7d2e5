"""Dream sequences: a zoom that dreams one octave per frame, and one image across many layers.

The zoom is the deepdream notebook's feedback loop (Mordvintsev, Olah & Tyka 2015):

    x = image (or seeded grey noise)
    for each frame: x = dream(zoom_in(x, factor), octaves=1); emit x

Every function takes and returns image tensors in [0, 1]; writing files is the caller's job.
"""
from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from scorers.dream import Objective, Progress, dream


def noise_image(size: int | tuple[int, int], seed: int = 0, *, amplitude: float = 0.1,
                device="cpu") -> Tensor:
    """Seeded grey noise (3, H, W) around 0.5: the notebook's starting point for a zoom."""
    h, w = (size, size) if isinstance(size, int) else size
    g = torch.Generator().manual_seed(seed)
    return (0.5 + amplitude * (torch.rand(3, h, w, generator=g) - 0.5)).to(device)


def zoom_in(image: Tensor, factor: float) -> Tensor:
    """Crop the centre 1/factor of (3, H, W) and scale it back up to (3, H, W)."""
    h, w = image.shape[-2:]
    ch, cw = max(1, round(h / factor)), max(1, round(w / factor))
    y0, x0 = (h - ch) // 2, (w - cw) // 2
    crop = image[None, :, y0:y0 + ch, x0:x0 + cw]  # (1, 3, ch, cw)
    return F.interpolate(crop, size=(h, w), mode="bilinear", align_corners=False)[0].clamp(0, 1)


def dream_zoom(image: Tensor, objective: Objective, *, frames: int = 8, zoom: float = 1.05,
               steps: int = 10, seed: int = 0, progress: Progress | None = None,
               **dream_options) -> list[Tensor]:
    """`frames` images (3, H, W): each the previous one zoomed by `zoom`, dreamed for one octave.

    The first frame is `image` dreamed in place; each frame draws fresh jitter from seed + k.
    `dream_options` go to `dream` (step_size, jitter, tile, smoothness, guide, passthrough).
    """
    if frames < 1:
        raise ValueError(f"a zoom needs at least one frame, got {frames}")
    dream_options.pop("octaves", None)
    out, x = [], image
    for k in range(frames):
        if k:
            x = zoom_in(x, zoom)
        x = dream(x, objective, octaves=1, steps=steps, seed=seed + k, **dream_options)
        out.append(x)
        if progress:
            progress(k + 1, frames)
    return out


def layer_sweep(image: Tensor, objectives: Sequence[tuple[str, Objective]], *,
                progress: Progress | None = None, **dream_options) -> list[tuple[str, Tensor]]:
    """The same image dreamed once per (label, objective), shallow to deep: [(label, image)]."""
    out = []
    for k, (label, objective) in enumerate(objectives):
        out.append((label, dream(image, objective, **dream_options)))
        if progress:
            progress(k + 1, len(objectives))
    return out


def spread(names: Sequence[str], count: int) -> list[str]:
    """`count` names evenly spread from first to last (both kept), in order."""
    if count >= len(names):
        return list(names)
    if count <= 1:
        return [names[len(names) // 2]]
    return [names[round(i * (len(names) - 1) / (count - 1))] for i in range(count)]

