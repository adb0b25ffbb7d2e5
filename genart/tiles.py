"""How a batched render is cut into tiles: genome chunks and row bands.

On a CPU a group's values should stay in cache between the op that makes them and the ops
that read them: each group of a band holds at most TILE_ELEMENTS (chunks of genomes, then
bands of rows); a GPU takes whole bands. Either way the estimated peak stays within the memory
budget, or the render is refused before anything is allocated.
"""
from __future__ import annotations

import numpy as np
import torch

from genart.errors import GenartError
from genart.nodes import TERMINAL, Nodes
from genart.schedule import Schedule

TILE_ELEMENTS = 2**20         # CPU: largest group per tile (4 MiB: measured best of 2^15..2^23)
_FUDGE = 3                    # op temporaries (noise, hsv, div, mod) per result


def tile_elements(device: torch.device) -> int:
    """Largest group per band on `device`: TILE_ELEMENTS on a CPU, unbounded elsewhere."""
    return TILE_ELEMENTS if device.type == "cpu" else 2**62


def widest_height(nodes: Nodes) -> int:
    """Computed nodes per genome at its widest height, averaged over the batch."""
    computed = (nodes.read != 0) & (nodes.code < TERMINAL)
    per_height = np.bincount(nodes.height[computed])
    return max(1, int(np.ceil(per_height.max(initial=1) / max(1, len(nodes.roots)))))


def genome_chunk(widest: int, n: int, row_elements: int, tile: int) -> int:
    """Genomes per chunk so that a group of the widest height (`widest` nodes per genome)
    fills about `tile` elements at one band row of `row_elements`."""
    return int(min(max(1, tile // max(1, row_elements * widest)), max(1, n)))


def band_rows(schedule: Schedule, n: int, size, k: int, grad: bool, budget: int,
               tile: int) -> int:
    """Output rows per band: the largest group of a band stays within `tile` elements and the
    estimated peak within budget (values live from their group to their last reader, stores
    all band long; with gradients every value is kept), or GenartError."""
    height, width = size
    groups = schedule.groups
    per_row, fixed = np.zeros(len(groups)), np.zeros(len(groups))
    for g, group in enumerate(groups):
        elements = group.size * group.channels * (width * k if group.cols else 1)
        (per_row if group.rows else fixed)[g] = elements * (k if group.rows else 1) * 4
    value_args = np.array([sum(a.kind == "value" for a in group.args) for group in groups])
    temps = 1 + value_args + _FUDGE
    output = n * 3 * height * width * 4 * (2 if grad else 1)
    if grad:
        row_peak, fixed_peak = (per_row * temps).sum(), (fixed * temps).sum()
        rows_needed = height
    else:
        last = np.arange(len(groups))
        for g, group in enumerate(groups):
            last[group.frees] = g
        live = []
        for sizes in (per_row, fixed):
            change = np.zeros(len(groups) + 1)
            np.add.at(change, np.arange(len(groups)), sizes)
            np.add.at(change, last + 1, -sizes)
            live.append(np.cumsum(change)[:-1] + sizes * (temps - 1))
        row_peak, fixed_peak = live[0].max(initial=0), live[1].max(initial=0)
        for (channels, rows, cols), count in schedule.stores.items():   # live all band long
            elements = count * channels * (width * k if cols else 1) * 4
            row_peak, fixed_peak = (row_peak + elements * k, fixed_peak) if rows else \
                (row_peak, fixed_peak + elements)
        rows_needed = 1
    rows = (budget - output - fixed_peak) // row_peak if row_peak else height
    if rows < rows_needed:
        need = (output + fixed_peak + row_peak * rows_needed) / 2**30
        raise GenartError(
            f"rendering {n} image(s) of {height}x{width} with antialias {k} needs {need:.1f} GiB,"
            f" budget {budget / 2**30:.1f} GiB; use a smaller --size or --aa")
    widest = max((g.size * g.channels * k * (width * k if g.cols else 1)
                  for g in groups if g.rows), default=1)
    return int(max(1, min(rows, height, tile // widest)))
