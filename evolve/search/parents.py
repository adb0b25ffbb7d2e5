"""A first population bred from chosen parents (`genart evolve --from`): Picbreeder's step.

The parents come first, once each; every other slot is a child of one operator on them — a
crossover of two parents drawn at random (the same one twice when there is one) or one
mutation of a parent — so the whole first generation descends from what the person picked.
A `fresh` share of the slots may instead hold new start genomes, as a run without parents has.
A new lineage (--harvest-breed) is bred the same way from the pictures harvested so far: their
children are stepping stones to other crabs, the harvested pictures themselves left out.

    P ← parents[:N];  while |P| < N:  P ← P ∪ {mate(a, b) or mutate(a)},  a, b ~ parents
"""
from __future__ import annotations

import random
from typing import Callable

from deap import base

from genart import Genome, parse

from evolve.search import operators
from evolve.search.operators import Start, Variation, clone
from evolve.search.settings import RunConfig
from evolve.search.templates import template_population

TRIES = 8          # draws per slot before a repeat of a formula already held is accepted
APART_TRIES = 32   # mutations of a lineage's bred child before a twin of a harvest is kept


def first_population(config: RunConfig, toolbox: base.Toolbox, variation: Variation, *,
                     as_drawn: bool = True, lineage: int = 0) -> list[Genome]:
    """A run's generation 0 (or lineage `lineage`'s): bred from `config.parents` when it has
    some (--from), else the start population (random trees and start-form formulas); a
    --template share replaces its last slots with copies of the template's form for the lineage
    (templates.lineage_form), the first as drawn if `as_drawn`."""
    if not config.parents:
        population = operators.initial_population(config.population, config.start())
        copies = template_population(config.template, template_slots(config), as_drawn=as_drawn,
                                     form=lineage, forms=config.template_forms, seed=config.seed)
        return population[:len(population) - len(copies)] + copies
    return bred_population(config.population, [parse(f) for f in config.parents], toolbox,
                           variation, fresh=config.fresh_share, start=config.start())


def lineage_population(config: RunConfig, toolbox: base.Toolbox, variation: Variation,
                       harvested: list[str], apart: Callable[[Genome], bool],
                       lineage: int = 0) -> list[Genome]:
    """Lineage `lineage`'s population: drawn as the first one was (template copies all jittered),
    its first --harvest-breed share of slots (never the template copies) children of the
    harvested formulas instead, each mutated again (up to APART_TRIES times) until its picture
    is `apart` from theirs: one mutation of a crab mostly draws the same crab."""
    population = first_population(config, toolbox, variation, as_drawn=False, lineage=lineage)
    room = len(population) - template_slots(config)
    k = min(round(config.harvest_breed * config.population), room) if harvested else 0
    parents, held = [parse(f) for f in harvested], set(harvested)
    children = []
    for _ in range(k):
        child = _new_child(parents, toolbox, variation, held)
        for _ in range(APART_TRIES):
            if apart(child):
                break
            child = _unscored(operators.mutate(toolbox, child, variation))
        children.append(child)
        held.add(str(child))
    return children + population[k:]


def template_slots(config: RunConfig) -> int:
    """How many of generation 0's last slots hold --template copies (none when bred --from)."""
    if config.parents or config.template == "none":
        return 0
    return round(config.population * config.template_share)


def bred_population(n: int, parents: list[Genome], toolbox: base.Toolbox,
                    variation: Variation, *, fresh: float = 0.0,
                    start: Start = Start()) -> list[Genome]:
    """n genomes: the distinct parents, then their crossovers and mutants (a `fresh` share of
    the n drawn as new start genomes instead). Draws from Python's global `random`."""
    if not parents:
        raise ValueError("bred_population needs at least one parent")
    population, held = [], set()
    for parent in parents:
        if str(parent) not in held and len(population) < n:
            population.append(clone(parent))
            held.add(str(parent))
    new = min(round(n * fresh), n - len(population))
    population += operators.initial_population(new, start) if new else []
    while len(population) < n:
        child = _new_child(parents, toolbox, variation, held)
        population.append(child)
        held.add(str(child))
    return population


def _new_child(parents: list[Genome], toolbox: base.Toolbox, variation: Variation,
               held: set[str]) -> Genome:
    """One crossover or one mutation of the parents, by the run's crossover/mutation odds;
    redrawn up to TRIES times while it repeats a formula already held."""
    cross = variation.crossover_prob / max(variation.crossover_prob + variation.mutation_prob,
                                           1e-9)
    for _ in range(TRIES):
        if random.random() < cross:
            first, second = (clone(random.choice(parents)) for _ in range(2))
            child = random.choice(toolbox.mate(first, second))
        else:
            child = operators.mutate(toolbox, clone(random.choice(parents)), variation)
        if str(child) not in held:
            break
    return _unscored(child)


def _unscored(genome: Genome) -> Genome:
    """A child without the fitness and score parts its parent's copy carried."""
    fresh = Genome(genome)
    fresh.parts = {}
    return fresh
