"""The generation loop: ask → render the whole batch → score the whole batch → tell.

Reusable parts: `Evaluator` (genomes → Scores, duplicates scored once), `Evolution` (population,
hall of fame and one `step()`; its whole state is JSON), and `run` which drives an Evolution in a
RunDir with budgets, records, checkpoints, a gallery and a progress callback.

    P ← init(N); score(P)
    repeat:  O ← elites ∪ tune(top of P) ∪ vary(select(P));  score(O without fitness);  P ← O
             (Pareto: P ← NSGA-II(P ∪ O))           — Koza 1992; Deb et al. 2002 for NSGA-II
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

import torch
from deap import tools

from genart import Genome, constants_of, parse, render_batch
from scorers import (EnsembleObjective, Naturalness, Scores, class_probabilities, score_population,
                     view_probabilities)
from scorers.population import default_chunk

from evolve.search import operators
from evolve.search.emitter import climb_cells
from evolve.search.operators import Pareto, Variation, clone
from evolve.search.parents import first_population, lineage_population, template_slots
from evolve.search.portfolio import Portfolio
from evolve.search.robust import is_robust, view_seed
from evolve.search.rng import rng_states, seed_everything, set_rng_states
from evolve.search.settings import RunConfig
from evolve.search.stopping import abandon_if_asked, in_slices, never
from evolve.search.tuning import CellObjective, tune_constants

PARTS = ("fitness", "objective", "residual", "penalty", "top_class", "top_prob", "target_prob")


class Evaluator:
    """The work a search hands out, in batches: genomes → Scores, → every class's probability,
    → tuned constants. In-process here; `evolve.backends` runs the same on Ray workers."""

    def __init__(self, objective, naturalness: Naturalness, *, size: int, device: torch.device,
                 chunk_size: int | None = None, model=None,   # None: scorers' default
                 tune_view_size: int = 0,                      # 0: each network's own size
                 tune_views: int = 0,                          # 0: the generation's view count
                 render_options: dict | None = None, max_frequency: float = 0.0,
                 tune_turns: bool = False):                   # one network per Adam step
        self.objective, self.naturalness = objective, naturalness
        self.tune_turns = tune_turns
        self.render_options = dict(render_options or {})   # alpha (figures), mirror (symmetry)
        self.max_frequency = max_frequency                 # tuning's clamp on x, y, r factors
        self.size, self.device, self.chunk_size = size, device, chunk_size
        self.tune_view_size, self.tune_views = tune_view_size, tune_views
        self.model = model if model is not None else getattr(objective, "model", None)
        self.views_seed = 0
        self.should_stop = never   # the driver's stop request, looked at between Adam steps and
                                   # scoring chunks (evolve.search.stopping)

    def use_views(self, seed: int) -> None:
        """Score and tune under the views drawn from seed (one draw per generation; an objective
        without views ignores it). Tuning redraws per Adam step from seeds derived from it."""
        self.views_seed = seed
        if hasattr(self.objective, "redrawn"):
            self.objective = self.objective.redrawn(seed)

    @property
    def redraws(self) -> bool:
        """True when fitness depends on the generation's views (so nothing scored is reused)."""
        views = getattr(self.objective, "views", None)
        return views is not None and views.count > 0

    def render(self, genomes: list[Genome]) -> torch.Tensor:
        """(N, 3, H, W) in one call, so sub-trees shared across the batch are computed once."""
        return render_batch(genomes, self.size, self.device, **self.render_options)

    def __call__(self, genomes: list[Genome]) -> Scores:
        texts = [str(g) for g in genomes]
        slot: dict[str, int] = {}
        unique = []
        for text, genome in zip(texts, genomes):
            if text not in slot:
                slot[text] = len(unique)
                unique.append(genome)
        index = torch.tensor([slot[t] for t in texts], dtype=torch.long)
        with torch.inference_mode():
            images = self.render(unique)

        def score(part):
            scores = score_population(part, self.objective, self.naturalness,
                                      chunk_size=self.chunk_size)
            return tuple(getattr(scores, name) for name in PARTS)
        scores = in_slices(images, self._chunk(self.chunk_size, images), score, self.should_stop)
        return Scores(**{name: values[index] for name, values in zip(PARTS, scores)})

    def probabilities(self, genomes: list[Genome]) -> tuple[torch.Tensor, torch.Tensor]:
        """(probabilities (N, 1000), residual (N,)) of distinct genomes: explore's batch."""
        with torch.no_grad():
            images = self.render(genomes)                              # (N, 3, H, W)
        if isinstance(self.objective, EnsembleObjective):    # robust explore: views × networks
            return in_slices(images, self._chunk(self.chunk_size, images), lambda part:
                             view_probabilities(part, self.objective, self.naturalness,
                                                chunk_size=self.chunk_size), self.should_stop)
        return in_slices(images, self._chunk(None, images), lambda part:
                         class_probabilities(part, self.model, self.naturalness),
                         self.should_stop)

    def _chunk(self, chunk_size: int | None, images: torch.Tensor) -> int:
        """The chunk scorers use for these images (the stop request is looked at between)."""
        return chunk_size or default_chunk(self.device, images.shape[0])

    def tune(self, genomes: list[Genome], *, steps: int, lr,
             cells: list[int] | None = None) -> tuple[list[Genome], list[float]]:
        """Adam on the genomes' constants toward the objective, or row k toward class cells[k]."""
        objective = self.objective if cells is None else CellObjective(self.model, cells)
        if cells is None and self.tune_view_size and hasattr(objective, "at_view_size"):
            objective = objective.at_view_size(self.tune_view_size)      # cheaper tuning views
        if cells is None and self.tune_views and self.redraws:
            objective = objective.with_view_count(                        # fewer per Adam step
                min(self.tune_views, objective.views.count))
        seed = self.views_seed
        return tune_constants(genomes, objective, self.naturalness, size=self.size,
                              device=self.device, steps=steps, lr=lr,
                              view_seed=lambda step: view_seed(seed, -1, step),
                              should_stop=self.should_stop, render_options=self.render_options,
                              max_frequency=self.max_frequency,
                              turns=self.tune_turns and cells is None)

    def climb(self, genomes: list[Genome], cells: list[int], *, steps: int, lr: float,
              views: int, kind: str, seed: int) -> list[Genome]:
        """The gradient emitter's batch: row k toward class cells[k] over `views` random views
        redrawn per Adam step from seed; every step's constants (evolve.search.emitter)."""
        abandon_if_asked(self.should_stop)
        return climb_cells(genomes, cells, self.model, self.naturalness, size=self.size,
                           device=self.device, steps=steps, lr=lr, views=views, kind=kind,
                           seed=seed)


