"""The primitives of `genart.primitives` on tensors, for the renderer.

Every value is a tensor (1, C, h, w) with C in {1, 3} and h, w either full size or 1, so
constant sub-trees stay (1, C, 1, 1) and `x` stays one row: ops broadcast (Sims' vector
expressions). Protected ops never feed a bad input to the inner function, so gradients with
respect to constants stay finite (a `where` after the fact would leak NaN gradients).
"""
from __future__ import annotations

import torch

from genart.primitives import EPS_DIV, EPS_LOG, EPS_SQRT, NOISE_FREQ


def _safe_divisor(b: torch.Tensor) -> torch.Tensor:
    return torch.where(b.abs() > EPS_DIV, b, 1.0)


def _channel(a: torch.Tensor, k: int) -> torch.Tensor:
    return a[:, k:k + 1] if a.shape[1] == 3 else a


def _permute(n: torch.Tensor) -> torch.Tensor:
    return torch.remainder((34.0 * n + 1.0) * n, 289.0)


def noise(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Value noise, smoothstep fade, lattice fixed in formula units (resolution independent).

    The lattice hash is float arithmetic that is exact in float32 (webgl-noise's permute), so
    the renderer and the Python reference agree on every lattice value.
    """
    u = (torch.nan_to_num(a) * NOISE_FREQ).clamp(-1e6, 1e6)
    v = (torch.nan_to_num(b) * NOISE_FREQ).clamp(-1e6, 1e6)
    i, j = torch.floor(u), torch.floor(v)
    su, sv = u - i, v - j
    su, sv = su * su * (3 - 2 * su), sv * sv * (3 - 2 * sv)
    i0, j0 = torch.remainder(i, 289.0), torch.remainder(j, 289.0)
    p0, p1 = _permute(i0), _permute(i0 + 1)       # permute(289) == permute(0): no wrap needed
    j1 = j0 + 1                                   # p + j1 <= 577: (34n + 1) n stays < 2^24
    top = torch.lerp(_permute(p0 + j0), _permute(p1 + j0), su)
    bottom = torch.lerp(_permute(p0 + j1), _permute(p1 + j1), su)
    return torch.lerp(top, bottom, sv) / 144.5 - 1.0


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
