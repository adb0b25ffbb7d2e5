"""The pixel grid a render evaluates on, shared by both evaluators: coordinates per row band,
the squash to [0, 1], and how many intra-op threads a CPU render uses."""
from __future__ import annotations

import contextlib

import torch
import torch.nn.functional as F

from genart.ops import tanh

SERIAL_PIXELS = 2**19   # CPU renders of smaller bands (per value) run on one intra-op thread


def coordinates(rows: tuple[int, int], size: tuple[int, int], k: int, device,
                mirror: bool = False) -> dict:
    """x, y, r, theta for supersampled rows [r0, r1); the shorter side spans [-1, 1], y up.
    mirror: x -> |x| (and theta of |x|), so every formula is left-right symmetric."""
    (height, width), short = size, min(size)
    cols = torch.arange(width * k, device=device, dtype=torch.float64)
    rws = torch.arange(rows[0], rows[1], device=device, dtype=torch.float64)
    x = (2 * (cols + 0.5) / k - width) / short
    if mirror:                                   # exactly antisymmetric first, then |x|
        x = ((x - x.flip(0)) / 2).abs()
    x = x.float().view(1, 1, 1, -1)                                         # (1, 1, 1, Wk)
    y = ((height - 2 * (rws + 0.5) / k) / short).float().view(1, 1, -1, 1)  # (1, 1, hb, 1)
    return {"x": x, "y": y, "r": torch.sqrt(x * x + y * y), "theta": torch.atan2(y, x)}


def squash(value: torch.Tensor, shape: tuple, k: int) -> torch.Tensor:
    """0.5 + 0.5 tanh(value), NaN -> 0, k x k average-pooled; (B, C, hb, W), C of the value;
    differentiable (constant tuning)."""
    image = tanh(torch.nan_to_num(value, nan=0.0)) * 0.5 + 0.5
    image = image.expand(image.shape[0], image.shape[1], *shape)          # (B, C, hb*k, W*k)
    return F.avg_pool2d(image, k) if k > 1 else image


def squash_into(target: torch.Tensor, value: torch.Tensor, shape: tuple, k: int) -> None:
    """squash(value) written into target (B, 3, hb, W), a view of the images; the same
    arithmetic as squash, element by element, computed on the value's own channels."""
    if k > 1:
        target.copy_(squash(value, shape, k).expand_as(target))
        return
    channels = value.shape[1]
    image = torch.nan_to_num(value, nan=0.0)
    if image.shape[2:] == target.shape[2:]:                # full size: straight into target
        tanh(image, out=target[:, :channels]).mul_(0.5).add_(0.5)
    else:
        target[:, :channels].copy_(tanh(image, out=image).mul_(0.5).add_(0.5)
                                   .expand(value.shape[0], channels, *shape))
    if channels == 1:
        target[:, 1:].copy_(target[:, :1].expand(value.shape[0], 2, *shape))


def mirrored(images: torch.Tensor) -> torch.Tensor:
    """images (N, C, H, W) with the right half the exact mirror of the left (per-element op
    kernels and pooling may round mirrored pixels differently by an ulp); differentiable."""
    half = images.shape[-1] // 2
    if half == 0:
        return images
    left = images[..., :half]
    middle = images[..., half:images.shape[-1] - half]
    return torch.cat([left, middle, left.flip(-1)], -1)


def render_threads(band_pixels: int, device) -> int:
    """torch intra-op threads a render uses: one for CPU bands under SERIAL_PIXELS."""
    small = torch.device(device).type == "cpu" and band_pixels < SERIAL_PIXELS
    return 1 if small else torch.get_num_threads()


@contextlib.contextmanager
def intra_op_threads(count: int):
    """torch's (process-wide) intra-op thread count set to `count` for the block.

    A 224^2 op is too small to amortise a parallel region, and on a shared CPU one descheduled
    OpenMP thread stalls every op (2 threads measured 5-30x slower than 1 under load; genome
    chunks on 2 Python worker threads 1.2x slower than 1 thread, GIL hand-offs per op).
    """
    before = torch.get_num_threads()
    if before == count:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
