"""A night's crabs (issue 21): pictures harvested at the robust bar, each polished through its
constants before its record and again in later rounds while the night goes on.

No wall clock and no global RNG decide anything here: a resumed run harvests and polishes
where an uninterrupted one does.
"""
from __future__ import annotations

import logging

from genart import parse

from evolve.runfolder.constant_polish import ConstantPolisher, polished_harvest
from evolve.runfolder.judge import past_screen, screen
from evolve.runfolder.records import write_record
from evolve.search.loop import assign, scalar
from evolve.search.operators import grown
from evolve.search.robust import drawn_genome

log = logging.getLogger(__name__)
ROUND_EVERY = 3       # generations between polish rounds (when nothing was harvested) while few
                      # crabs are in hand: each is a 40-step polish, about half a 256-px
                      # generation on two CPU cores
ROUND_RAMP = 4        # every ROUND_RAMP harvests in hand take a generation off that gap, to 1
ROUND_DRAW = 1000     # round k of harvest i polishes under draw k·ROUND_DRAW + i (first: i)
GROW_AFTER = 2        # --harvest-grow: rounds in a row not kept before a round polishes it grown


def harvest_at_bar(session) -> bool:
    """--harvest: the best, then this generation's population from its leader down, each formula
    once, held against the robust bar; the first to meet it, apart from every earlier harvest,
    is harvested (--harvest-polish: polished first, kept apart too; one not the best gets its record
    now) and the next step starts a new lineage. Selection sees each genome on a few random
    views, so its order is noisy: the best ever is often a lucky draw while a lower member
    already holds the bar. The bar's first screen runs on all of them in one batch. True when
    one was harvested."""
    evolution, config, judge = session.evolution, session.config, session.judge
    if not config.harvest or judge is None:
        return False
    members, portfolio = sorted(evolution.population, key=scalar, reverse=True), evolution.portfolio
    candidates = {}                                         # drawn text → (genome, drawn)
    for genome in [evolution.best] + members:
        drawn = drawn_genome(config, genome)
        if str(drawn) not in candidates and not portfolio.checked_before(str(drawn)):
            candidates[str(drawn)] = genome, drawn
    fresh = []
    apart = portfolio.apart_all([genome for genome, _ in candidates.values()])
    for (text, (genome, drawn)), new in zip(candidates.items(), apart):
        if new:
            fresh.append((genome, drawn))
        else:
            portfolio.mark_checked(text)               # a twin of a harvest stays one
    passed = screen(judge, config, [d for _, d in fresh], evolution.evaluator.device)
    for (genome, drawn), screened in zip(fresh, passed):
        portfolio.mark_checked(str(drawn))
        if screened and past_screen(judge, config, drawn, evolution.evaluator.device):
            index = len(portfolio.harvests)
            if config.harvest_polish > 0:            # recorded polished, or as found
                polished = polished_harvest(polisher(session), judge, genome, draw=index,
                                            should_stop=evolution.evaluator.should_stop,
                                            apart=portfolio.apart, harvest=index, round=1)
                if polished is not None:
                    genome, drawn = polished, drawn_genome(config, polished)
            portfolio.harvest(str(drawn), evolution.generation, form=str(genome),
                              fitness=fixed_fitness(genome))
            if genome is not evolution.best:      # its own record; the best's record mark stays
                write_record(session, genome, best_path=False)
            return True
    return False


def polish_round(session) -> bool:
    """--harvest-rounds: every round_every-th generation, a harvest (Portfolio.due_round: by
    turns the one with the fewest rounds and the fittest) is polished once more under views of
    its own; kept when the run's networks score it no lower on the fixed views and it still
    meets the bar and is no twin of another harvest (polish must not merge two crabs into one),
    it is recorded anew (its `polish` says which harvest and round) and twins are judged
    against it from then on. The judge's bar is the harvest's; nothing else of the
    judge is consulted. --harvest-grow: a harvest whose last GROW_AFTER rounds were not kept is
    polished grown (operators.grown: the same picture with new constants). True when kept."""
    evolution, config = session.evolution, session.config
    portfolio = evolution.portfolio
    if (config.harvest_rounds == 1 or config.harvest_polish <= 0 or session.judge is None
            or evolution.generation % round_every(len(portfolio.harvests))):
        return False
    index = portfolio.due_round(config.harvest_rounds)
    if index is None:
        return False
    harvest = portfolio.harvests[index]
    draw = harvest.rounds * ROUND_DRAW + index
    genome = parse(harvest.form)
    grow = config.harvest_grow if harvest.misses >= GROW_AFTER else 0
    if grow:                                   # the same picture, with new constants to tune
        genome = grown(genome, grow, seed=draw)
    genome.parts = {}
    polished = polished_harvest(polisher(session), session.judge, genome, draw=draw,
                                should_stop=evolution.evaluator.should_stop,
                                apart=lambda g: portfolio.apart_all([g], besides=index)[0],
                                harvest=index, round=harvest.rounds + 1, grown=grow)
    if polished is None:
        portfolio.polished_round(index, fixed_fitness(genome))
        log.info("harvest %d, round %d: %s", index, harvest.rounds, genome.parts["polish"])
        return False
    polish = polished.parts["polish"]
    assign([polished], evolution.evaluator([polished]), config.pareto)   # this generation's views
    polished.parts["polish"] = polish
    portfolio.polished_round(index, fixed_fitness(polished), str(drawn_genome(config, polished)),
                             str(polished))
    write_record(session, polished, best_path=False)
    return True


def round_every(harvests: int) -> int:
    """Generations between polish rounds with `harvests` in hand: every third while there are
    few, every generation from 8 on, so each harvest's turns do not thin as the night's
    portfolio grows and its later hours go to raising the crabs it holds."""
    return max(1, ROUND_EVERY - harvests // ROUND_RAMP)


def fixed_fitness(genome) -> float | None:
    """A harvest's fitness on the polish's fixed views, from its `polish` part: the polished
    formula's when it was kept at the bar, else the formula's as found (None: not polished)."""
    info = genome.parts.get("polish")
    if info is None:
        return None
    return info["fixed_fitness_after" if info["at_bar"] else "fixed_fitness_before"]


def polisher(session) -> ConstantPolisher:
    """The run's ConstantPolisher (--harvest-polish steps at the scoring size), made once."""
    if session.polisher is None:
        session.polisher = ConstantPolisher(session.config, session.evolution.evaluator.device,
                                            steps=session.config.harvest_polish,
                                            tune_size=session.config.size)
    return session.polisher
