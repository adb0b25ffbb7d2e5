"""The primitives of `genart.primitives` on tensors, for the renderer.

Every value is a tensor (B, C, h, w) with C in {1, 3} and h, w either full size or 1 (B is 1
for the per-node interpreter, a group's rows for the batched one), so constant sub-trees stay
(B, C, 1, 1) and `x` stays one row: ops broadcast (Sims' vector expressions). Protected ops never feed a bad input to the inner function, so gradients with
respect to constants stay finite (a `where` after the fact would leak NaN gradients).
"""
from __future__ import annotations

import functools

import numpy as np
import torch

from genart.primitives import EPS_DIV, EPS_LOG, EPS_SQRT, NOISE_FREQ


def _scalar(value: float) -> torch.Tensor:
    """A 0-dim float32 CPU tensor: ops on any device take it as a scalar, and unlike a Python
    float it is not wrapped into a fresh tensor on every call (~1.5 us each, thousands of calls
    per population render)."""
    return torch.tensor(value, dtype=torch.float32)


_ZERO, _ONE, _TWO, _THREE = map(_scalar, (0.0, 1.0, 2.0, 3.0))
_EPS_DIV, _EPS_SQRT, _EPS_LOG, _FREQ, _PERIOD = map(_scalar, (EPS_DIV, EPS_SQRT, EPS_LOG,
                                                            NOISE_FREQ, 289.0))


class _NumpyUnary(torch.autograd.Function):
    """A ufunc on a float32 CPU tensor by numpy's SIMD loop, differentiable through torch."""

    @staticmethod
    def forward(ctx, a, ufunc, derivative):
        result = _numpy_call(ufunc, a.detach(), None)
        ctx.derivative = derivative
        ctx.save_for_backward(a, result)
        return result

    @staticmethod
    def backward(ctx, grad):
        a, result = ctx.saved_tensors
        return grad * ctx.derivative(a, result), None, None


def _numpy_call(ufunc, a: torch.Tensor, out) -> torch.Tensor:
    out = torch.empty(a.shape) if out is None else out
    with np.errstate(all="ignore"):                     # sin(inf) is NaN, quietly, as in torch
        ufunc(a.numpy(), out=out.numpy())
    return out


def _transcendental(name: str, ufunc, derivative):
    """torch.<name>, or on a CPU running torch on one intra-op thread (renders of small bands)
    numpy's loop: measured 2.5x (sin, cos) to 10x (tanh) faster than torch's on an AVX-512 CPU
    (sin was half of a 224^2 sine-sum render), and its vector tails are masked, so a value does
    not depend on where it sits in a batch (torch's sigmoid takes a scalar exp on a tensor's
    last elements). Large bands keep torch's threads."""
    on_device = getattr(torch, name)

    def apply(a: torch.Tensor, out=None) -> torch.Tensor:
        if (a.device.type != "cpu" or a.dtype != torch.float32
                or torch.get_num_threads() > 1):
            return on_device(a) if out is None else on_device(a, out=out)
        if a.requires_grad and torch.is_grad_enabled():
            return _NumpyUnary.apply(a, ufunc, derivative)
        return _numpy_call(ufunc, a.detach(), out)
    apply.__name__ = name
    return apply


sin = _transcendental("sin", np.sin, lambda a, value: torch.cos(a))
cos = _transcendental("cos", np.cos, lambda a, value: -torch.sin(a))
tanh = _transcendental("tanh", np.tanh, lambda a, value: 1 - value * value)


