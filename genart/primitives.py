"""The genome language: DEAP primitive set over pixel coordinates, and random genomes.

A formula maps a pixel's coordinates (x, y, r, theta) to a value that is a scalar or an RGB
triple (Karl Sims' vector expressions, 1991); scalars broadcast against triples. The Python
functions registered here are the *reference semantics* for one pixel (used by DEAP's
`gp.compile`, the bench baseline and the tests); `genart.ops` implements the same functions on
tensors for the renderer.
"""
from __future__ import annotations

import functools
import math
import random

from deap import base, gp

TERMINALS = ("x", "y", "r", "theta")
EPS_DIV = 1e-3          # |b| below this: div and mod leave a unchanged
EPS_SQRT = 1e-12        # keeps d sqrt / da finite at 0
EPS_LOG = 1e-6
NOISE_FREQ = 4.0        # noise lattice cells per formula unit: noise(x, y) shows ~8 cells across


class Colour(tuple):
    """An RGB constant; prints as `colour(r, g, b)`, which our parser reads back exactly."""

    def __repr__(self) -> str:
        return "colour(" + ", ".join(repr(float(v)) for v in self) + ")"


def _scalar_constant() -> float:
    return round(random.uniform(-1.0, 1.0), 4)


def _colour_constant() -> Colour:
    return Colour(round(random.uniform(-1.0, 1.0), 4) for _ in range(3))


# --- one-pixel reference semantics: values are floats or 3-tuples --------------------------

def _lift(f):
    """Apply a float function channel-wise, broadcasting scalars against triples."""
    @functools.wraps(f)
    def lifted(*args):
        if not any(isinstance(a, tuple) for a in args):
            return f(*args)
        triples = [a if isinstance(a, tuple) else (a, a, a) for a in args]
        return tuple(f(*vals) for vals in zip(*triples))
    return lifted


def _channel(a, k):
    return a[k] if isinstance(a, tuple) else a


def _div(a, b):
    return a / (1.0 if abs(b) <= EPS_DIV else b)      # a NaN divisor gives NaN


def _mod(a, b):
    return a % (1.0 if abs(b) <= EPS_DIV else b)


def _permute(n: float) -> float:
    """Gustavson's float permutation of 0..288 (webgl-noise): exact in float32 and float64."""
    return ((34.0 * n + 1.0) * n) % 289.0


def _lattice(i: float, j: float) -> float:
    """Value in [-1, 1) at integer lattice point (i, j); period 289 cells."""
    return _permute(_permute(i % 289.0) + j % 289.0) / 144.5 - 1.0


def _noise(a, b):
    """Value noise with smoothstep fade on a lattice fixed in formula coordinates."""
    a, b = (0.0 if a != a else a), (0.0 if b != b else b)     # NaN -> 0, as torch.nan_to_num
    u = min(max(a * NOISE_FREQ, -1e6), 1e6)
    v = min(max(b * NOISE_FREQ, -1e6), 1e6)
    i, j = math.floor(u), math.floor(v)
    fu, fv = u - i, v - j
    su, sv = fu * fu * (3 - 2 * fu), fv * fv * (3 - 2 * fv)
    top = _lattice(i, j) + su * (_lattice(i + 1, j) - _lattice(i, j))
    bottom = _lattice(i, j + 1) + su * (_lattice(i + 1, j + 1) - _lattice(i, j + 1))
    return top + sv * (bottom - top)


def _rgb(a, b, c):
    return (_channel(a, 0), _channel(b, 1), _channel(c, 2))


def _hsv(h, s, v):
    """HSV -> RGB; inputs and output in formula space [-1, 1]; hue has period 2."""
    h, s, v = _channel(h, 0), _channel(s, 1), _channel(v, 2)
    sat = min(max((s + 1) / 2, 0.0), 1.0)
    val = min(max((v + 1) / 2, 0.0), 1.0)
    out = []
    for n in (5.0, 3.0, 1.0):
        k = (n + 3.0 * h) % 6.0
        out.append(2 * (val - val * sat * min(max(min(k, 4 - k), 0.0), 1.0)) - 1)
    return tuple(out)


PRIMITIVES = {   # name: (one-pixel function, arity)
    "add": (_lift(lambda a, b: a + b), 2),
    "sub": (_lift(lambda a, b: a - b), 2),
    "mul": (_lift(lambda a, b: a * b), 2),
    "div": (_lift(_div), 2),
    "sin": (_lift(lambda a: math.sin(a) if math.isfinite(a) else math.nan), 1),
    "cos": (_lift(lambda a: math.cos(a) if math.isfinite(a) else math.nan), 1),
    "tanh": (_lift(math.tanh), 1),
    "abs": (_lift(abs), 1),
    "sqrt": (_lift(lambda a: math.sqrt(abs(a) + EPS_SQRT)), 1),
    "log": (_lift(lambda a: math.log(abs(a) + EPS_LOG)), 1),
    "min": (_lift(min), 2),
    "max": (_lift(max), 2),
    "mod": (_lift(_mod), 2),
    "if_pos": (_lift(lambda a, b, c: b if a > 0 else c), 3),
    "rgb": (_rgb, 3),
    "hsv": (_hsv, 3),
    "noise": (_lift(_noise), 2),
}


def _build_pset() -> gp.PrimitiveSet:
    pset = gp.PrimitiveSet("genart", len(TERMINALS))
    pset.renameArguments(**{f"ARG{i}": name for i, name in enumerate(TERMINALS)})
    for name, (func, arity) in PRIMITIVES.items():
        pset.addPrimitive(func, arity, name=name)
    pset.addEphemeralConstant("genart_scalar", functools.partial(_scalar_constant))
    pset.addEphemeralConstant("genart_colour", functools.partial(_colour_constant))
    pset.context["colour"] = lambda *v: Colour(v)     # so gp.compile reads colour constants
    return pset


PSET = _build_pset()
SCALAR = PSET.mapping["genart_scalar"]    # Ephemeral classes: node.value is float / Colour
COLOUR = PSET.mapping["genart_colour"]


def make_constant(value):
    """An ephemeral node holding `value` (a float or a Colour), as DEAP would have drawn it."""
    cls = COLOUR if isinstance(value, Colour) else SCALAR
    node = cls.__new__(cls)
    node.value = value if isinstance(value, Colour) else float(value)
    return node


class Fitness(base.Fitness):
    """Single objective, higher is better."""
    weights = (1.0,)


class Genome(gp.PrimitiveTree):
    """A formula tree in DEAP prefix order; `str(genome)` is its text, `.fitness` its score."""

    def __init__(self, content=()):
        super().__init__(content)
        self.fitness = Fitness()


def random_genome(min_depth: int = 2, max_depth: int = 6) -> Genome:
    """Half grow, half full (Koza ramped half-and-half); draws from Python's global `random`."""
    return Genome(gp.genHalfAndHalf(PSET, min_=min_depth, max_=max_depth))


def random_genomes(n: int, seed: int, min_depth: int = 2, max_depth: int = 6) -> list[Genome]:
    """`n` seeded random genomes; the global `random` state is restored afterwards."""
    state = random.getstate()
    try:
        random.seed(seed)
        return [random_genome(min_depth, max_depth) for _ in range(n)]
    finally:
        random.setstate(state)
