"""Genomes -> the batch's unique nodes as arrays, built with numpy for a whole population.

The same plan as genart.plan (identical sub-trees hash-consed, the channels each value has
read, a colour value read on one channel computed on that channel), without a Python step per
node: the trees are flattened once; in prefix order a sub-tree ends where the running count
of pending arguments first drops below its start, which one sort and one search find for
every node; identical sub-trees are merged height by height (one sort per height).
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from operator import attrgetter, itemgetter

import numpy as np

from genart.errors import GenartError
from genart.ops import OPS
from genart.primitives import COLOUR, PRIMITIVES, PSET, SCALAR, TERMINALS

OP_NAMES = tuple(OPS)                                    # codes 0..16: primitives
TERMINAL = len(OP_NAMES)                                 # 17..20: x, y, r, theta
SCALAR_CODE, COLOUR_CODE = TERMINAL + len(TERMINALS), TERMINAL + len(TERMINALS) + 1
RGB, HSV = OP_NAMES.index("rgb"), OP_NAMES.index("hsv")
ARITY = np.array([PRIMITIVES[name][1] for name in OP_NAMES] + [0] * (len(TERMINALS) + 2))
TERMINAL_ROWS = np.array([0, 1, 1, 1], bool)            # x varies along columns only, y rows
TERMINAL_COLS = np.array([1, 0, 1, 1], bool)

_KNOWN = sorted((id(PSET.mapping[name]), code) for code, name in
                enumerate(OP_NAMES + TERMINALS))
_KNOWN_IDS = np.array([i for i, _ in _KNOWN], np.int64)
_KNOWN_CODES = np.array([c for _, c in _KNOWN], np.int64)


@dataclass
class Nodes:
    """Unique nodes of a batch, ids in creation order (terminals 0..3, constants, then by
    height); per id arrays. kids of an rgb read on one channel keep all three arguments."""
    code: np.ndarray          # (U,) OP_NAMES index, TERMINAL + t, SCALAR_CODE or COLOUR_CODE
    kids: np.ndarray          # (U, 3) child ids, -1 where none
    height: np.ndarray        # (U,) 0 for leaves
    channels: np.ndarray      # (U,) 1 or 3: the value's channels
    read: np.ndarray          # (U,) bit mask of the channels anything reads
    pick: np.ndarray          # (U,) the one channel computed of a colour value, or -1
    offset: np.ndarray        # (U,) constants: index of their first value in `values`
    genome: np.ndarray        # (U,) the first genome that uses the id
    roots: np.ndarray         # (N,) root id per genome
    values: np.ndarray        # float64 constants of all genomes, tree order, genome by genome
    counts: np.ndarray        # (N,) constants per genome (colours count 3)
    total: int                # primitive nodes before sharing


def flatten(genomes) -> tuple[list, np.ndarray, np.ndarray]:
    """(nodes of all genomes in order, code per node, genome start offsets (N + 1,))."""
    nodes = list(chain.from_iterable(genomes))
    lengths = np.fromiter(map(len, genomes), np.int64, len(genomes))
    starts = np.concatenate(([0], np.cumsum(lengths)))
    ids = np.fromiter(map(id, nodes), np.int64, len(nodes))
    at = np.minimum(np.searchsorted(_KNOWN_IDS, ids), len(_KNOWN_IDS) - 1)
    code = np.where(_KNOWN_IDS[at] == ids, _KNOWN_CODES[at], -1)
    other = np.flatnonzero(code < 0)
    if other.size:                                      # constants, or foreign node objects
        odd = _pick_items(nodes, other)
        types = np.fromiter(map(id, map(type, odd)), np.int64, len(odd))
        code[other] = np.where(types == id(SCALAR), SCALAR_CODE,
                               np.where(types == id(COLOUR), COLOUR_CODE, -1))
        for i in other[code[other] < 0].tolist():
            code[i] = _slow_code(nodes[i])
    return nodes, code, starts


def _pick_items(items: list, where: np.ndarray) -> list:
    picked = itemgetter(*where.tolist())(items)
    return [picked] if len(where) == 1 else list(picked)


def _slow_code(node) -> int:
    """The code of a node that is not one of PSET's own objects (e.g. unpickled)."""
    if isinstance(node, COLOUR):
        return COLOUR_CODE
    if isinstance(node, SCALAR):
        return SCALAR_CODE
    name = node.name if node.arity else node.value
    names = OP_NAMES if node.arity else TERMINALS
    if name not in names:
        raise GenartError(f"unknown node {name!r} in a genome; build genomes with parse()")
    return names.index(name) + (0 if node.arity else TERMINAL)


