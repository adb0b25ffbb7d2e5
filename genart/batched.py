"""Structure-batched rendering: a population's groups (genart.schedule), band by band.

    nodes = build_nodes(genomes)                  # unique nodes, channels read (cached)
    schedule = build_schedule(nodes, chunk)       # one group per signature (cached)
    for each band of rows:                        # bands and genome chunks keep a tile in cache
        for group in schedule.groups:             # chunk, then height: topological
            args = terminals | constants (B, C, 1, 1) | rows gathered from earlier groups
            values[group] = op(*args)             # one tensor op for the whole group
            squash the roots it holds into their images; drop what nothing reads again

A batch's plan is kept for the next render of the same genomes (tuning renders them S times
with new constants), keyed by the genome objects and checked against a snapshot of their
nodes, so a genome changed in place is planned afresh.
"""
from __future__ import annotations

import operator
import threading
from collections import OrderedDict
from dataclasses import replace

import torch

from genart.errors import GenartError
from genart.grid import coordinates, intra_op_threads, render_threads, squash, squash_into
from genart.nodes import build_nodes
from genart.ops import ELEMENTWISE, OPS, hue_offsets
from genart.schedule import Schedule, build_schedule
from genart.tiles import band_rows, genome_chunk, tile_elements, widest_height

CACHED_PLANS = 4
_plans: OrderedDict = OrderedDict()
_lock = threading.Lock()


class Plan:
    """A batch's unique nodes and, per tile shape, its schedule."""

    def __init__(self, genomes, per_genome_constants: bool):
        self.snapshot = [list(g) for g in genomes]       # holds the nodes: their ids stay unique
        self.nodes = build_nodes(genomes, per_genome_constants)
        self.widest, self.schedules = widest_height(self.nodes), {}

    def schedule(self, row_elements: int, tile: int, device: torch.device) -> Schedule:
        """The schedule whose genome chunks fill `tile` elements at one band row, its index
        tensors on `device`."""
        chunk = genome_chunk(self.widest, len(self.snapshot), row_elements, tile)
        if chunk not in self.schedules:
            self.schedules[chunk] = build_schedule(self.nodes, chunk)
        if (chunk, device) not in self.schedules:
            self.schedules[chunk, device] = _on(self.schedules[chunk], device)
        return self.schedules[chunk, device]


def _on(schedule: Schedule, device: torch.device) -> Schedule:
    """A copy of the schedule with its index tensors on device (genome indices stay)."""
    if device.type == "cpu":
        return schedule

    def move(t):
        return t.to(device) if isinstance(t, torch.Tensor) else t

    def moved(arg):                                      # several-group pieces made first
        if arg.sources is not None:
            arg.from_several()
        return replace(arg, index=move(arg.index), order=move(arg.order),
                       pieces=[(p, one, move(where), n) for p, one, where, n in arg.pieces])
    groups = [replace(g, args=[moved(a) for a in g.args], hue=move(g.hue),
                      roots=[(genomes, move(where), n) for genomes, where, n in g.roots])
              for g in schedule.groups]
    return replace(schedule, groups=groups,
                   leaf_roots=[(moved(a), genomes) for a, genomes in schedule.leaf_roots])


def plan_of(genomes, per_genome_constants: bool) -> Plan:
    """The cached plan of these genomes, or a new one (the oldest of CACHED_PLANS dropped)."""
    key = (per_genome_constants, tuple(map(id, genomes)))
    with _lock:
        plan = _plans.get(key)
        if plan is not None and all(map(operator.eq, plan.snapshot, genomes)):
            _plans.move_to_end(key)
            return plan
    plan = Plan(genomes, per_genome_constants)
    with _lock:
        _plans[key] = plan
        while len(_plans) > CACHED_PLANS:
            _plans.popitem(last=False)
    return plan


def _constants(schedule: Schedule, table: torch.Tensor) -> tuple[list, list, list]:
    """Once per render: per group each constant argument (B, C, 1, 1) and the hsv offsets;
    per leaf root its constant value (count, C, 1, 1) or None (a terminal)."""
    device = table.device

    def gathered(arg):
        if arg.kind != "constant":
            return None
        return table.index_select(0, arg.index.to(device)).view(-1, arg.channels, 1, 1)

    per_group = [[gathered(a) for a in group.args] for group in schedule.groups]
    hues = [None if group.hue is None else hue_offsets(group.hue.to(device))
            for group in schedule.groups]
    return per_group, hues, [gathered(arg) for arg, _ in schedule.leaf_roots]


def rows_of(value: torch.Tensor, where, count: int) -> torch.Tensor:
    """`count` rows of value from a start or (start, step) (views), or an index (a copy)."""
    if isinstance(where, int):
        return value if where == 0 and count == value.shape[0] else value.narrow(0, where, count)
    if isinstance(where, tuple):
        start, step = where
        return value[start:start + step * (count - 1) + 1:step]
    return value.index_select(0, where)


def _gather(arg, values: list, dying: set, stores: dict | None):
    """(an argument's rows, whether the op may overwrite them)."""
    if arg.store is not None and stores is not None:
        store = stores[arg.store]
        if arg.one:
            store = store.view(-1, 1, *store.shape[2:])
        return store.index_select(0, arg.index), True
    if arg.sources is not None:
        arg.from_several()
    parts, own = [], True
    for producer, one, where, count in arg.pieces:
        value = values[producer]
        if one:                                          # one channel of a colour: 3 row + c
            value = value.reshape(-1, 1, *value.shape[2:])
        parts.append(rows_of(value, where, count))
        if not isinstance(where, torch.Tensor):          # a view: only if nothing else reads it
            own = own and producer in dying and not one
    if len(parts) == 1:
        return parts[0], own
    return torch.cat(parts).index_select(0, arg.order), True


