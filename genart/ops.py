"""The primitives of `genart.primitives` on tensors, for the renderer.

Every value is a tensor (1, C, h, w) with C in {1, 3} and h, w either full size or 1, so
constant sub-trees stay (1, C, 1, 1) and `x` stays one row: ops broadcast (Sims' vector
expressions). Protected ops never feed a bad input to the inner function, so gradients with
respect to constants stay finite (a `where` after the fact would leak NaN gradients).
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from genart.primitives import EPS_DIV, EPS_LOG, EPS_SQRT, NOISE_FREQ


def _safe_divisor(b: torch.Tensor) -> torch.Tensor:
    return torch.where(b.abs() > EPS_DIV, b, 1.0)


def _channel(a: torch.Tensor, k: int) -> torch.Tensor:
    return a[:, k:k + 1] if a.shape[1] == 3 else a


def _permute(n: torch.Tensor) -> torch.Tensor:
    return torch.remainder((34.0 * n + 1.0) * n, 289.0)


@functools.lru_cache(maxsize=8)
def _lattice_table(device: torch.device) -> torch.Tensor:
    """(1, 1, 290, 290): value at lattice point (i, j) in [j, i]; row and column 289 wrap to 0."""
    n = torch.arange(290, dtype=torch.float64)
    i, j = n.view(1, -1), n.view(-1, 1)
    table = _permute(_permute(i % 289) + j % 289) / 144.5 - 1.0    # exact in float64
    return table.float().view(1, 1, 290, 290).to(device)


def _fade(t: torch.Tensor) -> torch.Tensor:
    return t * t * (3 - 2 * t)


def noise(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Value noise, smoothstep fade, lattice fixed in formula units (resolution independent).

    Lattice values come from webgl-noise's permute hash (exact in float arithmetic, so they
    equal the Python reference's); bilinear interpolation of the smoothstep-warped position in
    that table is one `grid_sample` (differentiable with respect to the position).
    """
    u = (torch.nan_to_num(a) * NOISE_FREQ).clamp(-1e6, 1e6)
    v = (torch.nan_to_num(b) * NOISE_FREQ).clamp(-1e6, 1e6)
    u, v = torch.broadcast_tensors(u, v)                              # (1, C, h, w)
    i, j = torch.floor(u), torch.floor(v)
    gx = (torch.remainder(i, 289.0) + _fade(u - i)) * (2 / 289) - 1  # in [-1, 1]
    gy = (torch.remainder(j, 289.0) + _fade(v - j)) * (2 / 289) - 1
    grid = torch.stack((gx, gy), -1).view(1, -1, u.shape[-1], 2)      # (1, C*h, w, 2)
    table = _lattice_table(u.device)
    out = F.grid_sample(table, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out.view(u.shape)


def rgb(a, b, c):
    """Red of a, green of b, blue of c (a scalar value serves every channel)."""
    return torch.cat(torch.broadcast_tensors(_channel(a, 0), _channel(b, 1), _channel(c, 2)), 1)


def hsv(h, s, v):
    """HSV -> RGB in formula space [-1, 1]; hue has period 2 (smooth piecewise-linear form)."""
    h, s, v = _channel(h, 0), _channel(s, 1), _channel(v, 2)
    n = torch.tensor([5.0, 3.0, 1.0], device=h.device).view(1, 3, 1, 1)
    k = torch.remainder(n + 3.0 * h, 6.0)                      # (1, 3, h, w)
    sat = ((s + 1) / 2).clamp(0.0, 1.0)
    val = ((v + 1) / 2).clamp(0.0, 1.0)
    return 2 * (val - val * sat * torch.minimum(k, 4 - k).clamp(0.0, 1.0)) - 1


OPS = {
    "add": torch.add,
    "sub": torch.sub,
    "mul": torch.mul,
    "div": lambda a, b: a / _safe_divisor(b),
    "sin": torch.sin,
    "cos": torch.cos,
    "tanh": torch.tanh,
    "abs": torch.abs,
    "sqrt": lambda a: torch.sqrt(a.abs() + EPS_SQRT),
    "log": lambda a: torch.log(a.abs() + EPS_LOG),
    "min": torch.minimum,
    "max": torch.maximum,
    "mod": lambda a, b: torch.remainder(a, _safe_divisor(b)),
    "if_pos": lambda a, b, c: torch.where(a > 0, b, c),
    "rgb": rgb,
    "hsv": hsv,
    "noise": noise,
}