def _constant_table(nodes: list, code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(values (sum of channels,) float64 in node order, offset per node)."""
    width = np.where(code == SCALAR_CODE, 1, np.where(code == COLOUR_CODE, 3, 0))
    offset = np.cumsum(width) - width
    values = np.empty(int(width.sum()))
    value = attrgetter("value")
    for kind, n in ((SCALAR_CODE, 1), (COLOUR_CODE, 3)):
        where = np.flatnonzero(code == kind)
        if where.size:
            got = np.array(list(map(value, _pick_items(nodes, where))), np.float64)
            values[offset[where, None] + np.arange(n)] = got.reshape(-1, n)
    return values, offset


def _children(code: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """(M, 3) flat index of each node's children, -1 where none; GenartError if a genome is
    not one complete prefix tree."""
    arity, m = ARITY[code], len(code)
    after = np.cumsum(arity - 1)                         # pending - 1 after each node, globally
    before = np.concatenate(([0], after[:-1]))
    lengths = np.diff(starts)
    ok = lengths > 0
    last = np.maximum(starts[1:] - 1, 0)
    base = np.where(starts[:-1] > 0, after[np.maximum(starts[:-1] - 1, 0)], 0)
    ok &= after[last] - base == -1                       # the tree closes on the last node
    if m:                                                # ... and not before it
        closing = np.zeros(m, bool)
        closing[last[lengths > 0]] = True
        low = np.minimum.reduceat(np.where(closing, m, after), np.minimum(starts[:-1], m - 1))
        ok &= (lengths == 1) | (low - base >= 0)
    if not ok.all():
        g = int(np.flatnonzero(~ok)[0])
        raise GenartError(f"genome {g} is not a complete tree; build genomes with parse()")
    # the sub-tree at i ends at the first j >= i with after[j] == before[i] - 1
    key = (after - after.min()) * m + np.arange(m)
    order = np.argsort(key)
    sorted_key = key[order]

    def end(i):
        return order[np.searchsorted(sorted_key, (before[i] - 1 - after.min()) * m + i)]

    kids = np.full((m, 3), -1, np.int64)
    inner = np.flatnonzero(arity > 0)
    kids[inner, 0] = inner + 1
    two = inner[arity[inner] >= 2]
    kids[two, 1] = end(two + 1) + 1
    three = inner[arity[inner] == 3]
    kids[three, 2] = end(kids[three, 1]) + 1
    return kids


def build_nodes(genomes, per_genome_constants: bool) -> Nodes:
    """The unique nodes of a batch; with per_genome_constants every constant is its own node
    (a gradient render tunes them), else equal constants are shared like any sub-tree."""
    nodes, code, starts = flatten(genomes)
    flat_kids = _children(code, starts)
    values, flat_offset = _constant_table(nodes, code)
    uid = np.full(len(code), -1, np.int64)
    leaf = (code >= TERMINAL) & (code < SCALAR_CODE)
    uid[leaf] = code[leaf] - TERMINAL                      # terminals are ids 0..3
    parts = [(np.arange(TERMINAL, SCALAR_CODE), np.full((4, 3), -1), np.full(4, -1))]
    constants = np.flatnonzero(code >= SCALAR_CODE)
    if per_genome_constants:
        ids, reps = np.arange(len(constants)), np.arange(len(constants))
    else:                                                  # by value; -0.0 + 0.0 is 0.0
        cells = flat_offset[constants, None] + np.minimum(np.arange(3), 2 * (code[constants, None]
                                                                        == COLOUR_CODE))
        bits = (values[cells] + 0.0).view(np.int64) if len(values) else cells
        ids, reps = _intern([code[constants]] + [bits[:, i] for i in range(3)])
    uid[constants] = len(parts[0][0]) + ids
    parts.append((code[constants[reps]], np.full((len(reps), 3), -1), constants[reps]))
    pending, next_id = np.flatnonzero(ARITY[code] > 0), 4 + len(reps)
    while pending.size:                                    # one height per pass
        kids = flat_kids[pending]
        known = np.where(kids >= 0, uid[kids], -2)
        ready = (known != -1).all(1)
        if not ready.any():                                # unreachable for checked trees
            raise GenartError("a genome's nodes do not form a tree; build genomes with parse()")
        done, known = pending[ready], known[ready]
        ids, reps = _intern([code[done], known[:, 0], known[:, 1], known[:, 2]])
        uid[done] = next_id + ids
        parts.append((code[done[reps]], known[reps], done[reps]))
        pending, next_id = pending[~ready], next_id + len(reps)
    u_code, u_kids, u_rep = (np.concatenate(p) for p in zip(*parts))
    height = np.repeat(np.arange(len(parts) - 1), [len(p[0]) for p in parts[1:]])
    height = np.concatenate((np.zeros(4, np.int64), height))   # leaves 0, then 1, 2, ...
    genome = np.repeat(np.arange(len(genomes)), np.diff(starts))
    result = Nodes(code=u_code, kids=np.where(u_kids < 0, -1, u_kids), height=height,
                   channels=_channels(u_code, u_kids, height), read=None, pick=None,
                   offset=np.where(u_rep >= 0, flat_offset[u_rep], 0),
                   genome=np.where(u_rep >= 0, genome[u_rep], 0), roots=uid[starts[:-1]],
                   values=values, total=int((code < TERMINAL).sum()),
                   counts=np.diff(np.append(flat_offset[starts[:-1]], len(values))))
    _read_channels(result)
    return result


def _intern(columns: list) -> tuple[np.ndarray, np.ndarray]:
    """(id per row in first-occurrence order, index of each id's first row) of equal rows."""
    n = len(columns[0])
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.lexsort(columns[::-1])                      # stable: equal rows keep their order
    new = np.zeros(n, bool)
    new[0] = True
    for column in columns:
        ordered = column[order]
        new[1:] |= ordered[1:] != ordered[:-1]
    first = order[new]
    rank = np.empty(len(first), np.int64)
    rank[np.argsort(first)] = np.arange(len(first))
    ids = np.empty(n, np.int64)
    ids[order] = rank[np.cumsum(new) - 1]
    return ids, np.sort(first)


def levels(height: np.ndarray):
    """(height, first id, end id) of each height >= 1: ids are grouped by height."""
    top = int(height.max()) if len(height) else 0
    bounds = np.searchsorted(height, np.arange(1, top + 2))
    return [(h, int(bounds[h - 1]), int(bounds[h])) for h in range(1, top + 1)]


def _channels(code: np.ndarray, kids: np.ndarray, height: np.ndarray) -> np.ndarray:
    """Per id 1 or 3: colours, rgb and hsv are 3; any other op has its widest argument's."""
    channels = np.where(code == COLOUR_CODE, 3, 1)
    for _, lo, hi in levels(height):
        k = kids[lo:hi]
        widest = np.where(k >= 0, channels[k], 1).max(1)
        builder = (code[lo:hi] == RGB) | (code[lo:hi] == HSV)
        channels[lo:hi] = np.where(builder, 3, widest)
    return channels


_POPCOUNT = np.array([0, 1, 1, 2, 1, 2, 2, 3])
_LOWEST = np.array([-1, 0, 1, 0, 2, 0, 1, 0])             # index of the lowest set bit


def _read_channels(nodes: Nodes) -> None:
    """Fill nodes.read (consumers first: rgb and hsv read argument i on channel i, an rgb
    read on one channel reads only that argument) and nodes.pick."""
    read = np.zeros(len(nodes.code), np.int64)
    read[nodes.roots] = 0b111
    for _, lo, hi in reversed(levels(nodes.height)):
        mask, kids, code = read[lo:hi], nodes.kids[lo:hi], nodes.code[lo:hi]
        builder = (code == RGB) | (code == HSV)
        one = (code == RGB) & (_POPCOUNT[mask] == 1)       # an alias of one argument's channel
        for bit, position in ((1, 0), (2, 1), (4, 2)):
            plain = ((mask & bit) != 0) & ~builder
            for j in range(3):
                k = kids[plain, j]
                read[k[k >= 0]] |= bit
            read[kids[one & (mask == bit), position]] |= bit
            read[kids[builder & ~one & (mask != 0), position]] |= bit
    nodes.read = read
    nodes.pick = np.where((nodes.channels == 3) & (_POPCOUNT[read] == 1), _LOWEST[read], -1)


def computed_count(nodes: Nodes) -> int:
    """Primitive nodes a render computes (after sharing and skipping unread sub-trees)."""
    return int(((nodes.read != 0) & (nodes.code < TERMINAL)).sum())
