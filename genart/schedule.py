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
                          TERMINAL_COLS, TERMINAL_ROWS, Nodes, levels)
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
    store: tuple = None                # ... or, without gradients, rows `index` of this store
    one: bool = False                  # ... of a colour store read on one channel (3 row + c)
    sources: tuple = None              # (producer, row, one) per row, pieces made when needed

    def from_several(self) -> None:
        """Fill pieces and order from sources: a gather per producer, a cat, a reorder."""
        producer, flat, one = self.sources
        by_producer = np.argsort(producer, kind="stable")
        bounds = np.flatnonzero(np.diff(producer[by_producer])) + 1
        self.pieces = [(int(producer[part[0]]), one, _span(flat[part]), len(part))
                       for part in np.split(by_producer, bounds)]
        inverse = np.empty_like(by_producer)
        inverse[by_producer] = np.arange(len(by_producer))
        self.order, self.sources = torch.from_numpy(inverse), None


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
    store: tuple = None                # (shape class, first row) when a store holds the result
    frees: list = field(default_factory=list)     # producers whose last reader this is
    roots: list = field(default_factory=list)     # (genomes, rows: as _span gives them,
                                                  # count)


@dataclass
class Schedule:
    groups: list
    leaf_roots: list                   # (Arg of a terminal or constant, genome index)
    n: int
    stores: dict = field(default_factory=dict)    # (channels, rows, cols) -> rows it holds


def _shapes(nodes: Nodes):
    """Per id: (alias, channels as computed, rows, cols, resolved source, its channel)."""
    u = len(nodes.code)
    alias = (nodes.code == RGB) & (nodes.pick >= 0)
    channels = np.where(nodes.pick >= 0, 1, nodes.channels)
    term = np.clip(nodes.code - TERMINAL, 0, 3)
    is_term = (nodes.code >= TERMINAL) & (nodes.code < SCALAR_CODE)
    rows, cols = is_term & TERMINAL_ROWS[term], is_term & TERMINAL_COLS[term]
    source, channel = np.arange(u), np.full(u, -1)
    for _, lo, hi in levels(nodes.height):
        ids = np.arange(lo, hi)
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
    members = order                                                 # by group, then id
    kind, src, c_read, start_at, producer, flat, sel = (
        a[members] for a in (kind, src, c_read, start_at, producer, flat, sel))
    first, u = starts[:-1], ids[members]
    spans = [_segment_spans(flat[:, j], producer[:, j], starts) for j in range(3)]
    groups = []
    for g, (a, b) in enumerate(zip(first.tolist(), starts[1:].tolist())):
        args = []
        for j in np.flatnonzero(kind[a]).tolist():
            if kind[a, j] == 1:
                args.append(Arg("terminal", name=_terminal_name(src[a, j])))
            elif kind[a, j] == 2:
                c = int(c_read[a, j])
                index = (start_at[a:b, j, None] + np.arange(c)).reshape(-1)
                args.append(Arg("constant", index=torch.from_numpy(index), channels=c))
            elif spans[j][0][g]:                                    # one producer
                where = _where(spans[j], g, flat[a:b, j])
                args.append(Arg("value", pieces=[(int(producer[a, j]), bool(sel[a, j] >= 0),
                                                  where, b - a)]))
            else:                                                   # from several groups
                one = bool(sel[a, j] >= 0)
                args.append(Arg("value", one=one,
                                sources=(producer[a:b, j], flat[a:b, j], one)))
        op = code[u[a]]
        hue = torch.from_numpy(nodes.pick[u[a:b]]) if op == HSV and channels[u[a]] == 1 else None
        groups.append(Group(OP_NAMES[op], b - a, int(channels[u[a]]), bool(rows[u[a]]),
                            bool(cols[u[a]]), args, hue))
    last = np.arange(len(groups))                                   # last reader of each group
    reads = producer >= 0
    np.maximum.at(last, producer[reads], np.broadcast_to(gid[members, None], reads.shape)[reads])
    for p, g in enumerate(last.tolist()):
        groups[g].frees.append(p)
    schedule = Schedule(groups, _roots(nodes, groups, group_of, row_of), len(nodes.roots))
    _assign_stores(schedule)
    return schedule


def _assign_stores(schedule: Schedule) -> None:
    """Groups read by an argument from several groups keep their result in one buffer per
    shape class (rows in group order), so that argument is one gather (without gradients)."""
    several = [a for g in schedule.groups for a in g.args if a.sources is not None]
    fed = np.unique(np.concatenate([a.sources[0] for a in several])) if several else []
    offset = {}
    for p in fed.tolist() if len(fed) else []:
        group = schedule.groups[p]
        key = (group.channels, group.rows, group.cols)
        start = schedule.stores.get(key, 0)
        group.store, offset[p] = (key, start), start
        schedule.stores[key] = start + group.size
    table = np.zeros(len(schedule.groups), np.int64)
    table[list(offset)] = list(offset.values())
    for arg in several:
        producer, flat, one = arg.sources
        arg.store = schedule.groups[int(producer[0])].store[0]
        arg.index = torch.from_numpy(table[producer] * (3 if one else 1) + flat)


def _span(values: np.ndarray):
    """Rows as a view where possible: an int start when consecutive, (start, step) when evenly
    spaced (a sum tree reads every other or every third row), else an index tensor."""
    if len(values) == 1 or (len(values) and (np.diff(values) == 1).all()):
        return int(values[0])
    steps = np.diff(values)
    if len(values) and steps[0] > 1 and (steps == steps[0]).all():
        return int(values[0]), int(steps[0])
    return torch.from_numpy(np.ascontiguousarray(values))


def _segment_spans(values, producers, bounds):
    """Per segment [bounds[g], bounds[g + 1]) of rows: (one producer?, consecutive or evenly
    spaced?, first row, step), vectorised over all groups."""
    sizes, heads = np.diff(bounds), bounds[:-1]
    one = np.minimum.reduceat(producers, heads) == np.maximum.reduceat(producers, heads)
    steps = np.diff(values)
    step = np.where(sizes > 1, steps[np.minimum(heads, max(len(steps) - 1, 0))]
                    if len(steps) else 1, 1)
    segment = np.repeat(np.arange(len(sizes)), sizes)
    off = (segment[1:] == segment[:-1]) & (steps != step[segment[:-1]])
    count = np.concatenate(([0], np.cumsum(off)))
    regular = count[np.maximum(bounds[1:] - 1, heads)] - count[heads] == 0
    return one, regular & (step >= 1), values[heads], step


def _where(span, g: int, rows: np.ndarray):
    """A group's rows from _segment_spans: a start, (start, step), or an index tensor."""
    _, regular, head, step = span
    if regular[g] and step[g] == 1 or len(rows) == 1:
        return int(head[g])
    if regular[g]:
        return int(head[g]), int(step[g])
    return torch.from_numpy(np.ascontiguousarray(rows))


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
