"""Random views of a batch: crops, flips, rotations and shifts, and views that take colour and
texture away (grey, colour-jittered, blurred, thumbnail), differentiable, drawn from a seed.

A fitness averaged over random views rewards an image the network recognises however it is
framed, not one network's blind spot at one framing (Expectation over Transformation, Athalye
et al. 2018; lucid's jitter/scale/rotate robustness). Each view is an affine map from the output
square to the source image, sampled with `affine_grid` + `grid_sample`, so gradients reach the
pixels and, through a differentiable renderer, a formula's constants. A view may also be drawn
grey, colour-jittered, blurred or as a thumbnail (seen small, then upsampled), each with its own
probability (issue 20: class evidence that survives without colour and fine texture sits in the
layout). Appearance is drawn after geometry, so a seed's crops are the same whatever the
probabilities, and the judge's and audit's views (probabilities 0) are as they were.

    views = draw_views(4, seed, grey=0.25, blur=0.25)   # the same K views for every image
    batch = apply_views(images, views, 224)             # (K·N, 3, 224, 224), view-major
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
APPEARANCES = ("grey", "jitter", "blur", "thumb")   # what a view may also be, each with its p
LUMA = (0.299, 0.587, 0.114)  # grey = luminance (ITU-R BT.601 weights), in every channel
BRIGHTNESS = (0.7, 1.3)    # a jittered view's brightness factor
SATURATION = (0.3, 1.7)    # … its saturation factor about luminance (0: grey)
HUE = 0.1                  # … its hue turn about the grey axis, in ±HUE of a full turn
BLUR = (0.005, 0.02)       # a blurred view's Gaussian sigma, as a share of the view's side
THUMB = (0.1, 0.3)         # a thumbnail's side as a share of the view's side (seen small)


@dataclass(frozen=True, eq=False)
class Views:
    """K views: matrices (K, 2, 3) map output coordinates [-1, 1]² to source coordinates; per
    view, optionally grey (K,) bool, a colour matrix (K, 3, 3), a blur sigma and a thumbnail side
    (K,) as shares of the view's side (0: none). `chances`: the probabilities they came from.

    K = 0 means no views at all: the whole image, resized (`apply_views` gives N images back).
    """

    matrices: torch.Tensor      # (K, 2, 3) float32, CPU
    seed: int | None = None
    grey: torch.Tensor | None = None     # (K,) bool
    colour: torch.Tensor | None = None   # (K, 3, 3): jitter (identity where not jittered)
    blur: torch.Tensor | None = None     # (K,) sigma / side, 0 where not blurred
    thumb: torch.Tensor | None = None    # (K,) thumbnail side / side, 0 where not a thumbnail
    chances: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)   # grey, jitter, blur, thumb

    @property
    def count(self) -> int:
        """K, the number of views (0: the image itself)."""
        return int(self.matrices.shape[0])

    @property
    def per_image(self) -> int:
        """How many images apply_views makes from each input image: max(K, 1)."""
        return max(self.count, 1)

    def probabilities(self) -> dict[str, float]:
        """{grey, jitter, blur, thumb}: draw_views' keywords these views were drawn with."""
        return dict(zip(APPEARANCES, self.chances))

    def redraw(self, seed: int, count: int | None = None) -> Views:
        """As many fresh views (or `count`), with the same chances of each appearance, from seed."""
        return draw_views(self.count if count is None else count, seed, **self.probabilities())


def draw_views(k: int, seed: int, *, scale: tuple[float, float] = CROP_SCALE,
               degrees: float = DEGREES, shift: float = SHIFT, flip: bool = True,
               grey: float = 0.0, jitter: float = 0.0, blur: float = 0.0,
               thumb: float = 0.0) -> Views:
    """K random views from `seed` (its own torch.Generator: same seed, same views).

    Each view: a square crop of side s ~ U(scale) placed uniformly inside the image, moved by up
    to ±shift of the side beyond it, rotated by U(±degrees), mirrored left-right with p = ½;
    then, independently, grey with p = grey, colour-jittered (brightness, saturation, hue) with
    p = jitter, blurred with p = blur, a thumbnail with p = thumb.
    """
    if k < 0:
        raise ScorerError(f"the number of views must be 0 or more, not {k}")
    lo, hi = scale
    if not 0 < lo <= hi:
        raise ScorerError(f"crop scale must satisfy 0 < low <= high, not {scale}")
    chances = (float(grey), float(jitter), float(blur), float(thumb))
    for name, p in zip(APPEARANCES, chances):
        if not 0.0 <= p <= 1.0:
            raise ScorerError(f"the probability of a {name} view must be in [0, 1], not {p}")
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
    # appearance after geometry, every number always drawn: a seed's crops never depend on the
    # probabilities, and raising one probability only adds views of that kind
    chosen = torch.rand(4, k, generator=g) < torch.tensor(chances)[:, None]   # (4, K)
    spread = torch.rand(5, k, generator=g)                                     # (5, K)
    colour = _jitter_matrices(_between(BRIGHTNESS, spread[0]), _between(SATURATION, spread[1]),
                              (2 * spread[2] - 1) * HUE * 2 * math.pi)         # (K, 3, 3)
    colour = torch.where(chosen[1, :, None, None], colour, torch.eye(3))
    sigma, small = _between(BLUR, spread[3]), _between(THUMB, spread[4])
    return Views(matrices.float(), int(seed),
                 grey=chosen[0] if chosen[0].any() else None,
                 colour=colour.float() if chosen[1].any() else None,
                 blur=torch.where(chosen[2], sigma, 0.0) if chosen[2].any() else None,
                 thumb=torch.where(chosen[3], small, 0.0) if chosen[3].any() else None,
                 chances=chances)


