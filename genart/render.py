"""Genomes -> images: render_batch, and the per-node tree interpreter (the reference).

render_batch evaluates structure-batched by default (genart.batched: one op per group of
same-shape nodes across the batch); batched=False runs this module's interpreter, one op per
node: following the batch's plan (genart.plan), for each row band of the (supersampled) grid:
evaluate the ids read in creation order (a valid post-order), free each value after its last
use, squash roots to [0, 1] with 0.5 + 0.5 * tanh(v) (smooth, so gradients stay alive), then
average-pool k x k (supersampling anti-aliasing).

On a CPU a 224^2 population render is bound by passes over memory (about three quarters of
its time) and per-op overhead (a quarter), so ops write into dead buffers, take constants as
0-dim tensors and avoid torch's scalar-loop kernels (bool masks, where, remainder, tanh).
"""
from __future__ import annotations

import logging

import torch

from genart.batched import render_structured
from genart.errors import GenartError
from genart.figure import (PLAIN_BACKGROUND, composite, constant_count, figure_parts,
                           is_figure)
from genart.grid import (coordinates, intra_op_threads, mirrored, render_threads, squash,
                         squash_into)
from genart.ops import ELEMENTWISE, OPS
from genart.plan import Plan, build_plan, shared_spatial, uses
from genart.primitives import COLOUR, SCALAR, Colour, Genome, make_constant

log = logging.getLogger(__name__)

DEFAULT_BUDGET_BYTES = 4 * 2**30
MAX_ANTIALIAS = 16
_FUDGE = 3          # op temporaries (noise, hsv) beside the live values


def _evaluate(plan: Plan, table: torch.Tensor, coords: dict, emit, in_place: bool) -> None:
    """Compute every id in order, calling emit(genome, value) for each root as it is made.

    Values are (1, C, hb, Wk) or smaller (broadcastable). A value is dropped after its last
    use; with `in_place`, an element-wise op writes into an argument whose last use it is and
    whose shape is already the result's (no fresh allocation, which costs page faults).
    """
    remaining, owners = uses(plan), {}
    for g, root in enumerate(plan.roots):
        owners.setdefault(root, []).append(g)
    values, owned = [None] * len(plan.ops), [False] * len(plan.ops)
    children, picks, spatial, constant = plan.children, plan.pick, plan.spatial, plan.constant
    for uid in plan.order:
        op, pick = plan.ops[uid], picks[uid]
        if op is None:
            offset, channels = constant[uid]
            if pick is not None:
                offset, channels = offset + pick, 1
            values[uid] = table.as_strided((1, channels, 1, 1), (channels, 1, 1, 1), offset)
        elif op in coords:
            values[uid] = coords[op]
        else:
            kids = children[uid]
            args = [values[k] for k in kids]
            if pick is not None:                      # one channel of a colour value
                if op != "hsv":
                    args = [a[:, pick:pick + 1] if a.shape[1] == 3 else a for a in args]
                if op == "rgb":                       # its one argument, on that channel
                    values[uid] = args[0]
                else:
                    values[uid] = OPS[op](*args, channel=pick) if op == "hsv" else OPS[op](*args)
                    owned[uid] = True
            else:
                out = None
                if in_place and spatial[uid] and op in ELEMENTWISE:
                    for kid, arg in zip(kids, args):
                        if (owned[kid] and remaining[kid] == kids.count(kid)
                                and (len(args) == 1 or arg.shape == _broadcast(args))):
                            out = arg
                            break
                values[uid] = OPS[op](*args) if out is None else OPS[op](*args, out=out)
                owned[uid] = True
            for kid in kids:
                remaining[kid] -= 1
                if not remaining[kid]:
                    values[kid] = None
        if uid in owners:
            for g in owners[uid]:
                emit(g, values[uid])
            remaining[uid] -= len(owners[uid])
            if not remaining[uid]:
                values[uid] = None


def _broadcast(args) -> tuple:
    """The shape of an element-wise result: values are 4-D with each dim 1 or full size, so
    the larger wins (torch.broadcast_shapes is a Python function ~30x slower)."""
    return tuple(map(max, *(a.shape for a in args)))


