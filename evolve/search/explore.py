"""Fooling explorer: MAP-Elites with one archive cell per ImageNet class.

Mouret & Clune 2015 (MAP-Elites); Nguyen, Yosinski & Clune, CVPR 2015 (one cell per class).
The batch's full softmax is computed once, so an image claims every cell it beats:

    A ← {}
    repeat:  B ← random genomes (a share; all while A is empty)
                 ∪ tune(elite of a uniform cell c, toward class c)       (Adam on constants)
                 ∪ vary(elites of uniform cells)                         (evolve's operators)
             P ← softmax(model(render(B)));  F ← P[:, cells] − penalty(residual(B))   # (N, C)
             for each cell c:  i* ← argmax_i F[i, c];  A[c] ← B[i*]  if F[i*, c] > F(A[c])
"""
from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass

import torch

from genart import Genome, constants_of, parse
from scorers import class_probabilities

from evolve.errors import RunError
from evolve.search import operators
from evolve.search.loop import Evaluator, make_naturalness, make_variation
from evolve.search.settings import RunConfig, rng_states, seed_everything, set_rng_states
from evolve.search.tuning import tune_constants

THRESHOLDS = (0.5, 0.9, 0.99)


@dataclass(frozen=True)
class ExploreConfig(RunConfig):
    """A RunConfig (same search settings as evolve) plus the archive's own; `kind` routes resume."""
    target: str = "all"                  # which classes get a cell: 'all' or a class query
    population: int = 32                 # genomes scored per generation (the batch)
    kind: str = "explore"
    tune: bool = False                   # measured: tuning spends a batch on few cells (see README)
    random_share: float = 0.25           # share of each batch that is fresh random genomes
    gate: bool = False                   # hard naturalness gate instead of the soft penalty
    export_minutes: float = 2.0          # how often cells/, archive.json, report.json are written

    def check(self) -> None:
        super().check()
        if not 0 <= self.random_share <= 1:
            raise RunError(f"--random-share must be in [0, 1], got {self.random_share!r}")
        if not self.export_minutes > 0:
            raise RunError(f"export_minutes must be positive, got {self.export_minutes!r}")


@dataclass
class Elite:
    """One cell's occupant: fitness decides, confidence is the class probability."""
    formula: str
    fitness: float
    confidence: float
    residual: float
    generation: int


class Archive:
    """Cells keyed by class index; `offer` lets every image claim every cell it beats."""

    def __init__(self, classes: list[int]):
        self.classes = [int(c) for c in classes]
        self.cells: dict[int, Elite] = {}

    def offer(self, formulas: list[str], probs: torch.Tensor, fitness: torch.Tensor,
              residual: torch.Tensor, generation: int) -> list[int]:
        """probs (N, 1000), fitness (N, C) in `classes` order, residual (N,) → cells changed."""
        best, winner = fitness.max(0)                                      # (C,), (C,)
        current = torch.tensor([self.cells[c].fitness if c in self.cells else -math.inf
                                for c in self.classes])
        changed = []
        for k in torch.nonzero(best > current).flatten().tolist():
            c, i = self.classes[k], int(winner[k])
            self.cells[c] = Elite(formulas[i], float(best[k]), float(probs[i, c]),
                                  float(residual[i]), generation)
            changed.append(c)
        return changed

    def draw(self, k: int) -> list[int]:
        """k cells drawn uniformly (with replacement) from the occupied ones; Python's random."""
        occupied = sorted(self.cells)
        return [random.choice(occupied) for _ in range(k)] if occupied else []

    def confidences(self) -> list[float]:
        """Confidence of every target class; an empty cell counts as 0."""
        return [self.cells[c].confidence if c in self.cells else 0.0 for c in self.classes]

    def summary(self, class_names: list[str], shown: int = 5) -> dict:
        """Cells filled, counts at each threshold, median confidence, best and worst cells."""
        values = self.confidences()
        ranked = sorted(self.cells, key=lambda c: -self.cells[c].confidence)

        def cell(c):
            e = self.cells[c]
            return {"class": c, "name": class_names[c], "confidence": e.confidence,
                    "residual": e.residual, "generation": e.generation}
        return {"cells": len(self.classes), "filled": len(self.cells),
                "at_least": {str(t): sum(v >= t for v in values) for t in THRESHOLDS},
                "median_confidence": statistics.median(values) if values else 0.0,
                "median_note": "over all target classes; an empty cell counts as 0",
                "mean_confidence": statistics.fmean(values) if values else 0.0,
                "best": [cell(c) for c in ranked[:shown]],
                "worst": [cell(c) for c in ranked[::-1][:shown]]}

    # --- JSON (formulas stored once: one image often owns many cells) -----------------------
    def to_json(self) -> dict:
        formulas = sorted({e.formula for e in self.cells.values()})
        slot = {f: i for i, f in enumerate(formulas)}
        return {"classes": self.classes, "formulas": formulas,
                "cells": {str(c): [slot[e.formula], e.fitness, e.confidence, e.residual,
                                   e.generation] for c, e in sorted(self.cells.items())}}

    @classmethod
    def from_json(cls, data: dict) -> "Archive":
        archive = cls(data["classes"])
        for key, (slot, fitness, confidence, residual, generation) in data["cells"].items():
            archive.cells[int(key)] = Elite(data["formulas"][slot], fitness, confidence,
                                            residual, generation)
        return archive


