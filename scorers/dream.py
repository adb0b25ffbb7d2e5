"""DeepDream: gradient ascent on the pixels of an image, for any size, on any objective.

Mordvintsev, Olah & Tyka, "Inceptionism: Going Deeper into Neural Networks" (Google Research
blog, 2015) and their deepdream notebook. An objective is any differentiable callable
`objective(images) -> (N,)` over images (N, 3, H, W) in [0, 1]; it never sees a genome.

    for each octave, smallest first:
        x = clamp(base_octave + upsample(detail))
        repeat steps: roll x by a random (dy, dx); g = ∇ objective in tiles; roll g back
                      x = clamp(x + step_size · g / mean|g|)
        detail = x − base_octave
    return clamp(image + detail)

The layer objective must be the notebook's L2 (`LayerObjective(..., reduce="l2")`, the mean
square of the activations): the plain mean covers a photo in concentric rings and moiré. Lite0
blocks.8, astronaut 512², 4 octaves × 10 steps, 0.01, roll 32 (mean square 32.4 before): the
notebook loop reaches 77.1 (6 seeds), this loop with L2 74.0 (0.96×, same mean |Laplacian|
0.149) and with the mean 50.8; the notebook loop itself with the mean gets 53.0 and the rings.
Octave resampling, clamping and tiling change nothing (1024² in 512 tiles: 0.98× untiled, no
seam) and one octave rings as well: the mean pushes every unit alike, whatever it sees (its
gradient on grey 60–100 px from a disc is 0.40 of that at the disc's edge; L2's is 0.09).

EfficientNet-Lite's ReLU6 has zero gradient above 6 (1.3 % of its inputs before a dream, 3.3 %
after 80 steps; the objective still rises), so the model is kept as is; `passthrough=True`
swaps every ReLU6 for a straight-through upper clamp and measured no consistent gain.
"""
from __future__ import annotations

import contextlib
import logging
import math
import random
from typing import Callable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from scorers.errors import ScorerError

Objective = Callable[[Tensor], Tensor]
Progress = Callable[[int, int], None]
log = logging.getLogger(__name__)

MIN_OCTAVE_SIDE = 32  # octaves whose short side would fall below this are dropped

# Layers that dream well, judged by eye on the astronaut and chelsea photos at 384–512² with the
# defaults (5 octaves × 10 steps, 0.01, L2): earlier blocks give strokes and grain, later ones
# (blocks.12 …, head) fine noise and a diagonal lattice. blocks.11 grows the lattice too after
# ~15 steps per octave; so does the notebook loop, it is the network's.
DEFAULT_DREAM_LAYER = "blocks.10"
DREAM_LAYERS = {"efficientnet-lite0": {
    "blocks.5": "swirls", "blocks.6": "swirls, spirals", "blocks.7": "spirals, eyes",
    "blocks.8": "eyes", "blocks.9": "eyes, fur", "blocks.10": "eyes, fur, snouts (default)",
    "blocks.11": "fur, dog faces"}}


def dream_layers(model_name: str) -> dict[str, str]:
    """{layer: what it dreams} for the layers of `model_name` that dream well ({} if unmeasured)."""
    return dict(DREAM_LAYERS.get(model_name, {}))


class MixObjective:
    """Weighted sum of objectives: `MixObjective([(1.0, layer), (0.5, crab)])(images) -> (N,)`."""

    def __init__(self, terms: Sequence[tuple[float, Objective]]):
        if not terms:
            raise ValueError("MixObjective needs at least one (weight, objective) term")
        self.terms = [(float(w), obj) for w, obj in terms]

    def __call__(self, images: Tensor) -> Tensor:
        return sum(w * obj(images) for w, obj in self.terms)


class GuideObjective:
    """Match features to a guide image's (the deepdream notebook's guided dream).

    Each feature vector of the image is scored by its best dot product with any feature vector
    of the guide, so ascent pulls every position toward the guide feature it already resembles.
    `features(images) -> (N, C, h, w)`; the guide's features are computed once, without grad.
    """

    def __init__(self, features: Callable[[Tensor], Tensor], guide: Tensor):
        self.features = features
        with torch.no_grad():
            g = features(guide.unsqueeze(0) if guide.dim() == 3 else guide[:1])  # (1, C, h, w)
        self.guide = g.flatten(2)[0]  # (C, h·w)

    def __call__(self, images: Tensor) -> Tensor:
        x = self.features(images).flatten(2)  # (N, C, h·w)
        match = torch.einsum("ncp,cq->npq", x, self.guide.to(x.dtype))  # (N, h·w, guide h·w)
        return match.amax(dim=2).mean(dim=1)