def _run(schedule: Schedule, prepared: tuple, coords: dict, emit, stores: dict | None) -> None:
    """Every group on one band of rows; emit(genomes, count, rows) for the roots of each.
    With `stores` (no gradients) ops write into dead arguments and store-held results into
    their store."""
    in_place = stores is not None
    constants, hues, leaves = prepared
    values = [None] * len(schedule.groups)
    height, width = coords["r"].shape[2:]
    for (arg, genomes), value in zip(schedule.leaf_roots, leaves):
        value = coords[arg.name] if value is None else value
        emit(genomes, len(genomes), value.expand(len(genomes), *value.shape[1:]))
    for g, group in enumerate(schedule.groups):
        readers = [p for a in group.args for p, *_ in a.pieces]
        dying = {p for p in group.frees if readers.count(p) == 1}
        args, owned = [], []
        for arg, constant in zip(group.args, constants[g]):
            value, own = (coords[arg.name], False) if arg.kind == "terminal" else \
                (constant, False) if arg.kind == "constant" else \
                _gather(arg, values, dying, stores)
            args.append(value)
            owned.append(own)
        shape = (group.size, group.channels, height if group.rows else 1,
                 width if group.cols else 1)
        out = target = None
        if in_place and group.store is not None:
            key, start = group.store
            target = stores[key].narrow(0, start, group.size)
        full = group.size == 1 or any(a.shape[0] == group.size for a in args)
        if in_place and full and group.op in ELEMENTWISE:     # the result has all its rows
            out = target if target is not None else next(
                (a for a, own in zip(args, owned) if own and a.shape == shape), None)
        if hues[g] is not None:
            value = OPS["hsv"](*args, offsets=hues[g])
        elif out is not None:
            value = OPS[group.op](*args, out=out)
        else:
            value = OPS[group.op](*args)
        if target is not None and value is not target:
            value = target.copy_(value)
        if value.shape[0] != group.size:       # every argument was one shared value (aliases)
            value = value.expand(group.size, *value.shape[1:]).contiguous()
        values[g] = value
        for genomes, rows, count in group.roots:
            emit(genomes, count, rows_of(value, rows, count))
        for p in group.frees:
            values[p] = None


def render_structured(genomes, size: tuple, device: torch.device, k: int, constants,
                      budget: int, mirror: bool = False) -> torch.Tensor:
    """render_batch's structure-batched path; arguments already checked by render_batch."""
    (height, width), n, grad = size, len(genomes), constants is not None
    if n == 0:
        return torch.zeros(0, 3, height, width, device=device)
    plan = plan_of(genomes, per_genome_constants=grad)
    tile = tile_elements(device)
    schedule = plan.schedule(width * k * k, tile, device)
    band = band_rows(schedule, n, size, k, grad, budget, tile)
    if grad:
        counts = plan.nodes.counts
        for g, c in enumerate(constants):
            if c.numel() != counts[g]:
                raise GenartError(f"genome {g} has {counts[g]} constants, got a tensor of "
                                  f"{c.numel()}; use constants_of(genome)")
        flat = [c if c.dim() == 1 else c.reshape(-1) for c in constants]   # no op per genome
        table = torch.cat(flat).to(device, torch.float32)
    else:
        table = torch.from_numpy(plan.nodes.values).to(device, torch.float32)
    with intra_op_threads(render_threads(band * k * width * k, device)):
        if grad:
            return _render_differentiable(schedule, table, n, size, k, band, mirror)
        out = torch.empty(n, 3, height, width, device=device)
        with torch.inference_mode():
            prepared, stores = _constants(schedule, table), {}
            for r0 in range(0, height, band):
                r1 = min(r0 + band, height)
                coords = coordinates((r0 * k, r1 * k), size, k, device, mirror)
                rows, shape = out.narrow(2, r0, r1 - r0), ((r1 - r0) * k, width * k)
                if shape not in stores:
                    stores[shape] = {key: torch.empty(count, key[0], shape[0] if key[1] else 1,
                                                      shape[1] if key[2] else 1, device=device)
                                     for key, count in schedule.stores.items()}
                _run(schedule, prepared, coords,
                     lambda genomes, count, value: _write(rows, genomes, count, value, shape, k),
                     stores[shape])
        return out


def _write(rows: torch.Tensor, genomes, count: int, value: torch.Tensor, shape, k) -> None:
    """Squash `value` (count, C, h, w) into the images `genomes` of rows (N, 3, hb, W)."""
    if not isinstance(genomes, torch.Tensor):               # a view of the images
        squash_into(rows_of(rows, genomes, count), value, shape, k)
        return
    target = torch.empty(count, *rows.shape[1:], device=rows.device)
    squash_into(target, value, shape, k)
    rows.index_copy_(0, genomes.to(rows.device), target)


def _render_differentiable(schedule, table, n: int, size: tuple, k: int, band: int,
                           mirror: bool = False):
    (height, width), bands = size, []
    prepared = _constants(schedule, table)       # in the graph once, read by every band
    for r0 in range(0, height, band):
        r1 = min(r0 + band, height)
        coords = coordinates((r0 * k, r1 * k), size, k, table.device, mirror)
        shape, images, order = ((r1 - r0) * k, width * k), [], []

        def keep(genomes, count, value):
            images.append(squash(value, shape, k).expand(count, 3, r1 - r0, width))
            order.append(rows_of(torch.arange(n), genomes, count))
        _run(schedule, prepared, coords, keep, None)
        inverse = torch.empty(n, dtype=torch.int64)
        inverse[torch.cat(order)] = torch.arange(n)
        bands.append(torch.cat(images).index_select(0, inverse.to(table.device)))
    return torch.cat(bands, 2)
