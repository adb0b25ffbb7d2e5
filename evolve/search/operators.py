"""Genetic operators: the one place that touches DEAP's toolbox.

Initialisation (ramped half-and-half plus capacity-rich start formulas — sine sums, sine sums on
decorrelated colour axes, CPPN-style units — which give constant tuning many knobs),
tournament selection, leaf-biased subtree crossover, six mutations, and Koza's static limits on
height and node count wrapped around crossover and every mutation. All randomness comes from
Python's global `random` (as DEAP's does), which the run seeds and checkpoints.
"""
from __future__ import annotations

import math
import operator
import random
from dataclasses import dataclass

from deap import base, gp, tools

from genart import (PSET, Genome, constants_of, figure_parts, is_figure, make_figure, parse,
                    random_genome, with_constants)

MUTATIONS = ("subtree", "node", "shrink", "insert", "constant", "jitter")


@dataclass(frozen=True)
class Variation:
    """How offspring are made; see RunConfig for the defaults a run uses."""
    crossover_prob: float = 0.5
    mutation_prob: float = 0.5
    tournament_size: int = 3
    max_height: int = 17
    max_nodes: int = 900
    leaf_prob: float = 0.1              # chance that crossover picks a leaf (Koza: 0.1)
    jitter_sigma: float = 0.08          # relative Gaussian step of the jitter mutation
    mutation_weights: tuple = (1.0, 1.0, 0.5, 0.5, 1.0, 2.0)   # in MUTATIONS order


class Pareto(base.Fitness):
    """Two objectives for NSGA-II: (objective, −residual), both maximised."""
    weights = (1.0, 1.0)


# --- initialisation ----------------------------------------------------------------------------

START_FORMS = ("sines", "decorrelated", "cppn", "figure")
# lucid's colour-correlation square root (ImageNet RGB), columns scaled to the largest's norm:
# latent channel k paints colour DECORRELATED[k]; luminance first, then two weak chroma axes.
DECORRELATED = ((0.5629, 0.5846, 0.5846), (0.1949, 0.0, -0.1949), (0.0433, -0.1083, 0.0650))
_CHANNEL_GAIN = math.sqrt(sum(c[0] ** 2 for c in DECORRELATED))   # a channel's share of a latent


@dataclass(frozen=True)
class Start:
    """The first population (and explore's fresh genomes): a `share` of capacity-rich formulas
    of one `form`, the rest ramped half-and-half random trees."""
    share: float = 0.5
    form: str = "sines"                 # sines | decorrelated | cppn (see START_FORMS)
    terms: int = 12                     # sines per channel (or latent); a cppn's hidden units
    frequency: float = 12.0             # std of their x, y, r coefficients
    amplitude: float = 2.5              # std of each channel's value before the tanh squash
    min_depth: int = 2
    max_depth: int = 6


def _linear(frequency: float, spread: float) -> str:
    """b·x + c·y + d·r + e, with b, c, d ~ N(0, frequency) and e ~ U(−spread, spread)."""
    b, c, d = (random.gauss(0.0, frequency) for _ in range(3))
    offset = random.uniform(-spread, spread)
    return f"add(add(add(mul({b!r}, x), mul({c!r}, y)), mul({d!r}, r)), {offset!r})"


def _balanced_sum(items: list[str]) -> str:        # a balanced tree keeps the height ~log2(n)
    if len(items) == 1:
        return items[0]
    middle = len(items) // 2
    return f"add({_balanced_sum(items[:middle])}, {_balanced_sum(items[middle:])})"


def _sine_sum(terms: int, frequency: float, amplitude: float) -> str:
    return _balanced_sum([f"mul({random.gauss(0.0, amplitude / math.sqrt(terms))!r}, "
                          f"sin({_linear(frequency, math.pi)}))"
                          for _ in range(terms)])


def _colour_text(values) -> str:
    return "colour(" + ", ".join(repr(round(v, 4)) for v in values) + ")"


def _mixed(latents: list[str], scale: float) -> str:
    """Σ_k colour_k · latent_k, colour_k = scale · z_k · DECORRELATED[k mod 3], z_k ~ N(0, 1)."""
    terms = []
    for k, latent in enumerate(latents):
        axis, z = DECORRELATED[k % 3], random.gauss(0.0, 1.0)
        terms.append(f"mul({_colour_text(scale * z * a for a in axis)}, {latent})")
    return _balanced_sum(terms)


