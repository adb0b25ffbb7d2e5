"""Constant tuning (memetic step): Adam on a formula's numeric constants through the renderer.

Subtree GP alone climbs a class probability very slowly on a CPU; gradient ascent on the
constants of a capacity-rich formula climbs fast (docs: "Measured facts"). The result is
written back into the tree, so it stays a plain formula that re-renders at any size.

    for step in 1..S:  f = fitness_of(render(g, constants=θ));  keep best θ;  θ ← Adam(θ, ∇f)
"""
from __future__ import annotations

import torch

from genart import Genome, constants_of, render_batch, with_constants
from scorers import fitness_of


def tune_constants(genomes: list[Genome], objective, naturalness, *, size: int,
                   device: torch.device, steps: int,
                   lr: float | list[float]) -> tuple[list[Genome], list[float]]:
    """Tune all `genomes` together for `steps` Adam steps; returns the best constants seen.

    `lr` is one learning rate, or one per genome (a batch can try one genome at two rates).

    Returns the tuned copies (fitness not set) and the fitness each had when its constants were
    scored — never below its starting fitness, since the starting point is one of the candidates.
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
    best_values = [p.detach().clone() for p in params]
    best_fitness = torch.full((len(chosen),), float("-inf"))
    for step in range(steps + 1):                   # the last pass only scores the last step
        images = render_batch(chosen, size, device, constants=params)      # (K, 3, H, W)
        fitness = fitness_of(images, objective, naturalness)               # (K,)
        scored = fitness.detach().cpu()
        for k in torch.nonzero(scored > best_fitness).flatten().tolist():
            best_fitness[k] = scored[k]
            best_values[k] = params[k].detach().clone()
        if step == steps:
            break
        optimiser.zero_grad(set_to_none=True)
        (-fitness.sum()).backward()
        optimiser.step()
    for k, i in enumerate(tunable):
        result[i] = with_constants(genomes[i], best_values[k].cpu().tolist())
        best[i] = float(best_fitness[k])
    return result, best
