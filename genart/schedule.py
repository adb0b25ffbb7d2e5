"""Unique nodes -> groups, each one tensor op over a batch axis (structure-batched evaluation).

A computed node's group is its signature: genome chunk, height, primitive, the result's
channels and pixel axes, and per argument its kind (which terminal; a constant and how many
channels; a computed value, its channels and axes, whole or one channel). So the op count
depends on the formulas' heights and the primitive set, not on the population. Groups run in
signature order (chunk, then height), which is topological; each argument is gathered by
index from the groups that made it (a view when the rows are already in place), constants
from the table. A colour value read on one channel is viewed as (3 B, 1, h, w) and gathered
at 3 row + channel, so an rgb read on one channel costs nothing (it is an alias).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from genart.nodes import (COLOUR_CODE, HSV, OP_NAMES, RGB, SCALAR_CODE, TERMINAL,
                          TERMINAL_COLS, TERMINAL_ROWS, Nodes)
from genart.primitives import TERMINALS


@dataclass
class Arg:
    """How a group reads one argument, row by row."""
    kind: str                          # "terminal", "constant" or "value"
    name: str = ""                     # terminal: x, y, r or theta
    index: torch.Tensor = None         # constant: (B * channels,) indices into the table
    channels: int = 1                  # constant: values per row
    pieces: list = field(default_factory=list)   # value: (producer, one channel, rows as
                                                 # _span gives them, count)
    order: torch.Tensor = None         # value from several producers: rows after the cat


@dataclass
class Group:
    """One op over `size` rows; its result is (size, channels, h or 1, w or 1)."""
    op: str
    size: int
    channels: int
    rows: bool
    cols: bool
    args: list
    hue: torch.Tensor = None           # hsv on one channel: that channel per row (size,)
    frees: list = field(default_factory=list)     # producers whose last reader this is
    roots: list = field(default_factory=list)     # (genomes, rows: as _span gives them,
                                                  # count)


@dataclass
class Schedule:
    groups: list
    leaf_roots: list                   # (Arg of a terminal or constant, genome index)
    n: int


def _shapes(nodes: Nodes):
    """Per id: (alias, channels as computed, rows, cols, resolved source, its channel)."""
    u = len(nodes.code)
    alias = (nodes.code == RGB) & (nodes.pick >= 0)
    channels = np.where(nodes.pick >= 0, 1, nodes.channels)
    term = np.clip(nodes.code - TERMINAL, 0, 3)
    is_term = (nodes.code >= TERMINAL) & (nodes.code < SCALAR_CODE)
    rows, cols = is_term & TERMINAL_ROWS[term], is_term & TERMINAL_COLS[term]
    source, channel = np.arange(u), np.full(u, -1)
    for h in range(1, int(nodes.height.max(initial=0)) + 1):
        ids = np.flatnonzero(nodes.height == h)
        kids = nodes.kids[ids]
        rows[ids] = (np.where(kids >= 0, rows[kids], False)).any(1)
        cols[ids] = (np.where(kids >= 0, cols[kids], False)).any(1)
        a = ids[alias[ids]]
        kid = nodes.kids[a, nodes.pick[a]]
        rows[a], cols[a] = rows[kid], cols[kid]
        wide = channels[kid] == 3
        source[a] = np.where(wide, kid, source[kid])
        channel[a] = np.where(wide, nodes.pick[a], channel[kid])
    return alias, channels, rows, cols, source, channel


def build_schedule(nodes: Nodes, chunk: int) -> Schedule:
    """Groups of the computed nodes, genomes taken `chunk` at a time (tiles stay in cache)."""
    alias, channels, rows, cols, source, channel = _shapes(nodes)
    code = nodes.code
    ids = np.flatnonzero((nodes.read != 0) & (code < TERMINAL) & ~alias)
    kids = nodes.kids[ids]                                          # (G, 3)
    valid = kids >= 0
    k = np.where(valid, kids, 0)
    builder = ((code[ids] == RGB) | (code[ids] == HSV))[:, None]
    need = np.where(builder, np.arange(3), nodes.pick[ids, None])   # channel read per argument
    direct = valid & (channels[k] == 3) & (need >= 0)
    src = np.where(direct, k, source[k])
    sel = np.where(direct, need, channel[k])
    kind = np.where(~valid, 0, np.where(code[src] >= SCALAR_CODE, 2,
                                        np.where(code[src] >= TERMINAL, 1, 3)))
    c_read = np.where((sel >= 0) | (nodes.pick[src] >= 0), 1, nodes.channels[src])
    desc = np.select([kind == 1, kind == 2, kind == 3],
                     [1 + code[src] - TERMINAL, 5 + (c_read == 3),
                      7 + (channels[src] == 3) + 2 * rows[src] + 4 * cols[src] + 8 * (sel >= 0)],
                     0)
    signature = ((nodes.genome[ids] // chunk) << 40 | nodes.height[ids] << 33 | code[ids] << 28
                 | (channels[ids] == 3) << 27 | rows[ids] << 26 | cols[ids] << 25
                 | desc[:, 0] << 20 | desc[:, 1] << 15 | desc[:, 2] << 10)
    _, gid = np.unique(signature, return_inverse=True)
    order = np.argsort(gid, kind="stable")                          # members by group, id order
    starts = np.searchsorted(gid[order], np.arange(gid.max(initial=-1) + 2))
    group_of, row_of = np.full(len(code), -1), np.zeros(len(code), np.int64)
    group_of[ids[order]] = gid[order]
    row_of[ids[order]] = np.arange(len(ids)) - starts[gid[order]]
    flat = np.where(sel >= 0, 3 * row_of[src] + sel, row_of[src])
    producer = np.where(kind == 3, group_of[src], -1)
    start_at = nodes.offset[src] + np.maximum(nodes.pick[src], 0) + np.maximum(sel, 0)
    groups = []
    for g in range(len(starts) - 1):
        members = order[starts[g]:starts[g + 1]]
        u = ids[members[0]]
        args = [_arg(kind[members, j], src[members, j], c_read[members[0], j],
                     start_at[members, j], producer[members, j], flat[members, j], sel[members, j])
                for j in range(3) if kind[members[0], j]]
        hsv_pick = code[u] == HSV and channels[u] == 1
        groups.append(Group(OP_NAMES[code[u]], len(members), int(channels[u]), bool(rows[u]),
                            bool(cols[u]), args,
                            torch.from_numpy(nodes.pick[ids[members]]) if hsv_pick else None))
    last = np.arange(len(groups))                                   # last reader of each group
    np.maximum.at(last, producer[producer >= 0], np.broadcast_to(gid[:, None], producer.shape)
                  [producer >= 0])
    for p, g in enumerate(last.tolist()):
        groups[g].frees.append(p)
    return Schedule(groups, _roots(nodes, groups, group_of, row_of), len(nodes.roots))


def _span(values: np.ndarray):
    """Rows as a view where possible: an int start when consecutive, (start, step) when evenly
    spaced (a sum tree reads every other or every third row), else an index tensor."""
    if len(values) == 1 or (len(values) and (np.diff(values) == 1).all()):
        return int(values[0])
    steps = np.diff(values)
    if len(values) and steps[0] > 1 and (steps == steps[0]).all():
        return int(values[0]), int(steps[0])
    return torch.from_numpy(np.ascontiguousarray(values))


def _arg(kind, src, c_read, start_at, producer, flat, sel) -> Arg:
    if kind[0] == 1:
        return Arg("terminal", name=_terminal_name(src[0]))
    if kind[0] == 2:
        index = (start_at[:, None] + np.arange(c_read)).reshape(-1)
        return Arg("constant", index=torch.from_numpy(index), channels=int(c_read))
    one = bool(sel[0] >= 0)
    if (producer == producer[0]).all():
        return Arg("value", pieces=[(int(producer[0]), one, _span(flat), len(flat))])
    by_producer = np.argsort(producer, kind="stable")
    pieces, bounds = [], np.flatnonzero(np.diff(producer[by_producer])) + 1
    for part in np.split(by_producer, bounds):
        pieces.append((int(producer[part[0]]), one, _span(flat[part]), len(part)))
    inverse = np.empty_like(by_producer)
    inverse[by_producer] = np.arange(len(by_producer))
    return Arg("value", pieces=pieces, order=torch.from_numpy(inverse))


def _terminal_name(uid: int) -> str:
    return TERMINALS[int(uid)]                                      # terminals are ids 0..3


def _roots(nodes: Nodes, groups: list, group_of, row_of) -> list:
    """Attach each computed root to its group; return the roots that are leaves."""
    roots, leaves = nodes.roots, []
    genomes = np.arange(len(roots))
    producer = group_of[roots]
    by_producer = np.argsort(producer, kind="stable")
    bounds = np.flatnonzero(np.diff(producer[by_producer])) + 1
    for part in np.split(by_producer, bounds) if len(roots) else []:
        p = int(producer[part[0]])
        if p >= 0:
            groups[p].roots.append((_span(genomes[part]), _span(row_of[roots[part]]), len(part)))
            continue
        for uid in np.unique(roots[part]).tolist():               # x, y, r, theta, constants
            mine = part[roots[part] == uid]
            if nodes.code[uid] >= SCALAR_CODE:
                width = 3 if nodes.code[uid] == COLOUR_CODE else 1
                index = torch.arange(width) + int(nodes.offset[uid])
                arg = Arg("constant", index=index.repeat(len(mine)), channels=width)
            else:
                arg = Arg("terminal", name=_terminal_name(uid))
            leaves.append((arg, torch.from_numpy(genomes[mine])))
    return leaves
