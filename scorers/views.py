"""Random views of a batch: crops, flips, rotations and shifts, differentiable, drawn from a seed.

A fitness averaged over random views rewards an image the network recognises however it is
framed, not one network's blind spot at one framing (Expectation over Transformation, Athalye
et al. 2018; lucid's jitter/scale/rotate robustness). Each view is an affine map from the output
square to the source image, sampled with `affine_grid` + `grid_sample`, so gradients reach the
pixels and, through a differentiable renderer, a formula's constants.

    views = draw_views(4, seed)                    # the same K views for every image
    batch = apply_views(images, views, 224)        # (K·N, 3, 224, 224), view-major
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from scorers.errors import ScorerError

CROP_SCALE = (0.55, 1.0)   # side of a crop as a share of the image's shorter side
DEGREES = 15.0             # rotations drawn uniformly in ±DEGREES
SHIFT = 0.05               # extra shift, as a share of the side, beyond the image (reflected)


@dataclass(frozen=True, eq=False)
class Views:
    """K affine views: matrices (K, 2, 3) map output coordinates [-1, 1]² to source coordinates.

    K = 0 means no views at all: the whole image, resized (`apply_views` gives N images back).
    """

    matrices: torch.Tensor      # (K, 2, 3) float32, CPU
    seed: int | None = None

    @property
    def count(self) -> int:
        """K, the number of views (0: the image itself)."""
        return int(self.matrices.shape[0])

    @property
    def per_image(self) -> int:
        """How many images apply_views makes from each input image: max(K, 1)."""
        return max(self.count, 1)


def draw_views(k: int, seed: int, *, scale: tuple[float, float] = CROP_SCALE,
               degrees: float = DEGREES, shift: float = SHIFT, flip: bool = True) -> Views:
    """K random views from `seed` (its own torch.Generator: same seed, same views).

    Each view: a square crop of side s ~ U(scale) placed uniformly inside the image, moved by up
    to ±shift of the side beyond it, rotated by U(±degrees), mirrored left-right with p = ½.
    """
    if k < 0:
        raise ScorerError(f"the number of views must be 0 or more, not {k}")
    lo, hi = scale
    if not 0 < lo <= hi:
        raise ScorerError(f"crop scale must satisfy 0 < low <= high, not {scale}")
    g = torch.Generator().manual_seed(int(seed))
    side = lo + (hi - lo) * torch.rand(k, generator=g)                      # (K,)
    room = (1 - side).clamp(min=0) + 2 * shift                              # centre range, ±
    centre = (2 * torch.rand(k, 2, generator=g) - 1) * room[:, None]        # (K, 2)
    angle = (2 * torch.rand(k, generator=g) - 1) * math.radians(degrees)    # (K,)
    mirror = torch.where(torch.rand(k, generator=g) < 0.5, -1.0, 1.0) if flip else torch.ones(k)
    cos, sin = angle.cos() * side, angle.sin() * side
    # source = side · R(angle) · (mirror · u, v) + centre, in normalised coordinates
    matrices = torch.stack([torch.stack([cos * mirror, -sin, centre[:, 0]], 1),
                            torch.stack([sin * mirror, cos, centre[:, 1]], 1)], 1)  # (K, 2, 3)
    return Views(matrices.float(), int(seed))


def identity_views() -> Views:
    """One view that is the whole image, unrotated: the view-free baseline as a Views."""
    return Views(torch.tensor([[[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]]), None)


def no_views() -> Views:
    """K = 0: apply_views hands back the images themselves, resized (the --fooling mode)."""
    return Views(torch.zeros(0, 2, 3), None)


def apply_views(images: torch.Tensor, views: Views, size: int) -> torch.Tensor:
    """Every view of every image, rendered straight at size × size. Differentiable.

    Shape: (N, 3, H, W) → (K·N, 3, size, size), view-major (row k·N + n is view k of image n);
    K = 0 → (N, 3, size, size), the whole image resized as a Classifier would (antialiased).
    A view is a square of the shorter side; a source more than twice as fine as a view needs is
    first reduced (antialiased), so wide views of a large render do not alias.
    """
    n, _, h, w = images.shape
    if views.count == 0:
        if (h, w) == (size, size):
            return images
        return F.interpolate(images, size=(size, size), mode="bilinear", antialias=True,
                             align_corners=False)
    shorter = min(h, w)
    # the views are defined on the central square; normalised coordinates are per axis
    aspect = torch.tensor([[shorter / w], [shorter / h]])                    # (2, 1)
    matrices = views.matrices * aspect                                       # (K, 2, 3)
    matrices = matrices.to(images.device, images.dtype)
    out = []
    for k in range(views.count):
        source = _reduced(images, needed=size / float(views.matrices[k, :, :2].det().abs().sqrt()))
        grid = F.affine_grid(matrices[k].expand(n, 2, 3), [n, 3, size, size],
                             align_corners=False)                            # (N, S, S, 2)
        out.append(F.grid_sample(source, grid, mode="bilinear", padding_mode="reflection",
                                 align_corners=False))                       # (N, 3, S, S)
    return torch.cat(out)


def _reduced(images: torch.Tensor, needed: float) -> torch.Tensor:
    """images, resized (antialiased) to `needed` on the shorter side when over twice as fine."""
    h, w = images.shape[-2:]
    if min(h, w) <= 2 * needed:
        return images
    factor = needed / min(h, w)
    return F.interpolate(images, size=(max(1, round(h * factor)), max(1, round(w * factor))),
                         mode="bilinear", antialias=True, align_corners=False)