def sine_sum_formula(terms: int, frequency: float = 3.0, amplitude: float = 0.6) -> str:
    """rgb(Σ_k a_k·sin(b_k·x + c_k·y + d_k·r + e_k), …) with `terms` sines per channel.

    Many constants in a smooth, capacity-rich form: gradient tuning climbs these well.
    Draws its constants from Python's global `random`.
    """
    channels = [_sine_sum(terms, frequency, amplitude) for _ in range(3)]
    return f"rgb({channels[0]}, {channels[1]}, {channels[2]})"


def decorrelated_formula(terms: int, frequency: float = 3.0, amplitude: float = 0.6) -> str:
    """Three scalar sine sums painted along lucid's decorrelated colour axes: mostly
    luminance structure with weak chroma, as in photographs; the colours stay tunable."""
    latents = [_sine_sum(terms, frequency, 1.0) for _ in range(3)]
    return _mixed(latents, amplitude / _CHANNEL_GAIN)


def cppn_formula(units: int, frequency: float = 3.0, amplitude: float = 0.6) -> str:
    """A CPPN-style net (Innovation Engine): Σ_j colour_j · act_j(w_j·(x, y, r) + b_j), act
    drawn from tanh, sin and a gaussian-like bump 1 − tanh(u²); colours on decorrelated axes."""
    hidden = []
    for _ in range(units):
        u = _linear(frequency, 2.0)
        hidden.append(random.choice((f"tanh({u})", f"sin({u})", f"sub(1.0, tanh(mul({u}, {u})))")))
    return _mixed(hidden, amplitude / (_CHANNEL_GAIN * math.sqrt(0.5 * units)))


def figure_formula(units: int, frequency: float = 3.0, amplitude: float = 0.6) -> str:
    """figure(colour, alpha): a cppn for the colour and one for the alpha, the alpha's added to
    a centred disc (4·(0.55 − r): ~30 % coverage) so the start is a bounded, lumpy figure."""
    colour = cppn_formula(units, frequency, amplitude)
    hidden = []
    for _ in range(units):
        u = _linear(frequency, 2.0)
        unit = random.choice((f"tanh({u})", f"sin({u})", f"sub(1.0, tanh(mul({u}, {u})))"))
        hidden.append(f"mul({random.gauss(0.0, 1.5 / math.sqrt(units))!r}, {unit})")
    return f"figure({colour}, add(mul(4.0, sub(0.55, r)), {_balanced_sum(hidden)}))"


FORMULAS = {"sines": sine_sum_formula, "decorrelated": decorrelated_formula, "cppn": cppn_formula,
            "figure": figure_formula}


def initial_population(n: int, start: Start = Start()) -> list[Genome]:
    """Ramped half-and-half random trees, and a `start.share` of `start.form` formulas."""
    if start.form not in FORMULAS:
        raise ValueError(f"unknown start form {start.form!r}; one of {', '.join(START_FORMS)}")
    rich = round(n * start.share) if start.terms > 0 else 0
    make = FORMULAS[start.form]
    population = [parse(make(start.terms, start.frequency, start.amplitude)) for _ in range(rich)]
    population += [random_genome(start.min_depth, start.max_depth) for _ in range(n - rich)]
    return population


# --- mutations DEAP lacks ------------------------------------------------------------------------

def jitter_constants(genome: Genome, sigma: float) -> tuple[Genome]:
    """Gaussian jitter of every constant and colour (Sims 1991, "jitter a scalar/vector")."""
    values = constants_of(genome)
    if not values:
        return (genome,)
    moved = [v + random.gauss(0.0, sigma * (abs(v) + 0.1)) for v in values]
    return (with_constants(genome, moved),)


# NEAT-style growth: smooth, mirror-symmetric coordinate features a new term is weighted onto
GROW_FEATURES = ("abs(x)", "y", "r", "mul(y, y)", "mul(abs(x), y)")


def grown(genome: Genome, terms: int, seed: int) -> Genome:
    """Complexification that keeps the picture: `terms` new terms at zero weight — the first
    colour(0, 0, 0)·f on the colour formula's root, the rest 0·f added at random nodes of the
    alpha (of the whole formula when it is no figure), each f one of GROW_FEATURES — so gradient
    tuning has new constants to climb with. Draws only from its own `seed`."""
    rng = random.Random(seed)
    colour, alpha = figure_parts(genome)
    if terms >= 1:
        colour = parse(f"add({colour}, mul(colour(0.0, 0.0, 0.0), {rng.choice(GROW_FEATURES)}))")
    shape = colour if alpha is None else alpha
    for _ in range(terms - 1):
        sites = [i for i, node in enumerate(shape) if node.arity > 0] or [0]
        site = rng.choice(sites)
        span = shape.searchSubtree(site)
        term = parse(f"add({Genome(shape[span])}, mul(0.0, {rng.choice(GROW_FEATURES)}))")
        shape = Genome(shape[:site] + list(term) + shape[span.stop:])
    return shape if alpha is None else make_figure(colour, shape)