def _between(bounds: tuple[float, float], u: torch.Tensor) -> torch.Tensor:
    return bounds[0] + (bounds[1] - bounds[0]) * u


def _jitter_matrices(brightness: torch.Tensor, saturation: torch.Tensor,
                     hue: torch.Tensor) -> torch.Tensor:
    """(K, 3, 3): brightness · saturation about luminance · a hue turn about the grey axis."""
    k = brightness.shape[0]
    eye = torch.eye(3).expand(k, 3, 3)
    luma = torch.tensor(LUMA).expand(3, 3)                     # every row: the luminance weights
    towards_grey = saturation[:, None, None] * eye + (1 - saturation)[:, None, None] * luma
    axis = torch.full((3,), 1 / math.sqrt(3))
    cross = torch.tensor([[0.0, -1.0, 1.0], [1.0, 0.0, -1.0], [-1.0, 1.0, 0.0]]) / math.sqrt(3)
    c, s = hue.cos()[:, None, None], hue.sin()[:, None, None]
    turn = c * eye + s * cross + (1 - c) * torch.outer(axis, axis)          # Rodrigues
    return brightness[:, None, None] * towards_grey @ turn


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
    first reduced (antialiased), so wide views of a large render do not alias. A thumbnail view
    is sampled at its small side and upsampled; colour, grey and blur then act on the whole
    K·N batch at once (one op each).
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
        side = size if views.thumb is None or views.thumb[k] <= 0 else \
            max(4, round(float(views.thumb[k]) * size))
        source = _reduced(images, needed=side / float(views.matrices[k, :, :2].det().abs().sqrt()))
        grid = F.affine_grid(matrices[k].expand(n, 2, 3), [n, 3, side, side],
                             align_corners=False)                            # (N, s, s, 2)
        seen = F.grid_sample(source, grid, mode="bilinear", padding_mode="reflection",
                             align_corners=False)                            # (N, 3, s, s)
        if side != size:                                                     # seen small
            seen = F.interpolate(seen, size=(size, size), mode="bilinear", align_corners=False)
        out.append(seen)
    return _appearance(torch.stack(out), views).flatten(0, 1)


def _appearance(batch: torch.Tensor, views: Views) -> torch.Tensor:
    """(K, N, 3, S, S) with each view's colour jitter, grey and blur applied (batched)."""
    if views.colour is not None:
        colour = views.colour.to(batch.device, batch.dtype)
        batch = torch.einsum("kij,knjhw->knihw", colour, batch).clamp(0, 1)
    if views.grey is not None:
        grey = grey_images(batch.flatten(0, 1)).view_as(batch)
        batch = torch.where(views.grey.to(batch.device).view(-1, 1, 1, 1, 1), grey, batch)
    if views.blur is not None:
        rows = torch.nonzero(views.blur > 0).flatten()
        blurred = _gaussian_blur(batch[rows.to(batch.device)], views.blur[rows] * batch.shape[-1])
        batch = batch.index_copy(0, rows.to(batch.device), blurred)
    return batch


def grey_images(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) → the same shape, every channel the luminance (LUMA): colour taken away.
    Linear per pixel, so it commutes with the views' sampling (the audit greys before views)."""
    luma = torch.tensor(LUMA, device=images.device, dtype=images.dtype).view(1, 3, 1, 1)
    return (images * luma).sum(1, keepdim=True).expand_as(images)


def _gaussian_blur(batch: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """(B, N, 3, S, S) blurred by view b's sigma (pixels), separably, in one grouped conv per
    axis over every image and channel; edges reflected."""
    b, n, c, h, w = batch.shape
    radius = max(1, math.ceil(3 * float(sigma.max())))
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float32)
    kernel = torch.exp(-0.5 * (offsets[None] / sigma[:, None].float()) ** 2)       # (B, L)
    kernel = (kernel / kernel.sum(1, keepdim=True)).to(batch.device, batch.dtype)
    kernel = kernel.repeat_interleave(n * c, 0)                                    # (B·N·3, L)
    planes = F.pad(batch.reshape(1, b * n * c, h, w), (radius,) * 4, mode="reflect")
    planes = F.conv2d(planes, kernel[:, None, None, :], groups=b * n * c)          # along x
    planes = F.conv2d(planes, kernel[:, None, :, None], groups=b * n * c)          # along y
    return planes.view(b, n, c, h, w)


def _reduced(images: torch.Tensor, needed: float) -> torch.Tensor:
    """images, resized (antialiased) to `needed` on the shorter side when over twice as fine."""
    h, w = images.shape[-2:]
    if min(h, w) <= 2 * needed:
        return images
    factor = needed / min(h, w)
    return F.interpolate(images, size=(max(1, round(h * factor)), max(1, round(w * factor))),
                         mode="bilinear", antialias=True, align_corners=False)