def _check_size(size) -> tuple[int, int]:
    if isinstance(size, int) and not isinstance(size, bool):
        size = (size, size)
    if (not isinstance(size, (tuple, list)) or len(size) != 2
            or not all(isinstance(s, int) and s > 0 for s in size)):
        raise GenartError(f"size must be a positive int or (height, width), got {size!r}")
    return int(size[0]), int(size[1])


def _band_rows(plan: Plan, n: int, size, k: int, grad: bool, budget: int) -> int:
    """Output rows per band so that the estimated peak stays within budget, or GenartError."""
    height, width = size
    spatial = sum(1 for uid, op in enumerate(plan.ops) if op in OPS and plan.spatial[uid])
    depth = max((plan.heights[r] for r in plan.roots), default=0)
    live = spatial if grad else min(spatial, 2 * depth + 2 + shared_spatial(plan))
    planes = 2 + _FUDGE * 3 * (live + 1)                 # r, theta, then 3-channel values
    row_bytes = planes * width * k * 4 * k               # one output row = k supersampled rows
    output = n * 3 * height * width * 4 * (2 if grad else 1)
    rows = (budget - output) // row_bytes if budget > output else 0
    if rows < 1:
        need = (output + row_bytes) / 2**30
        raise GenartError(
            f"rendering {n} image(s) of {height}x{width} with antialias {k} needs {need:.1f} GiB,"
            f" budget {budget / 2**30:.1f} GiB; use a smaller --size or --aa")
    return int(min(rows, height))


def render_batch(genomes, size, device, antialias: int = 1, constants=None, *,
                 budget_bytes: int = DEFAULT_BUDGET_BYTES, batched: bool = True,
                 alpha: bool = False, mirror: bool = False) -> torch.Tensor:
    """Render formulas to images (N, 3, H, W) float32 in [0, 1] on `device`.

    Figure genomes (genart.figure) are composited over PLAIN_BACKGROUND; `alpha=True` gives
    (N, 4, H, W) instead: colour and alpha (1 for plain genomes). `mirror`: x -> |x| for every
    formula, images exactly left-right symmetric.

    Args:
        genomes: sequence of Genome.
        size: int (square) or (height, width).
        device: torch device (or its name) to compute on.
        antialias: k; renders k*H x k*W and average-pools k x k.
        constants: optional list of 1-D tensors, one per genome, replacing its numeric
            constants in `constants_of` order; the render is differentiable with respect to them.
        budget_bytes: memory budget; larger renders go in row bands, or raise GenartError.
        batched: evaluate structure-batched (genart.batched: one op per group of same-shape
            nodes across the batch); False runs the per-node interpreter, the reference.
    """
    if alpha or any(map(is_figure, genomes)):
        rgba = _render_rgba(genomes, size, device, antialias, constants, budget_bytes, batched,
                            mirror)
        return rgba if alpha else composite(rgba, PLAIN_BACKGROUND)
    images = _render_plain(genomes, size, device, antialias, constants, budget_bytes, batched,
                           mirror)
    return mirrored(images) if mirror else images


def _render_rgba(genomes, size, device, antialias, constants, budget, batched, mirror):
    """(N, 4, H, W): colour parts and alpha parts rendered in one batch (shared sub-trees once);
    constants split at each figure's colour/alpha boundary (views: gradients reach both)."""
    parts = [figure_parts(g) for g in genomes]
    shaped = [i for i, (_, a) in enumerate(parts) if a is not None]
    batch = [c for c, _ in parts] + [parts[i][1] for i in shaped]
    if constants is not None:
        if len(constants) != len(genomes):
            raise GenartError(f"got {len(constants)} constant tensors for {len(genomes)} genomes")
        cut = [constant_count(c) for c, _ in parts]
        flat = [c.reshape(-1) for c in constants]
        constants = [f[:k] for f, k in zip(flat, cut)] + [flat[i][cut[i]:] for i in shaped]
    images = _render_plain(batch, size, device, antialias, constants, budget, batched, mirror)
    n = len(genomes)
    alpha = torch.ones(n, 1, *images.shape[2:], device=images.device)
    if shaped:
        index = torch.tensor(shaped, device=images.device)
        alpha = alpha.index_copy(0, index, images[n:].mean(1, keepdim=True))
    rgba = torch.cat([images[:n], alpha], 1)
    return mirrored(rgba) if mirror else rgba