def _above(a: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    """[a > threshold] as 0.0 / 1.0 in a's dtype (NaN -> 0), never differentiated.

    Written as floats: torch's CPU compare into bool and `where` are scalar loops, ~5x slower
    than a float compare and a fused multiply-add at 224^2.
    """
    return torch.gt(a, threshold, out=torch.empty_like(a))


def _safe_divisor(b: torch.Tensor) -> torch.Tensor:
    """b where |b| > EPS_DIV, else 1: (1 - m) + b m, exact for m in {0, 1}; NaN stays NaN."""
    m = b.detach().abs()
    torch.gt(m, _EPS_DIV, out=m)                      # the mask in |b|'s own buffer
    return torch.addcmul(_ONE - m, b, m)


def _channel(a: torch.Tensor, k: int) -> torch.Tensor:
    return a[:, k:k + 1] if a.shape[1] == 3 else a


def _permute(n: torch.Tensor) -> torch.Tensor:
    return torch.remainder((34.0 * n + 1.0) * n, 289.0)


@functools.lru_cache(maxsize=8)
@torch.inference_mode(False)  # a table first built under inference_mode would break autograd
def _corner_table(device: torch.device) -> torch.Tensor:
    """(289 * 289,) complex128 holding per lattice cell j * 289 + i the bilinear coefficients
    of its corners, four float32.

    With corners L00 = L(i, j), L10 = L(i+1, j), L01, L11, the cell's value at fade weights
    (su, sv) is c0 + su * c1 + sv * (c2 + su * c3): three fused multiply-adds per pixel.
    """
    n = torch.arange(290, dtype=torch.float64)
    i, j = n.view(1, -1), n.view(-1, 1)
    lattice = _permute(_permute(i % 289) + j % 289) / 144.5 - 1.0    # [j, i], exact in float64
    l00, l10, l01, l11 = lattice[:-1, :-1], lattice[:-1, 1:], lattice[1:, :-1], lattice[1:, 1:]
    coefficients = torch.stack((l00, l10 - l00, l01 - l00, (l11 - l01) - (l10 - l00)), -1)
    # each cell's 4 floats as one 16-byte element: one gather moves a row (4x faster)
    return coefficients.float().reshape(289 * 289, 4).view(torch.complex128)[:, 0].to(device)


def _gather_cells(cell: torch.Tensor) -> torch.Tensor:
    """(*cell.shape, 4) coefficients of the lattice cells numbered `cell` (int32)."""
    rows = _corner_table(cell.device).index_select(0, cell.view(-1))
    return rows.view(torch.float32).view(*cell.shape, 4)


def _noise_axis(a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Smoothstep fade weight and lattice cell (mod 289, as float) along one axis, at a's shape."""
    u = (a * _FREQ).nan_to_num_().clamp_(-1e6, 1e6)   # in place where it can: a buffer
    cell = torch.floor(u)                              # still in cache is cheaper than a new one
    t = u.sub_(cell)
    fade = torch.sub(_THREE, t, alpha=2.0).mul_(t).mul_(t)
    period = torch.div(cell, _PERIOD).floor_()     # exact: |cell| <= 1e6, so no remainder
    return fade, cell.sub_(period, alpha=289.0)


def noise(a: torch.Tensor, b: torch.Tensor, out=None) -> torch.Tensor:
    """Value noise, smoothstep fade, lattice fixed in formula units (resolution independent).

    Lattice values come from webgl-noise's permute hash (exact in float arithmetic, so they
    equal the Python reference's). Fade and cell are computed per axis before broadcasting
    (noise(x, y) does that on one row and one column); one gather fetches each pixel's cell
    coefficients (differentiable with respect to the position through the fade weights).
    """
    su, i = _noise_axis(a)
    sv, j = _noise_axis(b)
    cell = torch.add(i, j, alpha=289.0).to(torch.int32)             # exact below 2^24
    c0, c1, c2, c3 = _gather_cells(cell).unbind(-1)                  # strided views
    top = torch.addcmul(c0, su, c1, out=out)                         # contiguous from here on
    return top.addcmul_(sv, torch.addcmul(c2, su, c3))


def rgb(a, b, c):
    """Red of a, green of b, blue of c (a scalar value serves every channel)."""
    return torch.cat(torch.broadcast_tensors(_channel(a, 0), _channel(b, 1), _channel(c, 2)), 1)


@functools.lru_cache(maxsize=8)
@torch.inference_mode(False)
def _hue_offsets(device: torch.device) -> torch.Tensor:
    """Per channel n = 5, 3, 1: (n - 2) / 6, the hue ramp's centre in sixths of a turn."""
    return torch.tensor([3.0, 1.0, -1.0], device=device).div_(6.0).view(1, 3, 1, 1)


def hue_offsets(channels: torch.Tensor) -> torch.Tensor:
    """(B, 1, 1, 1) hsv offsets computing channel channels[i] (int64 (B,)) in row i."""
    return _hue_offsets(channels.device)[0, :, 0, 0].index_select(0, channels).view(-1, 1, 1, 1)


def hsv(h, s, v, channel: int | None = None, offsets: torch.Tensor | None = None):
    """HSV -> RGB in formula space [-1, 1]; hue has period 2 (smooth piecewise-linear form).

    Per channel n, with k = (n + 3h) mod 6, the ramp clamp(min(k, 4 - k), 0, 1) equals
    clamp(2 - 6 |e|, 0, 1) with e = g - round(g), g = (n - 2 + 3h) / 6: no mod, no min. The
    result 2 (val - val sat ramp) - 1 is one fused multiply-add on the three channels.
    `offsets` (B, 1, 1, 1), from hue_offsets, computes one channel per row of a batch.
    """
    h, s, v = _channel(h, 0), _channel(s, 1), _channel(v, 2)
    if offsets is None:
        offsets = _hue_offsets(h.device)
        if channel is not None:                                      # that channel alone
            offsets = offsets[:, channel:channel + 1]
    g = torch.add(offsets, h, alpha=0.5)                             # (1, 3, h, w)
    e = g.sub_(torch.round(g))
    ramp = torch.add(_TWO, e.abs_(), alpha=-6.0).clamp_(0.0, 1.0)
    value = torch.clamp(v, -1.0, 1.0)                                # 2 val - 1
    sat2 = torch.clamp(s, -1.0, 1.0).add_(_ONE)                      # 2 sat
    return torch.addcmul(value, torch.addcmul(sat2, value, sat2), ramp, value=-0.5)


def _div(a, b, out=None):
    return torch.div(a, _safe_divisor(b), out=out)


def _mod(a, b, out=None):
    """a - b floor(a / b) with b made safe: Python's float % (sign of b) without fmod's loop."""
    b = _safe_divisor(b)
    return torch.addcmul(a, torch.div(a, b).floor_(), b, value=-1.0, out=out)


def _sqrt(a, out=None):
    if out is None:
        return torch.sqrt(a.abs() + _EPS_SQRT)
    return torch.abs(a, out=out).add_(_EPS_SQRT).sqrt_()


def _log(a, out=None):
    if out is None:
        return torch.log(a.abs() + _EPS_LOG)
    return torch.abs(a, out=out).add_(_EPS_LOG).log_()


def _if_pos(a, b, c, out=None):
    """b where a > 0, else c: lerp with a 0/1 weight is exact for finite b and c."""
    return torch.lerp(c, b, _above(a, _ZERO), out=out)


OPS = {
    "add": torch.add,
    "sub": torch.sub,
    "mul": torch.mul,
    "div": _div,
    "sin": sin,
    "cos": cos,
    "tanh": tanh,
    "abs": torch.abs,
    "sqrt": _sqrt,
    "log": _log,
    "min": torch.minimum,
    "max": torch.maximum,
    "mod": _mod,
    "if_pos": _if_pos,
    "rgb": rgb,
    "hsv": hsv,
    "noise": noise,
}
# Ops that broadcast like element-wise ones and accept `out=`: the renderer writes them into an
# argument's buffer when that argument is dead after this op and already has the result's shape.
ELEMENTWISE = frozenset(OPS) - {"rgb", "hsv"}
