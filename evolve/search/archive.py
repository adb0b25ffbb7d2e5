"""The archive of MAP-Elites: cells keyed by integers, each keeping its best image.

Two uses: explore's class archive (one cell per ImageNet class, every image claiming every
cell it beats; optionally CMA-MAE thresholds, evolve.search.thresholds, that admit parents) and
the crab search's portfolio (one cell per look, each image offered to its own: `place`)."""
from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass

import torch

from evolve.search.thresholds import anneal

THRESHOLDS = (0.5, 0.9, 0.99)


@dataclass
class Elite:
    """One cell's occupant: fitness decides, confidence is the class probability."""
    formula: str
    fitness: float
    confidence: float
    residual: float
    generation: int


class Archive:
    """Cells keyed by class index; `offer` lets every image claim every cell it beats.
    With `alpha`, also CMA-MAE thresholds and the occupants they admit (`frontier`, the parents);
    `cells` stays the plain elitist archive (the report)."""

    def __init__(self, classes: list[int], alpha: float | None = None):
        self.classes = [int(c) for c in classes]
        self.cells: dict[int, Elite] = {}
        self.alpha, self.thresholds, self.frontier = alpha, {}, {}

    def offer(self, formulas: list[str], probs: torch.Tensor, fitness: torch.Tensor,
              residual: torch.Tensor, generation: int) -> list[int]:
        """probs (N, 1000), fitness (N, C) in `classes` order, residual (N,) → cells changed."""
        confidence = probs[:, self.classes]                                # (N, C)
        return self._claim(formulas, fitness, confidence, residual, generation)

    def place(self, formulas: list[str], cells: torch.Tensor, fitness: torch.Tensor,
              confidence: torch.Tensor, residual: torch.Tensor, generation: int) -> list[int]:
        """Each image offered to its one cell only (cells (N,) keys, fitness, confidence,
        residual (N,)): the portfolio's use, niches instead of classes → cells changed."""
        column = {c: k for k, c in enumerate(self.classes)}
        index = torch.tensor([column[int(c)] for c in cells], dtype=torch.long)[:, None]
        claims = torch.full((len(formulas), len(self.classes)), -math.inf)
        claims.scatter_(1, index, fitness.float()[:, None])
        return self._claim(formulas, claims, confidence.float()[:, None].expand_as(claims),
                           residual, generation)

    def _claim(self, formulas: list[str], fitness: torch.Tensor, confidence: torch.Tensor,
               residual: torch.Tensor, generation: int) -> list[int]:
        """fitness, confidence (N, C) in `classes` order: each cell's best image, if it beats
        the occupant, replaces it (strictly: the first of equals stays) → cells changed."""
        best, winner = fitness.max(0)                                      # (C,), (C,)
        current = torch.tensor([self.cells[c].fitness if c in self.cells else -math.inf
                                for c in self.classes])
        changed = []
        for k in torch.nonzero(best > current).flatten().tolist():
            c, i = self.classes[k], int(winner[k])
            self.cells[c] = Elite(formulas[i], float(best[k]), float(confidence[i, k]),
                                  float(residual[i]), generation)
            changed.append(c)
        if self.alpha is not None:
            current = torch.tensor([self.thresholds.get(c, -math.inf) for c in self.classes])
            admitted, raised = anneal(current, best, self.alpha)
            for k in torch.nonzero(admitted).flatten().tolist():
                c, i = self.classes[k], int(winner[k])
                self.frontier[c] = Elite(formulas[i], float(best[k]), float(confidence[i, k]),
                                         float(residual[i]), generation)
                self.thresholds[c] = float(raised[k])
        return changed

    def parent(self, cell: int) -> Elite:
        """The occupant a cell's offspring start from: the admitted one under thresholds."""
        return self.frontier.get(cell) or self.cells[cell]

    def formulas(self) -> set[str]:
        return {e.formula for e in (*self.cells.values(), *self.frontier.values())}

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
        formulas = sorted(self.formulas())
        slot = {f: i for i, f in enumerate(formulas)}

        def rows(cells):
            return {str(c): [slot[e.formula], e.fitness, e.confidence, e.residual, e.generation]
                    for c, e in sorted(cells.items())}
        data = {"classes": self.classes, "formulas": formulas, "cells": rows(self.cells)}
        if self.alpha is not None:
            data.update(alpha=self.alpha, frontier=rows(self.frontier),
                        thresholds={str(c): t for c, t in sorted(self.thresholds.items())})
        return data

    @classmethod
    def from_json(cls, data: dict) -> "Archive":
        archive = cls(data["classes"], data.get("alpha"))     # no alpha: an elitist archive
        for field, cells in (("cells", archive.cells), ("frontier", archive.frontier)):
            for key, (slot, fitness, confidence, residual, generation) in \
                    data.get(field, {}).items():
                cells[int(key)] = Elite(data["formulas"][slot], fitness, confidence, residual,
                                        generation)
        archive.thresholds = {int(c): float(t) for c, t in data.get("thresholds", {}).items()}
        return archive