def total_variation(images: Tensor) -> Tensor:
    """Mean absolute difference between neighbouring pixels, (N, 3, H, W) -> (N,)."""
    dy = (images[..., 1:, :] - images[..., :-1, :]).abs().mean(dim=(1, 2, 3))
    dx = (images[..., :, 1:] - images[..., :, :-1]).abs().mean(dim=(1, 2, 3))
    return dx + dy


class _ReLU6PassThrough(torch.autograd.Function):
    """ReLU6 forward; backward lets gradient through wherever the input is positive."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(0.0, 6.0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x > 0).to(grad.dtype)


class PassThroughReLU6(nn.Module):
    def forward(self, x: Tensor) -> Tensor:
        return _ReLU6PassThrough.apply(x)


@contextlib.contextmanager
def relu6_passthrough(*modules: nn.Module) -> Iterator[int]:
    """Within the block every nn.ReLU6 in `modules` keeps its forward but passes gradient above 6.

    Yields how many were swapped; restores the originals on exit, even after an exception.
    """
    swapped: list[tuple[nn.Module, str, nn.Module]] = []
    for root in modules:
        for parent in root.modules():
            for name, child in parent.named_children():
                if type(child) is nn.ReLU6:
                    swapped.append((parent, name, child))
    try:
        for parent, name, _ in swapped:
            setattr(parent, name, PassThroughReLU6())
        yield len(swapped)
    finally:
        for parent, name, child in swapped:
            setattr(parent, name, child)


def modules_of(objective: object, depth: int = 3) -> list[nn.Module]:
    """nn.Modules reachable through an objective's attributes (model.net, terms, features …)."""
    found: dict[int, nn.Module] = {}

    def visit(obj: object, d: int) -> None:
        if isinstance(obj, nn.Module):
            found.setdefault(id(obj), obj)
            return
        if d == 0 or isinstance(obj, (Tensor, str, int, float, bool, type(None))):
            return
        items = obj if isinstance(obj, (list, tuple)) else list(getattr(obj, "__dict__", {}).values())
        items += [getattr(obj, "__self__", None)] if callable(obj) and not isinstance(obj, type) else []
        for item in items:
            visit(item, d - 1)

    visit(objective, depth)
    return list(found.values())


def _tile_edges(n: int, tile: int, align: int = 32) -> list[tuple[int, int]]:
    """Split 0..n into ceil(n / tile) near-equal spans, cut on multiples of `align` (the
    network's total stride) so every tile sees the same pixel phase; no thin edge slivers."""
    count = max(1, math.ceil(n / tile)) if tile else 1
    cuts = sorted({0, n, *(min(n, round(i * n / count / align) * align) for i in range(1, count))})
    return list(zip(cuts[:-1], cuts[1:]))


def tiled_gradient(images: Tensor, objective: Objective, tile: int | None = 512) -> Tensor:
    """∇ of objective(images).sum(), computed tile by tile so any size fits in memory.

    Each tile's objective is weighted by its share of the area, so for a spatial-mean objective
    the result equals the untiled gradient up to receptive-field effects at tile seams.
    Shape: (N, 3, H, W) -> (N, 3, H, W).
    """
    H, W = images.shape[-2:]
    grad = torch.zeros_like(images)
    for y0, y1 in _tile_edges(H, tile or 0):
        for x0, x1 in _tile_edges(W, tile or 0):
            piece = images[..., y0:y1, x0:x1].detach().requires_grad_(True)
            weight = (y1 - y0) * (x1 - x0) / (H * W)
            (g,) = torch.autograd.grad(objective(piece).sum() * weight, piece)
            grad[..., y0:y1, x0:x1] = g
    return grad


def _resize(images: Tensor, size: tuple[int, int]) -> Tensor:
    if tuple(images.shape[-2:]) == tuple(size):
        return images
    down = size[0] < images.shape[-2]
    return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=down)