def _render_plain(genomes, size, device, antialias, constants, budget_bytes, batched, mirror):
    """render_batch of plain genomes (no figure roots)."""
    height, width = _check_size(size)
    if not isinstance(antialias, int) or not 1 <= antialias <= MAX_ANTIALIAS:
        raise GenartError(f"antialias must be an int in 1..{MAX_ANTIALIAS}, got {antialias!r}")
    device, n, k = torch.device(device), len(genomes), antialias
    grad = constants is not None
    if grad and len(constants) != n:
        raise GenartError(f"got {len(constants)} constant tensors for {n} genomes")
    if batched:
        return render_structured(genomes, (height, width), device, k, constants, budget_bytes,
                                 mirror)
    plan = build_plan(genomes, per_genome_constants=grad)
    band = _band_rows(plan, n, (height, width), k, grad, budget_bytes)
    if log.isEnabledFor(logging.DEBUG):
        log.debug("render %d genomes at %dx%d (aa %d): %d of %d primitive nodes computed, "
                  "%d-row bands", n, height, width, k, plan.computed, plan.internal_total, band)
    if grad:
        for g, (genome, c) in enumerate(zip(genomes, constants)):
            if c.numel() != len(constants_of(genome)):
                raise GenartError(f"genome {g} has {len(constants_of(genome))} constants, "
                                  f"got a tensor of {c.numel()}; use constants_of(genome)")
        parts = [c.reshape(-1).to(device, torch.float32) for c in constants]
        table = torch.cat(parts) if parts else torch.zeros(0, device=device)
    else:
        table = torch.tensor(plan.values, dtype=torch.float32, device=device)
    with intra_op_threads(render_threads(band * k * width * k, device)):
        if grad:
            return _render_differentiable(plan, table, n, (height, width), k, band, mirror)
        out = torch.empty(n, 3, height, width, device=device)   # an ordinary tensor to return
        with torch.inference_mode():                    # lighter dispatch for every op inside
            for r0 in range(0, height, band):
                r1 = min(r0 + band, height)
                coords = coordinates((r0 * k, r1 * k), (height, width), k, device, mirror)
                shape = ((r1 - r0) * k, width * k)
                rows = out.narrow(2, r0, r1 - r0)
                _evaluate(plan, table, coords,
                          lambda g, value: squash_into(rows.narrow(0, g, 1), value, shape, k),
                          in_place=True)
        return out


def _render_differentiable(plan: Plan, table, n: int, size: tuple, k: int, band: int,
                           mirror: bool = False):
    height, width = size
    bands = []
    for r0 in range(0, height, band):
        r1 = min(r0 + band, height)
        coords = coordinates((r0 * k, r1 * k), size, k, table.device, mirror)
        images = [None] * n

        def keep(g, value, shape=((r1 - r0) * k, width * k), rows=r1 - r0):
            images[g] = squash(value, shape, k).expand(1, 3, rows, width)
        _evaluate(plan, table, coords, keep, in_place=False)
        bands.append(torch.cat(images) if images else torch.zeros(0, 3, r1 - r0, width))
    return torch.cat(bands, 2)


def _constants(genome) -> list[float]:
    values = []
    for node in genome:
        if isinstance(node, COLOUR):
            values.extend(float(v) for v in node.value)
        elif isinstance(node, SCALAR):
            values.append(float(node.value))
    return values


def constants_of(genome) -> list[float]:
    """Every numeric constant in tree order, colours flattened to r, g, b."""
    return _constants(genome)


def with_constants(genome, values) -> Genome:
    """A copy of `genome` with its constants replaced by `values` (constants_of order)."""
    values = [float(v) for v in (values.detach().reshape(-1).tolist()
                                 if isinstance(values, torch.Tensor) else values)]
    if len(values) != len(_constants(genome)):
        raise GenartError(f"genome has {len(_constants(genome))} constants, got {len(values)}")
    nodes, it = [], iter(values)
    for node in genome:
        if isinstance(node, COLOUR):
            node = make_constant(Colour(next(it) for _ in range(3)))
        elif isinstance(node, SCALAR):
            node = make_constant(next(it))
        nodes.append(node)
    return type(genome)(nodes)
