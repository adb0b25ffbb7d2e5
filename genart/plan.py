"""Genomes -> the plan a batch render follows: unique nodes, channels read, evaluation order.

Hash-cons every node of every genome: key (name, child ids) -> id, so identical sub-trees
across the batch get one id and are computed once per call. Then mark which channels of each
value anything reads (rgb and hsv read one channel of each argument), so a colour sub-tree only
one channel of which is used is computed on that channel alone, and an unread one not at all.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from genart.errors import GenartError
from genart.ops import OPS
from genart.primitives import COLOUR, SCALAR


@dataclass
class Plan:
    """Unique nodes of a batch; ids are topologically ordered (children first)."""
    ops: list = field(default_factory=list)          # per id: primitive name, terminal, or None
    children: list = field(default_factory=list)     # per id: tuple of child ids
    constant: dict = field(default_factory=dict)     # id -> (offset, channels) into the table
    spatial: list = field(default_factory=list)      # per id: depends on pixel position
    heights: list = field(default_factory=list)      # per id: height of its sub-tree
    channels: list = field(default_factory=list)     # per id: 1 or 3, the value's channels
    read: list = field(default_factory=list)         # per id: bit mask of the channels read
    pick: list = field(default_factory=list)         # per id: the one channel computed of a
                                                     # colour value, or None (all of them)
    order: list = field(default_factory=list)        # the ids read, in evaluation order
    roots: list = field(default_factory=list)        # per genome: root id
    values: list = field(default_factory=list)       # the constant table, floats
    internal_total: int = 0                          # primitive nodes before sharing

    @property
    def computed(self) -> int:
        """Primitive nodes a render computes (after sharing and skipping unread sub-trees)."""
        return sum(self.ops[uid] in OPS for uid in self.order)


def build_plan(genomes, per_genome_constants: bool) -> Plan:
    """The plan of a batch; with per_genome_constants every genome keeps its own constants
    (a gradient render tunes them), else equal constants are shared like any sub-tree."""
    plan, table = Plan(), {}

    def intern(key, op, kids, is_spatial, n_channels, height):
        uid = table[key] = len(plan.ops)
        plan.ops.append(op)
        plan.children.append(kids)
        plan.spatial.append(is_spatial)
        plan.heights.append(height)
        plan.channels.append(n_channels)
        return uid

    def intern_primitive(key, name, kids):
        spatial, n_channels, height = False, 1, 0
        for k in kids:
            spatial = spatial or plan.spatial[k]
            n_channels = max(n_channels, plan.channels[k])
            height = max(height, plan.heights[k])
        n_channels = 3 if name in _COLOUR_BUILDERS else n_channels
        return intern(key, name, kids, spatial, n_channels, height + 1)

    for g, genome in enumerate(genomes):
        stack, found, placed = [], [], []       # constants last first; (id, floats from end)
        for node in reversed(genome):           # children before parents
            kind = _KINDS.get(type(node)) or _kind(node)
            if kind is _PRIMITIVE:
                kids = tuple(stack[:-node.arity - 1:-1])
                del stack[-node.arity:]
                key = (node.name,) + kids
                uid = table.get(key)
                stack.append(intern_primitive(key, node.name, kids) if uid is None else uid)
                plan.internal_total += 1
            elif kind is _TERMINAL:
                key = ("t", node.value)
                uid = table.get(key)
                stack.append(intern(key, node.value, (), True, 1, 1) if uid is None else uid)
            else:
                values = tuple(node.value) if kind is _COLOUR else (node.value,)
                found.extend(reversed(values))
                key = ("c", g, len(found)) if per_genome_constants else ("c",) + values
                uid = table.get(key)
                uid = intern(key, None, (), False, len(values), 1) if uid is None else uid
                stack.append(uid)
                placed.append((uid, len(found), len(values)))
        if len(stack) != 1:
            raise GenartError(f"genome {g} is not a complete tree; build genomes with parse()")
        plan.roots.append(stack[0])
        base, total = len(plan.values), len(found)   # tree (prefix) order from here on
        for uid, from_end, size in placed:
            plan.constant.setdefault(uid, (base + total - from_end, size))
        plan.values.extend(reversed(found))
    _pick_channels(plan)
    return plan


_COLOUR_BUILDERS = ("rgb", "hsv")     # 3-channel results; argument i is read on channel i only
_PRIMITIVE, _TERMINAL, _SCALAR, _COLOUR = "primitive", "terminal", "scalar", "colour"
_KINDS = {}                            # node class -> kind, filled on first sight


def _kind(node) -> str:
    kind = (_COLOUR if isinstance(node, COLOUR) else _SCALAR if isinstance(node, SCALAR)
            else _PRIMITIVE if node.arity else _TERMINAL)
    _KINDS[type(node)] = kind
    return kind


def _pick_channels(plan: Plan) -> None:
    """Per id, the channels read of its value (consumers first); store plan.pick and, for an rgb
    computing one channel, its one argument as its children."""
    read = [0] * len(plan.ops)                           # bit mask of channels read
    for root in plan.roots:
        read[root] = 0b111
    for uid in range(len(plan.ops) - 1, -1, -1):
        mask, kids = read[uid], plan.children[uid]
        if not mask or not kids:
            continue
        op = plan.ops[uid]
        if op in _COLOUR_BUILDERS:
            if op == "rgb" and mask.bit_count() == 1:    # one channel: only its argument
                plan.children[uid] = kids = (kids[mask.bit_length() - 1],)
                wanted = (mask,)
            else:
                wanted = (1, 2, 4)                       # argument i on channel i
        else:
            wanted = (mask,) * len(kids)
        for kid, want in zip(kids, wanted):
            read[kid] |= want
    plan.read = read
    plan.order = [uid for uid, mask in enumerate(read) if mask]
    plan.pick = [mask.bit_length() - 1 if plan.channels[uid] == 3 and mask.bit_count() == 1
                 else None for uid, mask in enumerate(read)]


def sharing(genomes) -> tuple[int, int]:
    """(primitive nodes computed, primitive nodes in the batch): the effect of the sub-tree
    cache and of skipping sub-trees nothing reads (an rgb argument whose channel is unused)."""
    plan = build_plan(genomes, per_genome_constants=False)
    return plan.computed, plan.internal_total


def uses(plan: Plan) -> list[int]:
    """Per id: how many times its value is read (as a child, and once per genome it roots)."""
    count = [0] * len(plan.ops)
    for kids, read in zip(plan.children, plan.read):
        for kid in kids if read else ():
            count[kid] += 1
    for root in plan.roots:
        count[root] += 1
    return count


def shared_spatial(plan: Plan) -> int:
    """How many pixel-sized values are read more than once (they outlive their first reader)."""
    return sum(1 for uid, n in enumerate(uses(plan)) if n > 1 and plan.spatial[uid])