def octave_sizes(size: tuple[int, int], octaves: int, scale: float) -> list[tuple[int, int]]:
    """Sizes from smallest to the full size; octaves below MIN_OCTAVE_SIDE are dropped."""
    sizes = []
    for k in range(max(1, octaves)):
        h, w = round(size[0] / scale**k), round(size[1] / scale**k)
        if k and min(h, w) < MIN_OCTAVE_SIDE:
            break
        sizes.append((h, w))
    return sizes[::-1]


def dream(image: Tensor, objective: Objective, *, octaves: int = 5, octave_scale: float = 1.4,
          steps: int = 10, step_size: float = 0.01, jitter: int = 32, tile: int | None = 512,
          guide: Tensor | None = None, smoothness: float = 0.0, seed: int = 0,
          progress: Progress | None = None, passthrough: bool = False) -> Tensor:
    """DeepDream `image` (3, H, W) or (N, 3, H, W) in [0, 1]; returns the same shape in [0, 1].

    Mordvintsev, Olah & Tyka 2015; pseudocode in the module docstring. `guide` (3, h, w) replaces
    the objective by `GuideObjective` on the objective's features (it needs `.features` or
    `.model.activations` with `.layer`). `smoothness` in [0, 1] mixes the normalised gradient of
    −total variation into each step. `passthrough` lets gradient through saturated ReLU6s.
    `progress(done, total)` is called after every step. Deterministic on CPU for a given seed.
    """
    if image.dim() not in (3, 4) or image.shape[-3] != 3:
        raise ValueError(f"dream needs an image (3, H, W) or (N, 3, H, W), got {tuple(image.shape)}")
    single = image.dim() == 3
    base = (image.unsqueeze(0) if single else image).detach().float()  # (N, 3, H, W)
    if guide is not None:
        objective = GuideObjective(features_of(objective), guide.to(base.device, base.dtype))
    rng = random.Random(seed)
    sizes = octave_sizes(tuple(base.shape[-2:]), octaves, octave_scale)
    total, done = len(sizes) * steps, 0
    detail = torch.zeros_like(_resize(base, sizes[0]))
    nets = modules_of(objective) if passthrough else []
    with relu6_passthrough(*nets), torch.enable_grad():
        for size in sizes:
            octave_base = _resize(base, size)
            x = (octave_base + _resize(detail, size)).clamp(0, 1)
            for _ in range(steps):
                x = ascent_step(x, objective, rng, step_size=step_size, jitter=jitter,
                                tile=tile, smoothness=smoothness)
                done += 1
                if progress:
                    progress(done, total)
            detail = x - octave_base
    out = (base + detail).clamp(0, 1)
    return out[0] if single else out


def ascent_step(x: Tensor, objective: Objective, rng: random.Random, *, step_size: float,
                jitter: int, tile: int | None, smoothness: float = 0.0) -> Tensor:
    """One normalised, jittered, tiled gradient-ascent step on images (N, 3, H, W)."""
    dy, dx = (rng.randint(-jitter, jitter), rng.randint(-jitter, jitter)) if jitter else (0, 0)
    rolled = torch.roll(x, shifts=(dy, dx), dims=(-2, -1))
    g = torch.roll(tiled_gradient(rolled, objective, tile), shifts=(-dy, -dx), dims=(-2, -1))
    g = g / (g.abs().mean(dim=(1, 2, 3), keepdim=True) + 1e-12)  # one normalisation per image
    if smoothness:
        xs = x.detach().requires_grad_(True)
        (tv,) = torch.autograd.grad(-total_variation(xs).sum(), xs)
        tv = tv / (tv.abs().mean(dim=(1, 2, 3), keepdim=True) + 1e-12)
        g = (1 - smoothness) * g + smoothness * tv
    return (x + step_size * g).clamp(0, 1).detach()


def features_of(objective: object) -> Callable[[Tensor], Tensor]:
    """The feature map a guide is matched in: `objective.features`, else its model's layer."""
    if callable(getattr(objective, "features", None)):
        return objective.features
    model, layer = getattr(objective, "model", None), getattr(objective, "layer", None)
    if model is not None and layer is not None:
        return lambda images: model.activations(images, layer)
    raise ScorerError("a guide image needs a layer objective (e.g. --layer NAME), "
                     "not a class or mixed objective")