def assign(genomes: list[Genome], scores: Scores, pareto: bool) -> None:
    """Tell: fitness values for selection, and the score parts kept for logs and records."""
    for i, genome in enumerate(genomes):
        genome.parts = {name: getattr(scores, name)[i].item() for name in PARTS}
        set_fitness(genome, pareto)


def set_fitness(genome: Genome, pareto: bool) -> None:
    parts = genome.parts
    if pareto:
        if not isinstance(genome.fitness, Pareto):
            genome.fitness = Pareto()
        genome.fitness.values = (parts["objective"], -parts["residual"])
    else:
        genome.fitness.values = (parts["fitness"],)


def make_variation(config: RunConfig) -> Variation:
    """The variation settings a run's configuration names (evolve and explore alike)."""
    return Variation(crossover_prob=config.crossover_prob, mutation_prob=config.mutation_prob,
                     tournament_size=config.tournament_size, max_height=config.max_height,
                     max_nodes=config.max_nodes)


def make_naturalness(config: RunConfig, *, gate: bool = False) -> Naturalness:
    """The naturalness penalty (or gate) a run's configuration names."""
    relative = config.naturalness_relative and not is_robust(config)   # margins are logs
    return Naturalness(weight=config.naturalness_weight, lam=config.naturalness,
                       tau=config.naturalness_tau, gate=gate, relative=relative)


def scalar(genome: Genome) -> float:
    return genome.parts["fitness"]


@dataclass
class Tuning:
    steps: int
    share: float
    lr: float