# --- the toolbox ---------------------------------------------------------------------------------

def make_toolbox(variation: Variation) -> base.Toolbox:
    """Crossover and mutations, each capped by static height and node-count limits (Koza)."""
    toolbox = base.Toolbox()
    toolbox.register("new_subtree", gp.genHalfAndHalf, pset=PSET, min_=0, max_=2)
    toolbox.register("mate", gp.cxOnePointLeafBiased, termpb=variation.leaf_prob)
    toolbox.register("subtree", gp.mutUniform, expr=toolbox.new_subtree, pset=PSET)
    toolbox.register("node", gp.mutNodeReplacement, pset=PSET)
    toolbox.register("shrink", gp.mutShrink)
    toolbox.register("insert", gp.mutInsert, pset=PSET)
    toolbox.register("constant", gp.mutEphemeral, mode="one")
    toolbox.register("jitter", jitter_constants, sigma=variation.jitter_sigma)
    for name in ("mate",) + MUTATIONS:
        toolbox.decorate(name, gp.staticLimit(operator.attrgetter("height"), variation.max_height))
        toolbox.decorate(name, gp.staticLimit(len, variation.max_nodes))
    toolbox.register("select", tools.selTournament, tournsize=variation.tournament_size)
    return toolbox


def clone(genome: Genome) -> Genome:
    """A copy that shares nothing mutable (fitness and score parts included)."""
    copy = Genome(genome)
    copy.fitness = type(genome.fitness)()
    if genome.fitness.valid:
        copy.fitness.values = genome.fitness.values
    copy.parts = dict(getattr(genome, "parts", {}))
    return copy


def mutate(toolbox: base.Toolbox, genome: Genome, variation: Variation) -> Genome:
    """One mutation drawn by `variation.mutation_weights`; a figure's colour or alpha formula
    (one at random) is mutated below its root, which stays `figure`. (Crossover never picks
    a root, so it keeps figures as they are.)"""
    name = random.choices(MUTATIONS, weights=variation.mutation_weights)[0]
    if not is_figure(genome):
        (child,) = getattr(toolbox, name)(genome)
        return child
    parts = list(figure_parts(genome))
    k = random.randrange(2)
    (parts[k],) = getattr(toolbox, name)(parts[k])
    child = make_figure(*parts)
    if len(child) > variation.max_nodes or child.height > variation.max_height:
        child = make_figure(*figure_parts(genome))              # the static limit, as Koza's
    child.fitness = type(genome.fitness)()
    return child


def vary(parents: list[Genome], toolbox: base.Toolbox, variation: Variation) -> list[Genome]:
    """Offspring of `parents` (DEAP's varAnd): pairwise crossover, then mutation.

    Children that an operator touched lose their fitness; untouched copies keep it.
    """
    offspring = [clone(p) for p in parents]
    for i in range(1, len(offspring), 2):
        if random.random() < variation.crossover_prob:
            offspring[i - 1], offspring[i] = toolbox.mate(offspring[i - 1], offspring[i])
            _invalidate(offspring[i - 1])
            _invalidate(offspring[i])
    for i, child in enumerate(offspring):
        if random.random() < variation.mutation_prob:
            offspring[i] = mutate(toolbox, child, variation)
            _invalidate(offspring[i])
    return offspring


def _invalidate(genome: Genome) -> None:
    if genome.fitness.valid:
        del genome.fitness.values
    genome.parts = {}


def select_parents(population: list[Genome], k: int, toolbox: base.Toolbox,
                   pareto: bool) -> list[Genome]:
    """Tournament on fitness, or NSGA-II's dominance/crowding tournament in Pareto mode."""
    if not pareto:
        return toolbox.select(population, k)
    ranked = tools.selNSGA2(population, len(population))      # assigns crowding distances
    whole = min(k, len(ranked)) - min(k, len(ranked)) % 4
    chosen = tools.selTournamentDCD(ranked, whole) if whole else []
    return chosen + tools.selRandom(ranked, k - len(chosen))
