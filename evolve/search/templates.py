"""Class-shaped start formulas (issue 20: objective search from scratch is deceptive).

A template is figure(colour, alpha) formula text built from rotated ellipses over |x| (so it
is bilaterally symmetric with or without --symmetry): each shape's "insideness"
1 − (u/a)² − (v/b)² is positive inside, the alpha is a steep squash of the union (max).
`--template crab` seeds jittered copies into the first population; jitter moves every
constant, so the copies differ in pose, size and colour but keep the layout. A template has
forms (crab: FORMS); under --template-forms n lineage k starts from form k mod n, under 0
lineages after the first from a form drawn at random (drawn_form).
"""
from __future__ import annotations

import math
import random
from dataclasses import dataclass

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


@dataclass(frozen=True)
class CrabForm:
    """The numbers one crab template is drawn from: its body, claws, legs and colour."""
    name: str
    body: tuple[float, float, float] = (-0.1, 0.42, 0.29)    # centre y, half width, half height
    claw: float = 1.0                                        # scale of the arms and pincers
    legs: tuple[float, ...] = (15.0, -5.0, -25.0, -45.0)     # each leg's angle (degrees)
    leg: tuple[float, float, float] = (0.55, 0.27, 0.04)     # first reach, half length, width
    eyes: float = 0.08                                       # half height of the eye stalks
    colour: tuple[float, float, float] = (1.1, -0.1, -0.7)   # before the squash
    shade: float = 1.1                                       # darker toward the rim


# Crabs a person tells apart (issue 21): lineage k starts from FORMS[k % n] under --template-forms
# n: an orange shore crab (the original), a yellow-orange round one with six legs, a red king crab
# with long thin legs, a wide crimson one and a pale sand crab with tall eyes. On seed 64's hour
# the search pulled all of them back to red crabs (docs/measurements.md, wave 12): default n = 1.
FORMS = (CrabForm("shore"),
         CrabForm("round", body=(-0.08, 0.36, 0.33), claw=1.15, legs=(10.0, -15.0, -40.0),
                  leg=(0.5, 0.22, 0.05), colour=(1.4, 0.3, -0.9), shade=0.9),
         CrabForm("king", body=(-0.05, 0.3, 0.27), claw=0.85, legs=(30.0, 5.0, -20.0, -45.0),
                  leg=(0.6, 0.36, 0.03), colour=(1.2, -0.4, -0.5), shade=1.3),
         CrabForm("wide", body=(-0.12, 0.5, 0.24), claw=0.9, legs=(12.0, -8.0, -28.0, -48.0),
                  leg=(0.62, 0.25, 0.045), colour=(0.5, -0.5, -0.3), shade=0.8),
         CrabForm("sand", body=(-0.1, 0.4, 0.3), claw=1.05, legs=(20.0, 0.0, -20.0, -40.0),
                  leg=(0.56, 0.28, 0.035), eyes=0.16, colour=(0.9, 0.6, 0.1), shade=1.0))


def crab_formula(form: CrabForm = FORMS[0]) -> str:
    """An oval carapace, two raised claws on arms with a notch between the pincers, and legs
    fanning out and down a side; the form's colour, darker toward the rim and the claw tips."""
    cy, width, height = form.body
    s = form.claw
    body = _ellipse(0.0, cy, width, height)
    eyes = [_ellipse(0.12, round(cy + 0.3, 6), 0.035, form.eyes)]
    arms = [_ellipse(0.42 * s, 0.12 * s, 0.22 * s, 0.06 * s, 50.0),
            _ellipse(0.52 * s, 0.38 * s, 0.07 * s, 0.14 * s, -10.0)]
    claw = _ellipse(0.5 * s, 0.58 * s, 0.15 * s, 0.12 * s, 0.0)
    notch = _ellipse(0.5 * s, 0.7 * s, 0.035 * s, 0.12 * s, 0.0)   # the gap between the pincers
    pincer = f"min({claw}, mul(-1.0, {notch}))"
    first, length, thickness = form.leg
    legs = []
    for k, angle in enumerate(form.legs):
        rad = math.radians(angle)
        reach = first + 0.04 * k
        legs.append(_ellipse(reach * math.cos(rad), cy + reach * math.sin(rad) * 0.9,
                             length, thickness, angle - 10.0))
    alpha = f"mul({STEEPNESS!r}, {_union([body, pincer] + arms + legs + eyes)})"
    shade = f"mul({-form.shade!r}, mul(r, r))"
    colour = f"add(colour({form.colour[0]!r}, {form.colour[1]!r}, {form.colour[2]!r}), {shade})"
    return f"figure({colour}, {alpha})"


def drawn_form(seed: int) -> CrabForm:
    """A crab form drawn from `seed` within the span of FORMS (body, claws, three to five legs
    fanning down a side, eyes, a red to sand colour): lineages that differ in layout, not only
    in a jitter of one crab's (--template-forms 0)."""
    rng = random.Random(seed)
    u = rng.uniform
    top, bottom = u(5.0, 32.0), u(-50.0, -38.0)
    n = rng.choice((3, 4, 4, 5))
    legs = tuple(round(top + (bottom - top) * k / (n - 1) + u(-4.0, 4.0), 3) for k in range(n))
    return CrabForm(f"drawn-{seed}", body=(u(-0.14, -0.05), u(0.3, 0.52), u(0.22, 0.34)),
                    claw=u(0.8, 1.2), legs=legs, leg=(u(0.48, 0.64), u(0.2, 0.38), u(0.03, 0.055)),
                    eyes=u(0.06, 0.17), colour=(u(0.5, 1.5), u(-0.5, 0.6), u(-0.9, 0.1)),
                    shade=u(0.8, 1.3))


def lineage_form(lineage: int, forms: int, seed: int = 0) -> CrabForm:
    """The crab form lineage `lineage` starts from: FORMS[lineage mod forms], or with forms = 0
    the first form for lineage 0 and one drawn from (run seed, lineage) for every later one."""
    if forms == 0 and lineage > 0:
        return drawn_form(seed * 100_003 + lineage)
    return FORMS[lineage % (forms or 1) % len(FORMS)]


def template_population(name: str, n: int, sigma: float = 0.05, *, as_drawn: bool = True,
                        form: int = 0, forms: int = len(FORMS), seed: int = 0) -> list[Genome]:
    """n copies of template `name`'s form for lineage `form` (lineage_form): the first as drawn
    (if `as_drawn`), the rest with every constant jittered (relative sigma). Jitter draws from
    Python's global `random`; a drawn form from its own (seed, lineage) generator."""
    if name == "none" or n <= 0:
        return []
    base = parse(crab_formula(lineage_form(form, forms, seed)))
    copies = [base] if as_drawn else []
    while len(copies) < n:
        (jittered,) = jitter_constants(base, sigma * random.uniform(0.5, 1.5))
        copies.append(jittered)
    return copies