class Evolution:
    """A population under selection; `step()` makes one generation. State is plain JSON."""

    def __init__(self, config: RunConfig, evaluator: Evaluator):
        self.config, self.evaluator = config, evaluator
        self.variation = make_variation(config)
        self.toolbox = operators.make_toolbox(self.variation)
        self.tuning = Tuning(config.tune_steps if config.tune else 0, config.tune_share,
                             config.tune_lr)
        self.population: list[Genome] = []
        self.hall_of_fame = tools.ParetoFront() if config.pareto else tools.HallOfFame(
            max(config.elites, 1))
        self.best: Genome | None = None
        self.generation = 0
        self.evaluations = 0
        self.tuning_evaluations = 0
        self.portfolio = Portfolio(config, evaluator.device)     # niches, stall restarts

    @property
    def lineage(self) -> int:
        """Lineages started after the first (each lineage restart is one of the restarts)."""
        return self.portfolio.restarts if self.config.restart_mode == "lineage" else 0

    # --- ask / tell --------------------------------------------------------------------------
    def start(self) -> int:
        """Seed every RNG, build and score the first population; returns evaluations made."""
        c = self.config
        seed_everything(c.seed)
        self.evaluator.use_views(view_seed(c.seed, 0))
        self.population = first_population(c, self.toolbox, self.variation)
        made = self._tell(self.population, known={})
        self.portfolio.offer(self.population, 0, self.best)
        return made

    def step(self) -> int:
        """One generation; returns the number of genomes scored. The evaluator's should_stop()
        may raise GenerationAbandoned part-way, leaving this object half-advanced: the driver
        restores its last complete state (evolve.runfolder.session.drive)."""
        c, pareto = self.config, self.config.pareto
        self.evaluator.use_views(view_seed(c.seed, self.generation + 1))   # this generation's
        born = self.portfolio.new_lineage(self.generation)                # stalled: start anew
        scored = self._start_lineage() if born else 0
        known = {str(g): g for g in self.population + list(self.hall_of_fame)}
        tuned = self._tune(self._tuning_order(first=born))
        elites = [] if pareto else [clone(g) for g in self.hall_of_fame[:c.elites]]
        restarted = self.portfolio.restart(self.generation, c.population - len(elites)
                                           - len(tuned), self.population)   # stalled: fresh
        room = max(c.population - len(elites) - len(tuned) - len(restarted), 0)
        parents = operators.select_parents(self.population, room, self.toolbox, pareto)
        offspring = elites + tuned + restarted + operators.vary(parents, self.toolbox,
                                                                self.variation)
        abandon_if_asked(getattr(self.evaluator, "should_stop", None))   # (a remote backend's
        made = self._tell(offspring, known)                               # tuning is one batch)
        self.portfolio.offer(offspring, self.generation + 1, self.best)
        if pareto:
            offspring = tools.selNSGA2(self.population + offspring, c.population)
        self.population = offspring
        self.generation += 1
        return made + scored

    def _start_lineage(self) -> int:
        """A new lineage: the whole population drawn again as the first one was (template copies
        all jittered, so it is not the last lineage's start; a --harvest-breed share bred from
        the harvested pictures), scored under this step's views; the best so far is forgotten
        here (its records stay). Returns the genomes scored."""
        self.population = lineage_population(self.config, self.toolbox, self.variation,
                                             self.portfolio.harvested, self.portfolio.apart,
                                             self.lineage)
        self.hall_of_fame.clear()
        self.best = None
        return self._tell(self.population, known={})

    def _tuning_order(self, first: bool = False) -> list[Genome]:
        """Leaders first; in a lineage's first step the --template copies first (the best of them).

        A hand-drawn template scores low until its constants fit the networks (crab ~0.002 as
        drawn, seed 23); ranked by fitness it is rarely tuned and selection can lose it at once
        (seed 22's 60-minute run did), while one tuning step makes it the leader (seed 23).
        """
        slots = template_slots(self.config) if first or self.generation == 0 else 0
        cut = len(self.population) - slots                  # the copies are the last slots
        return (sorted(self.population[cut:], key=scalar, reverse=True)
                + sorted(self.population[:cut], key=scalar, reverse=True))

    def _tune(self, ranked: list[Genome]) -> list[Genome]:
        """Tune the leaders; with two or more slots each leader is tried at lr and lr/10.

        Far from an optimum the large rate climbs faster, near one only the small rate still
        improves (crab 0.997: lr 0.1 and 0.025 stall, 0.01 climbs); selection keeps whichever
        worked, a crude self-adaptive step size.
        """
        if self.tuning.steps <= 0 or self.tuning.share <= 0:
            return []
        rich = [g for g in ranked if len(constants_of(g)) >= self.config.tune_min_constants]
        ranked = rich or ranked        # the flat-image trap: a leader with nothing to tune
        slots = max(1, math.ceil(self.tuning.share * self.config.population))
        chosen = [ranked[i // 2] for i in range(slots)] if slots > 1 else ranked[:1]
        rates = [self.tuning.lr / (10 if i % 2 else 1) for i in range(len(chosen))]
        tuned, _ = self.evaluator.tune(chosen, steps=self.tuning.steps, lr=rates)
        self.tuning_evaluations += len(chosen) * (self.tuning.steps + 1)
        return [Genome(g) for g in tuned]      # a fresh fitness: scored with the batch

    def _tell(self, genomes: list[Genome], known: dict[str, Genome]) -> int:
        pareto = self.config.pareto
        if self.evaluator.redraws:    # new views: every genome is scored again, side by side
            known = {}
            for genome in genomes:
                del genome.fitness.values
            if not pareto:
                self.hall_of_fame.clear()
        for genome in genomes:                          # a formula we already scored: reuse
            twin = known.get(str(genome)) if not genome.fitness.valid else None
            if twin is not None:
                genome.parts = dict(twin.parts)
                set_fitness(genome, pareto)
            elif genome.fitness.valid:
                set_fitness(genome, pareto)
        fresh = [g for g in genomes if not g.fitness.valid]
        if fresh:
            assign(fresh, self.evaluator(fresh), pareto)
            if self.portfolio.harvested:            # --harvest: twins of a harvest lose fitness
                self.portfolio.shun_twins(fresh)
                for genome in fresh:
                    set_fitness(genome, pareto)
        self.evaluations += len(fresh)
        self.hall_of_fame.update(genomes)
        leader = max(genomes, key=scalar)
        if self.best is None or scalar(leader) > scalar(self.best):
            self.best = clone(leader)
        return len(fresh)

    # --- statistics --------------------------------------------------------------------------
    def stats(self) -> dict:
        values = [scalar(g) for g in self.population]
        leader = max(self.population, key=scalar)
        return {"generation": self.generation,
                "best_fitness": scalar(leader), "mean_fitness": statistics.fmean(values),
                "std_fitness": statistics.pstdev(values),
                "best_objective": leader.parts["objective"],
                "best_penalty": leader.parts["penalty"],
                "best_residual": leader.parts["residual"],
                "top_class_index": int(leader.parts["top_class"]),
                "top_prob": leader.parts["top_prob"],
                "target_prob": leader.parts.get("target_prob"),
                "unique_formulas": len({str(g) for g in self.population}),
                "mean_nodes": statistics.fmean(len(g) for g in self.population),
                "evaluations": self.evaluations, "tuning_evaluations": self.tuning_evaluations,
                "best_ever_fitness": scalar(self.best), "lineage": self.lineage,
                **self.portfolio.stats()}

    # --- state -------------------------------------------------------------------------------
    def state(self) -> dict:
        return {"generation": self.generation, "evaluations": self.evaluations,
                "tuning_evaluations": self.tuning_evaluations,
                "population": [_genome_json(g) for g in self.population],
                "hall_of_fame": [_genome_json(g) for g in self.hall_of_fame],
                "best": _genome_json(self.best), "rng": rng_states(),
                "config": self.config.to_json(), "portfolio": self.portfolio.to_json()}

    def restore(self, state: dict) -> None:
        pareto = self.config.pareto
        self.population = [_genome_from(d, pareto) for d in state["population"]]
        self.hall_of_fame.clear()
        for data in reversed(state["hall_of_fame"]):      # reversed: ties keep their order
            self.hall_of_fame.insert(_genome_from(data, pareto))
        self.best = _genome_from(state["best"], pareto)
        self.generation = state["generation"]
        self.evaluations = state["evaluations"]
        self.tuning_evaluations = state.get("tuning_evaluations", 0)
        self.portfolio.restore(state.get("portfolio"), self.generation)
        set_rng_states(state["rng"])


def _genome_json(genome: Genome) -> dict:
    return {"formula": str(genome), "parts": genome.parts}


def _genome_from(data: dict, pareto: bool) -> Genome:
    genome = parse(data["formula"])
    genome.parts = dict(data["parts"])
    set_fitness(genome, pareto)
    return genome
