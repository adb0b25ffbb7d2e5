"""Fooling explorer: MAP-Elites with one archive cell per ImageNet class.

Mouret & Clune 2015 (MAP-Elites); Nguyen, Yosinski & Clune, CVPR 2015 (one cell per class).
The batch's full softmax is computed once, so an image claims every cell it beats:

    A ← {}
    repeat:  B ← random genomes (a share; all while A is empty)
                 ∪ climb(elites of B distinct cells, each toward its own class, over views)
                                                   (gradient emitter: evolve.search.emitter)
                 ∪ tune(elite of a uniform cell c, toward class c)       (Adam on constants)
                 ∪ vary(elites of uniform cells)                         (evolve's operators)
             P ← softmax(model(render(B)));  F ← P[:, cells] − penalty(residual(B))   # (N, C)
             for each cell c:  i* ← argmax_i F[i, c];  A[c] ← B[i*]  if F[i*, c] > F(A[c])
With threshold_alpha, parents come from CMA-MAE's annealed archive (evolve.search.thresholds).
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import ClassVar

import torch

from genart import Genome, constants_of, parse
from scorers import imagenet_classes, load_model, resolve_classes

from evolve.errors import RunError
from evolve.search import emitter, operators
from evolve.search.loop import Evaluator, make_naturalness, make_variation
from evolve.search.robust import build_objective, is_robust, scoring_networks, view_seed
from evolve.search.rng import rng_states, seed_everything, set_rng_states
from evolve.search.settings import (MAX_POPULATION, MAX_VIEWS, NO_FLAG, RunConfig, redefault,
                                    resolve_device, setting)
from evolve.search.archive import THRESHOLDS, Archive



@dataclass(frozen=True)
class ExploreConfig(RunConfig):
    """A RunConfig (same search settings as evolve) plus the archive's own; `kind` routes resume.
    Each field is a `setting` (flag and TOML key of `genart explore`, see cli/arguments.py)."""
    IGNORED: ClassVar[frozenset] = frozenset({   # evolve's settings an explore has no use for
        "judge", "judge_views", "record_size", "record_antialias", "record_gain", "pareto",
        "elites", "tune_min_constants", "fresh_share", "portfolio", "portfolio_bar",
        "stall_generations", "restart_mode", "restart_share", "restart_units", "harvest",
        "lineage_harvests", "sibling_generations", "harvest_breed", "harvest_polish",
        "harvest_apart", "harvest_rounds", "harvest_grow", "template_forms", "polish_thumb",
        "polish_blur"})
    target: str = redefault(RunConfig, "target", "all", flag="classes",
                            help="which classes get a cell: all or a class query (crab)")
    population: int = redefault(RunConfig, "population", 32,
                                help="genomes scored per generation (the batch)")
    tune_steps: int = redefault(RunConfig, "tune_steps", 10)   # as before issue 10
    tune_share: float = redefault(RunConfig, "tune_share", 0.125)
    start_form: str = redefault(RunConfig, "start_form", "sines")   # issue 13's measured runs
    fooling: bool = redefault(RunConfig, "fooling", True, help="one network (--model) on the "
                              "whole image (fooling images); --robust: a cell's confidence "
                              "averaged over --views random views and --models")
    tune: bool = redefault(RunConfig, "tune", False)   # measured: spends a batch on few cells
    kind: str = setting("explore", "what kind of run (routes resume)", "output", flag=NO_FLAG)
    random_share: float = setting(0.25, "share of each batch that is new random genomes",
                                  "search", low=0.0, high=1.0)
    gate: bool = setting(False, "hard naturalness gate (score 0 when the residual ≥ τ) "
                         "instead of λ", "scoring")
    export_minutes: float = setting(2.0, "how often cells/, archive.json and report.json are "
                                    "written", "output", above=0.0)
    emit_share: float = setting(0.0, "share of network passes (forward and backward) spent on "
                                "Adam on elites' constants, each toward its own cell's class "
                                "over random views (0: mutation only; on a CPU it loses to "
                                "mutation)", "search", low=0.0, high=1.0)
    emit_cells: int = setting(8, "cells the emitter climbs together in one batch", "search",
                              low=1, high=MAX_POPULATION)
    emit_steps: int = setting(4, "the emitter's Adam steps per generation", "search", low=0,
                              high=100000)
    emit_lr: float = setting(0.05, "the emitter's Adam learning rate", "search", above=0.0)
    emit_views: int = setting(1, "the emitter's random views per image per step (0: whole "
                              "image)", "search", low=0, high=MAX_VIEWS)
    emit_score: str = setting("log", "class score the emitter climbs", "search",
                              choices=("log", "margin"))
    threshold_alpha: float | None = setting(None, "CMA-MAE archive thresholds with learning "
                                            "rate α in (0, 1] (default off: the plain "
                                            "elitist archive)", "search", above=0.0, high=1.0)

    def check(self) -> None:
        super().check()
        emitter.check_settings(self)
        if not 0 <= self.random_share <= 1:
            raise RunError(f"--random-share must be in [0, 1], got {self.random_share!r}")
        if not self.export_minutes > 0:
            raise RunError(f"export_minutes must be positive, got {self.export_minutes!r}")

    @classmethod
    def from_json(cls, data: dict) -> "ExploreConfig":
        if isinstance(data, dict) and "emit_share" not in data:   # before issue 13: as it ran
            data = {**data, "emit_share": 0.0}
        return super().from_json(data)


def target_classes(query: str, class_names: list[str]) -> list[int]:
    """'all' → every class; otherwise the classes a query resolves to (UnknownClassError)."""
    if query.strip().lower() == "all":
        return list(range(len(class_names)))
    return resolve_classes(query, class_names)


def explore_evaluator(config: ExploreConfig, model=None) -> Evaluator:
    """The in-process evaluator of an explore (the factory the Ray workers call too): every
    class's probability on one network (--fooling, the default) or, with --robust, averaged
    over the generation's random views and the ensemble; tuning and climbing toward cells."""
    device = resolve_device(config.device)
    objective = None
    if is_robust(config):
        objective, model = build_objective(
            config, device, classes=target_classes(config.target, imagenet_classes()))
    model = model or load_model(config.model, device, compile=config.compile)
    return Evaluator(objective, make_naturalness(config, gate=config.gate), size=config.size,
                     device=device, chunk_size=config.forward_chunk(device), model=model,
                     tune_view_size=config.tune_view_size,
                     tune_views=config.tune_views, tune_turns=config.tune_turns)


