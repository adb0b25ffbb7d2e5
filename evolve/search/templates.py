"""Class-shaped start formulas (issue 20: objective search from scratch is deceptive).

A template is figure(colour, alpha) formula text built from rotated ellipses over |x| (so it
is bilaterally symmetric with or without --symmetry): each shape's "insideness"
1 − (u/a)² − (v/b)² is positive inside, the alpha is a steep squash of the union (max).
`--template crab` seeds jittered copies into the first population; jitter moves every
constant, so the copies differ in pose, size and colour but keep the layout.
"""
from __future__ import annotations

import math
import random

from genart import Genome, parse

from evolve.search.operators import jitter_constants

TEMPLATES = ("none", "crab")
STEEPNESS = 5.0          # alpha = squash(STEEPNESS · union): a soft edge a few pixels wide


def _ellipse(cx: float, cy: float, a: float, b: float, degrees: float = 0.0) -> str:
    """1 − (u/a)² − (v/b)², (u, v) = (|x| − cx, y − cy) rotated by −degrees."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    dx, dy = f"sub(abs(x), {cx!r})", f"sub(y, {cy!r})"
    u = f"add(mul({c / a!r}, {dx}), mul({s / a!r}, {dy}))"
    v = f"add(mul({-s / b!r}, {dx}), mul({c / b!r}, {dy}))"
    return f"sub(1.0, add(mul({u}, {u}), mul({v}, {v})))"


def _union(shapes: list[str]) -> str:
    if len(shapes) == 1:
        return shapes[0]
    middle = len(shapes) // 2
    return f"max({_union(shapes[:middle])}, {_union(shapes[middle:])})"


def crab_formula() -> str:
    """An oval carapace, two raised claws on arms with a notch between the pincers, and four
    legs a side fanning out and down; orange-red, darker toward the rim and the claw tips."""
    body = _ellipse(0.0, -0.1, 0.42, 0.29)
    eyes = [_ellipse(0.12, 0.2, 0.035, 0.08)]
    arms = [_ellipse(0.42, 0.12, 0.22, 0.06, 50.0), _ellipse(0.52, 0.38, 0.07, 0.14, -10.0)]
    claw = _ellipse(0.5, 0.58, 0.15, 0.12, 0.0)
    notch = _ellipse(0.5, 0.7, 0.035, 0.12, 0.0)               # the gap between the pincers
    pincer = f"min({claw}, mul(-1.0, {notch}))"
    legs = []
    for k, angle in enumerate((15.0, -5.0, -25.0, -45.0)):
        rad = math.radians(angle)
        reach = 0.55 + 0.04 * k
        legs.append(_ellipse(reach * math.cos(rad), -0.1 + reach * math.sin(rad) * 0.9,
                             0.27, 0.04, angle - 10.0))
    alpha = f"mul({STEEPNESS!r}, {_union([body, pincer] + arms + legs + eyes)})"
    shade = "mul(-1.1, mul(r, r))"                            # darker toward the rim
    colour = f"add(colour(1.1, -0.1, -0.7), {shade})"
    return f"figure({colour}, {alpha})"


FORMULAS = {"crab": crab_formula}


def template_population(name: str, n: int, sigma: float = 0.05, *,
                        as_drawn: bool = True) -> list[Genome]:
    """n copies of template `name`: the first as drawn (if `as_drawn`), the rest with every
    constant jittered (relative sigma). Draws from Python's global `random`."""
    if name == "none" or n <= 0:
        return []
    base = parse(FORMULAS[name]())
    copies = [base] if as_drawn else []
    while len(copies) < n:
        (jittered,) = jitter_constants(base, sigma * random.uniform(0.5, 1.5))
        copies.append(jittered)
    return copies
