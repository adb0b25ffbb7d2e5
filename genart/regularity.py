"""Regularities of a formula: mirror symmetry written into its text, and the constants that
set its spatial frequency.

A run with mirror symmetry renders with `render_batch(mirror=True)` (exact); its records are
written as `mirrored_formula(genome)`, which reads |x| and theta of (|x|, y) in plain
primitives, so the text alone re-renders the symmetric picture anywhere (to float rounding).
"""
from __future__ import annotations

from genart.formula import parse
from genart.primitives import COLOUR, PSET, SCALAR, Genome

# theta of (|x|, y): theta where x > 0, else sign(y)·π − theta, with sign(0) = +1
_MIRRORED_THETA = ("if_pos(x, theta, sub(mul(3.141592653589793, "
                   "if_pos(mul(-1.0, y), -1.0, 1.0)), theta))")
_X, _Y, _R, _THETA = (PSET.mapping[name] for name in ("x", "y", "r", "theta"))
_MUL = PSET.mapping["mul"]


def mirrored_formula(genome) -> Genome:
    """The genome with x read as |x| and theta as theta of (|x|, y): left-right symmetric."""
    theta = list(parse(_MIRRORED_THETA))
    nodes = []
    for node in genome:
        if node is _X:
            nodes.extend([PSET.mapping["abs"], _X])
        elif node is _THETA:
            nodes.extend(theta)
        else:
            nodes.append(node)
    return type(genome)(nodes) if isinstance(genome, Genome) else Genome(nodes)


def coordinate_coefficients(genome) -> list[bool]:
    """Per constant (constants_of order, colours as three): True for a scalar that multiplies
    x, y or r directly (mul(c, x) or mul(x, c)): the constants that set spatial frequency."""
    flags = []
    for i, node in enumerate(genome):
        if isinstance(node, COLOUR):
            flags.extend([False] * 3)
        elif isinstance(node, SCALAR):
            flags.append(_multiplies_coordinate(genome, i))
    return flags


def _multiplies_coordinate(genome, i: int) -> bool:
    """True when node i is an argument of a mul whose other argument is x, y or r."""
    for j in range(i - 1, -1, -1):                 # the parent: the nearest node spanning i
        if genome[j].arity > 0 and genome.searchSubtree(j).stop > i:
            if genome[j] is not _MUL:
                return False
            other = genome[i + 1] if j + 1 == i else genome[j + 1]
            return other is _X or other is _Y or other is _R
    return False