def scoring_passes_per_image(config: ExploreConfig) -> int:
    """Network passes one scored image costs: every view (the whole image without views) through
    every network of the ensemble under --robust; one --model pass otherwise."""
    if not is_robust(config):
        return 1
    return len(scoring_networks(config)) * max(config.views, 1)


class Explorer:
    """The archive and one `step()` per generation; its whole state is JSON."""

    def __init__(self, config: ExploreConfig, model, classes: list[int], device: torch.device,
                 evaluator=None):
        self.config, self.model, self.device = config, model, device
        self.naturalness = make_naturalness(config, gate=config.gate)
        self.evaluator = evaluator or explore_evaluator(config, model)
        self.variation = make_variation(config)
        self.toolbox = operators.make_toolbox(self.variation)
        self.archive = Archive(classes, config.threshold_alpha)
        self.columns = torch.tensor(self.archive.classes, dtype=torch.long)
        self.generation = self.evaluations = self.tuning_evaluations = 0
        self.emitted = self.forward_passes = self.backward_passes = 0   # images × networks
        self.emitter_passes = 0                                          # of which the emitter's
        self.networks = scoring_networks(config)
        self.passes_per_image = scoring_passes_per_image(config)
        self._parsed: dict[str, Genome] = {}

    def start(self) -> int:
        """Seed every RNG, score a random first batch; returns evaluations made."""
        seed_everything(self.config.seed)
        self.evaluator.use_views(view_seed(self.config.seed, 0))   # (ignored without views)
        return self._tell(self._random(self.config.population))

    def step(self) -> int:
        """One generation: random share, tuned elites, varied elites; returns genomes scored."""
        c = self.config
        randoms = max(1, round(c.random_share * c.population)) if c.random_share > 0 else 0
        if not self.archive.cells:
            randoms = c.population
        self.evaluator.use_views(view_seed(c.seed, self.generation + 1))   # this generation's
        tuned = self._tune(self._tune_count()) if self.archive.cells else []
        climbed = self._emit() if self.archive.cells else []
        parents = [self._elite_genome(cell) for cell in self.archive.draw(
            max(c.population - randoms - len(tuned), 0))]          # climbed: on top of the batch
        offspring = [g for g in operators.vary(parents, self.toolbox, self.variation)
                     if not g.fitness.valid]             # untouched copies are elites already
        made = self._tell(climbed + tuned + offspring + self._random(randoms))
        self.generation += 1
        return made

    def _random(self, n: int) -> list[Genome]:
        c = self.config
        return operators.initial_population(n, c.start())

    def _tune_count(self) -> int:
        c = self.config
        if not c.tune or c.tune_steps <= 0 or c.tune_share <= 0:
            return 0
        return max(1, math.ceil(c.tune_share * c.population))

    def _elite_genome(self, cell: int) -> Genome:
        """A fresh copy of the cell's elite, with a valid fitness (so `vary` can tell it)."""
        elite = self.archive.parent(cell)
        if elite.formula not in self._parsed:
            self._parsed[elite.formula] = parse(elite.formula)
        genome = operators.clone(self._parsed[elite.formula])
        genome.fitness.values = (elite.fitness,)
        return genome

    def _tune(self, count: int) -> list[Genome]:
        """Adam on the constants of `count` uniformly drawn elites, each toward its own cell."""
        cells = self.archive.draw(count)
        pairs = [(c, self._elite_genome(c)) for c in cells]
        pairs = [(c, g) for c, g in pairs if constants_of(g)]
        if not pairs:
            return []
        tuned, _ = self.evaluator.tune([g for _, g in pairs], steps=self.config.tune_steps,
                                       lr=self.config.tune_lr, cells=[c for c, _ in pairs])
        self.tuning_evaluations += len(pairs) * (self.config.tune_steps + 1)
        steps = self.config.tune_steps                 # S + 1 forwards, S backwards each
        self._count(len(pairs) * (steps + 1), len(pairs) * steps)
        return [Genome(g) for g in tuned]

    def _emit(self) -> list[Genome]:
        """The gradient emitter: B elites of B distinct cells, each climbing its own class over
        random views, in one batched Adam run (evolve.search.emitter) on the evaluator."""
        c = self.config
        spent, total = self.emitter_passes, self.forward_passes + self.backward_passes
        count = emitter.batch_size(c) if emitter.due(spent, total, c.emit_share) else 0
        cells = emitter.choose_cells({k: self.archive.parent(k) for k in self.archive.cells},
                                     count, self.generation, self._tunable) if count else []
        if not cells:
            return []
        climbed = self.evaluator.climb(
            [self._elite_genome(k) for k in cells], cells, steps=c.emit_steps, lr=c.emit_lr,
            views=c.emit_views, kind=c.emit_score,
            seed=emitter.emitter_seed(c.seed, self.generation, -1))
        self.emitted += len(cells)
        forward, backward = emitter.passes(len(cells), steps=c.emit_steps, views=c.emit_views)
        self._count(forward, backward)
        self.emitter_passes += forward + backward
        return [Genome(g) for g in climbed]

    def _tunable(self, formula: str) -> bool:
        if formula not in self._parsed:
            self._parsed[formula] = parse(formula)
        return bool(constants_of(self._parsed[formula]))

    def _count(self, forward: int, backward: int) -> None:
        self.forward_passes += forward
        self.backward_passes += backward

    def _tell(self, genomes: list[Genome]) -> int:
        """Score the unique new formulas in one batch and offer them to every cell."""
        owned = self.archive.formulas()
        formulas, unique = [], []
        for genome in genomes:
            text = str(genome)
            if text not in owned:
                owned.add(text)
                formulas.append(text)
                unique.append(genome)
        if not unique:
            return 0
        probs, residual = self.evaluator.probabilities(unique)     # (N, 1000), (N,)
        fitness = self.naturalness.apply(probs[:, self.columns], residual[:, None])   # (N, C)
        self.archive.offer(formulas, probs, fitness, residual, self.generation)
        live = self.archive.formulas()
        self._parsed = {f: g for f, g in self._parsed.items() if f in live}
        self.evaluations += len(unique)
        self._count(len(unique) * self.passes_per_image, 0)
        return len(unique)

    # --- statistics and state ------------------------------------------------------------------
    def stats(self) -> dict:
        values = self.archive.confidences()
        fits = [self.archive.cells[c].fitness if c in self.archive.cells else 0.0
                for c in self.archive.classes]
        return {"generation": self.generation, "filled": len(self.archive.cells),
                **{f"at_{t}": sum(v >= t for v in values) for t in THRESHOLDS},
                "median_confidence": statistics.median(values), "best_confidence": max(values),
                "best_fitness": max(fits), "mean_fitness": statistics.fmean(fits),
                "evaluations": self.evaluations, "tuning_evaluations": self.tuning_evaluations,
                **self.counters(), "qd_score": sum(values)}

    def counters(self) -> dict:
        """Work done so far: emitter offspring, and network passes (one image through one
        network once: a robust image costs views × networks forward passes)."""
        return {"emitted": self.emitted, "emitter_passes": self.emitter_passes,
                "forward_passes": self.forward_passes,
                "backward_passes": self.backward_passes,
                "network_passes": self.forward_passes + self.backward_passes}

    def state(self) -> dict:
        """Checkpoint state; `population`/`hall_of_fame` are empty (the archive is the search)."""
        return {"generation": self.generation, "evaluations": self.evaluations,
                "tuning_evaluations": self.tuning_evaluations, **self.counters(), "population": [],
                "hall_of_fame": [], "archive": self.archive.to_json(), "rng": rng_states(),
                "config": self.config.to_json()}

    def restore(self, state: dict) -> None:
        self.archive = Archive.from_json(state["archive"])
        self.columns = torch.tensor(self.archive.classes, dtype=torch.long)
        self.generation = state["generation"]
        self.evaluations = state["evaluations"]
        self.tuning_evaluations = state.get("tuning_evaluations", 0)
        self.emitted = state.get("emitted", 0)
        self.emitter_passes = state.get("emitter_passes", 0)
        self.forward_passes = state.get("forward_passes", self.evaluations)   # before issue 13
        self.backward_passes = state.get("backward_passes", 0)
        set_rng_states(state["rng"])
