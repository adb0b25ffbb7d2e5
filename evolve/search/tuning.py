"""Constant tuning (memetic step): Adam on a formula's numeric constants through the renderer.

Subtree GP alone climbs a class probability very slowly on a CPU; gradient ascent on the
constants of a capacity-rich formula climbs fast (docs: "Measured facts"). The result is
written back into the tree, so it stays a plain formula that re-renders at any size.

    for step in 1..S:  f = fitness_of(render(g, constants=θ));  keep best θ;  θ ← Adam(θ, ∇f)

With an objective over random views (`redrawn(seed)`, scorers.EnsembleObjective) and a
`view_seed`, every step sees fresh views (Expectation over Transformation, Athalye et al. 2018).
"""
from __future__ import annotations

from typing import Callable

import torch

from genart import Genome, constants_of, render_batch, with_constants
from genart.regularity import coordinate_coefficients
from scorers import fitness_of

from evolve.search.stopping import abandon_if_asked


def tune_constants(genomes: list[Genome], objective, naturalness, *, size: int,
                   device: torch.device, steps: int,
                   lr: float | list[float],
                   view_seed: Callable[[int], int] | None = None,
                   should_stop: Callable[[], bool] | None = None,
                   render_options: dict | None = None, max_frequency: float = 0.0,
                   first_candidate: int = 0,
                   tail_mean: int = 0,
                   turns: bool = False) -> tuple[list[Genome], list[float]]:
    """Tune all `genomes` together for `steps` Adam steps; returns the best constants seen (or,
    with `tail_mean`, their mean over the last steps).

    `lr` is one learning rate, or one per genome (a batch can try one genome at two rates).
    `view_seed(step)`: the seed of step's views when the objective redraws them (else unused).
    `should_stop()` is looked at before every step: True raises GenerationAbandoned.
    `render_options`: render_batch's alpha/mirror; `max_frequency` > 0 clamps every factor of
    x, y or r (genart.regularity.coordinate_coefficients) to ±max_frequency after each step.
    `first_candidate` 1: the starting constants are no candidate (a caller that holds the
    result against its start on views of its own; else the start's lucky views can win).
    `tail_mean` k > 0: return the mean of the constants after each of the last k steps instead
    of the best seen (Polyak averaging: one step's easy views pick no winner); its fitness is
    then the last step's, the mean itself unscored.
    `turns`: step k scores an ensemble objective's network k mod M alone (`by_turns`), so a
    step costs one network's pass and consecutive steps see every network.

    Returns the tuned copies (fitness not set) and the fitness each had when its constants were
    scored — never below its starting fitness when the starting point is one of the candidates
    (with views redrawn per step each value is under its own step's views).
    Genomes without constants come back unchanged with fitness -inf (not scored here).
    """
    tunable = [i for i, g in enumerate(genomes) if constants_of(g)]
    result = list(genomes)
    best = [float("-inf")] * len(genomes)
    if not tunable or steps <= 0:
        return result, best
    chosen = [genomes[i] for i in tunable]
    params = [torch.tensor(constants_of(g), dtype=torch.float32, device=device,
                           requires_grad=True) for g in chosen]
    rates = [lr] * len(genomes) if isinstance(lr, (int, float)) else list(lr)
    optimiser = torch.optim.Adam([{"params": [p], "lr": rates[i]}
                                  for p, i in zip(params, tunable)])
    limits = [_frequency_limits(g, max_frequency, device) for g in chosen] if max_frequency else []
    best_values = [p.detach().clone() for p in params]
    best_fitness = torch.full((len(chosen),), float("-inf"))
    if tail_mean > 0:                               # the mean replaces the best seen
        best_values, first_candidate = [torch.zeros_like(p) for p in params], steps + 1
    for step in range(steps + 1):                   # the last pass only scores the last step
        abandon_if_asked(should_stop)
        with torch.set_grad_enabled(step < steps):  # (so it records no graph for a backward)
            images = render_batch(chosen, size, device, constants=params,
                                  **(render_options or {}))                # (K, 3|4, H, W)
            seen = (objective.redrawn(view_seed(step)) if view_seed is not None
                    and hasattr(objective, "redrawn") else objective)
            seen = seen.by_turns(step) if turns and hasattr(seen, "by_turns") else seen
            fitness = fitness_of(images, seen, naturalness)                # (K,)
        scored = fitness.detach().cpu() if step >= first_candidate else best_fitness
        for k in torch.nonzero(scored > best_fitness).flatten().tolist():
            best_fitness[k] = scored[k]
            best_values[k] = params[k].detach().clone()
        if step == steps:
            break
        optimiser.zero_grad(set_to_none=True)
        (-fitness.sum()).backward()
        optimiser.step()
        if max_frequency > 0:
            _clamp_frequencies(params, limits)
        if step >= steps - tail_mean:
            for total, p in zip(best_values, params):
                total += p.detach() / min(tail_mean, steps)
    if tail_mean > 0:
        best_fitness = fitness.detach().cpu()
    for k, i in enumerate(tunable):
        result[i] = with_constants(genomes[i], best_values[k].cpu().tolist())
        best[i] = float(best_fitness[k])
    return result, best


def _frequency_limits(genome: Genome, bound: float, device) -> torch.Tensor:
    """Per constant: ±bound for a factor of x, y or r, inf for the others."""
    flags = torch.tensor(coordinate_coefficients(genome), dtype=torch.bool, device=device)
    return torch.where(flags, bound, float("inf"))


def _clamp_frequencies(params: list[torch.Tensor], limits: list[torch.Tensor]) -> None:
    with torch.no_grad():
        for p, limit in zip(params, limits):
            p.copy_(torch.maximum(torch.minimum(p, limit), -limit))


class CellObjective:
    """Row k of the batch is scored as the probability of classes[k] (tuning toward cells)."""

    def __init__(self, model, classes: list[int]):
        self.model = model
        self.classes = torch.tensor(classes, dtype=torch.long)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        probs = self.model.logits(images).float().softmax(1)                # (K, 1000)
        return probs[torch.arange(len(self.classes)), self.classes.to(probs.device)]