class CellObjective:
    """Row k of the batch is scored as the probability of classes[k] (tuning toward cells)."""

    def __init__(self, model, classes: list[int]):
        self.model = model
        self.classes = torch.tensor(classes, dtype=torch.long)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        probs = self.model.logits(images).float().softmax(1)                # (K, 1000)
        return probs[torch.arange(len(self.classes)), self.classes.to(probs.device)]


class Explorer:
    """The archive and one `step()` per generation; its whole state is JSON."""

    def __init__(self, config: ExploreConfig, model, classes: list[int], device: torch.device):
        self.config, self.model, self.device = config, model, device
        self.naturalness = make_naturalness(config, gate=config.gate)
        self.evaluator = Evaluator(None, self.naturalness, size=config.size, device=device,
                                   chunk_size=config.chunk_size)      # its batched render only
        self.variation = make_variation(config)
        self.toolbox = operators.make_toolbox(self.variation)
        self.archive = Archive(classes)
        self.columns = torch.tensor(self.archive.classes, dtype=torch.long)
        self.generation = self.evaluations = self.tuning_evaluations = 0
        self._parsed: dict[str, Genome] = {}

    def start(self) -> int:
        """Seed every RNG, score a random first batch; returns evaluations made."""
        seed_everything(self.config.seed)
        return self._tell(self._random(self.config.population))

    def step(self) -> int:
        """One generation: random share, tuned elites, varied elites; returns genomes scored."""
        c = self.config
        randoms = max(1, round(c.random_share * c.population)) if c.random_share > 0 else 0
        if not self.archive.cells:
            randoms = c.population
        tuned = self._tune(self._tune_count()) if self.archive.cells else []
        parents = [self._elite_genome(cell) for cell in
                   self.archive.draw(max(c.population - randoms - len(tuned), 0))]
        offspring = [g for g in operators.vary(parents, self.toolbox, self.variation)
                     if not g.fitness.valid]             # untouched copies are elites already
        made = self._tell(tuned + offspring + self._random(randoms))
        self.generation += 1
        return made

    def _random(self, n: int) -> list[Genome]:
        c = self.config
        return operators.initial_population(
            n, sine_share=c.sine_share, sine_terms=c.sine_terms, min_depth=c.init_min_depth,
            max_depth=c.init_max_depth, sine_frequency=c.sine_frequency,
            sine_amplitude=c.sine_amplitude)

    def _tune_count(self) -> int:
        c = self.config
        if not c.tune or c.tune_steps <= 0 or c.tune_share <= 0:
            return 0
        return max(1, math.ceil(c.tune_share * c.population))

    def _elite_genome(self, cell: int) -> Genome:
        """A fresh copy of the cell's elite, with a valid fitness (so `vary` can tell it)."""
        elite = self.archive.cells[cell]
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
        objective = CellObjective(self.model, [c for c, _ in pairs])
        tuned, _ = tune_constants([g for _, g in pairs], objective, self.naturalness,
                                  size=self.config.size, device=self.device,
                                  steps=self.config.tune_steps, lr=self.config.tune_lr)
        self.tuning_evaluations += len(pairs) * (self.config.tune_steps + 1)
        return [Genome(g) for g in tuned]

    def _tell(self, genomes: list[Genome]) -> int:
        """Score the unique new formulas in one batch and offer them to every cell."""
        owned = {e.formula for e in self.archive.cells.values()}
        formulas, unique = [], []
        for genome in genomes:
            text = str(genome)
            if text not in owned:
                owned.add(text)
                formulas.append(text)
                unique.append(genome)
        if not unique:
            return 0
        with torch.no_grad():
            images = self.evaluator.render(unique)                         # (N, 3, H, W)
        probs, residual = class_probabilities(images, self.model, self.naturalness)
        fitness = self.naturalness.apply(probs[:, self.columns], residual[:, None])   # (N, C)
        self.archive.offer(formulas, probs, fitness, residual, self.generation)
        live = {e.formula for e in self.archive.cells.values()}
        self._parsed = {f: g for f, g in self._parsed.items() if f in live}
        self.evaluations += len(unique)
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
                "evaluations": self.evaluations, "tuning_evaluations": self.tuning_evaluations}

    def state(self) -> dict:
        """Checkpoint state; `population`/`hall_of_fame` are empty (the archive is the search)."""
        return {"generation": self.generation, "evaluations": self.evaluations,
                "tuning_evaluations": self.tuning_evaluations, "population": [],
                "hall_of_fame": [], "archive": self.archive.to_json(), "rng": rng_states(),
                "config": self.config.to_json()}

    def restore(self, state: dict) -> None:
        self.archive = Archive.from_json(state["archive"])
        self.columns = torch.tensor(self.archive.classes, dtype=torch.long)
        self.generation = state["generation"]
        self.evaluations = state["evaluations"]
        self.tuning_evaluations = state.get("tuning_evaluations", 0)
        set_rng_states(state["rng"])
