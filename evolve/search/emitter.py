"""Batched per-cell gradient emitter: B elites of B different cells climb their own class at once.

Differentiable Quality Diversity (Fontaine & Nikolaidis, NeurIPS 2021) climbs each archive cell
by the gradient of its measure; pyribs implements it for fixed-length vectors. Our genomes are
formula trees whose constants are vectors of their own lengths, so each of the B parents gets
its own Adam state, and all B share one render, one forward and one backward per step
(`tune_constants`): row b is scored toward class cells[b] alone, averaged over K random views
redrawn every step (Expectation over Transformation, Athalye et al. 2018), so the confidence it
buys survives framing. The offspring go back into the batch and claim every cell they beat.

    cells ← B distinct occupied cells with constants, drawn ∝ (1 − confidence) + recent bonus
    for s in 1..S:  f_b = mean_v score(model(view_v,s(render(g_b; θ_b))), cells[b]) − penalty
                    θ_b ← Adam(θ_b, ∇ Σ_b f_b)                    (one batched backward)
    offspring ← g_b with the best θ_b seen
"""
from __future__ import annotations

import hashlib
import random
from typing import Callable

import torch

from genart import Genome
from scorers import Views, class_score, draw_views, no_views, view_logits

from evolve.errors import RunError
from evolve.search.thresholds import check_alpha
from evolve.search.tuning import tune_constants

RECENT = 5           # generations: a cell improved this recently gets a bonus draw weight
RECENT_BONUS = 1.0   # added to the (1 − confidence) weight of a recently improved cell


def emitter_seed(seed: int, generation: int, step: int) -> int:
    """The seed of one Adam step's views: a pure function of the run seed and generation, so a
    resumed explore draws the views an uninterrupted one would."""
    digest = hashlib.blake2b(f"emitter:{seed}:{generation}:{step}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "little") >> 1


class CellViewsObjective:
    """Row b of a batch scored as class cells[b]'s log-probability (or logit margin), averaged
    over the views; differentiable. `redrawn(seed)`: as many fresh views (each Adam step)."""

    def __init__(self, model, cells: list[int], views: Views, kind: str = "log"):
        self.model, self.cells, self.views, self.kind = model, [int(c) for c in cells], views, kind

    def redrawn(self, seed: int) -> "CellViewsObjective":
        views = draw_views(self.views.count, seed) if self.views.count else self.views
        return CellViewsObjective(self.model, self.cells, views, self.kind)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        logits = view_logits(images, self.model, self.views)               # (K', B, 1000)
        k, n, classes = logits.shape
        mask = torch.zeros(n, classes, dtype=torch.bool, device=logits.device)
        mask[torch.arange(n), torch.tensor(self.cells, device=logits.device)] = True
        scores = class_score(logits.flatten(0, 1), mask.repeat(k, 1), self.kind)   # (K'·B,)
        return scores.view(k, n).mean(0)                                   # (B,)


def climb_cells(genomes: list[Genome], cells: list[int], model, naturalness, *, size: int,
                device: torch.device, steps: int, lr: float, views: int, kind: str,
                seed: int) -> tuple[list[Genome], list[float]]:
    """Adam on every genome's constants at once, row b toward class cells[b] over `views`
    random views redrawn per step from `seed`; returns (tuned copies, best fitness each)."""
    first = draw_views(views, emitter_seed(seed, 0, -1)) if views else no_views()
    objective = CellViewsObjective(model, cells, first, kind)
    return tune_constants(genomes, objective, naturalness, size=size, device=device,
                          steps=steps, lr=lr,
                          view_seed=lambda step: emitter_seed(seed, 0, step))


def passes(count: int, *, steps: int, views: int) -> tuple[int, int]:
    """(forward, backward) image passes through the network of one climb of `count` genomes:
    each of steps + 1 forwards and steps backwards sees every view of every genome."""
    per = count * max(views, 1)
    return per * (steps + 1), per * steps


def choose_cells(cells: dict, count: int, generation: int,
                 tunable: Callable[[str], bool], rng: random.Random | None = None) -> list[int]:
    """Up to `count` distinct cells whose occupant has constants, drawn without replacement
    with weight (1 − confidence) + RECENT_BONUS if improved in the last RECENT generations
    (weighted sampling by keys u^(1/w), Efraimidis & Spirakis 2006; Python's random)."""
    rng = rng or random
    keyed = []
    for c in sorted(cells):
        elite = cells[c]
        if not tunable(elite.formula):
            continue
        weight = max(1.0 - elite.confidence, 1e-6)
        if generation - elite.generation <= RECENT:
            weight += RECENT_BONUS
        keyed.append((rng.random() ** (1.0 / weight), c))
    keyed.sort(reverse=True)
    return [c for _, c in keyed[:count]]


def batch_size(config) -> int:
    """B, the emitter's cells per generation: emit_share of the batch (0 when off)."""
    if config.emit_share <= 0 or config.emit_steps <= 0:
        return 0
    return max(1, round(config.emit_share * config.population))


def check_settings(config) -> None:
    """RunError naming the flag for an emitter or threshold setting an explore cannot run with."""
    if not 0 <= config.emit_share <= 1:
        raise RunError(f"--emit-share must be in [0, 1], got {config.emit_share!r}")
    if config.emit_steps < 0:
        raise RunError(f"--emit-steps must be ≥ 0, got {config.emit_steps!r}")
    if not config.emit_lr > 0:
        raise RunError(f"--emit-lr must be > 0, got {config.emit_lr!r}")
    if not 0 <= config.emit_views <= 1024:
        raise RunError(f"--emit-views must be in 0..1024, got {config.emit_views!r}")
    if config.emit_score not in ("log", "margin"):
        raise RunError(f"--emit-score must be log or margin, got {config.emit_score!r}")
    problem = check_alpha(config.threshold_alpha)
    if problem:
        raise RunError(problem)
