"""CMA-MAE archive thresholds: annealed acceptance, so a cell keeps admitting near-elites.

Fontaine & Nikolaidis, "Covariance Matrix Adaptation MAP-Annealing" (GECCO 2023): each cell c
has a threshold t_c; a candidate of fitness f is admitted when f > t_c, and then
t_c ← (1 − α)·t_c + α·f. α = 1 is the plain elitist archive, α → 0 admits almost anything
above the first occupant; since only f > t_c moves t_c, a threshold only ever rises. An empty
cell's threshold starts at its first occupant's fitness (ours can be negative, so no fixed
floor fits every objective).
"""
from __future__ import annotations

import math

import torch


def anneal(thresholds: torch.Tensor, best: torch.Tensor,
           alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
    """thresholds (C,) (−inf: empty cell), the batch's best fitness per cell (C,) →
    (admitted (C,) bool, new thresholds (C,)); new ≥ old everywhere."""
    admitted = best > thresholds                                            # (C,)
    stepped = torch.where(torch.isinf(thresholds), best,
                          (1 - alpha) * thresholds + alpha * best)          # (C,)
    return admitted, torch.where(admitted, stepped, thresholds)


def check_alpha(alpha) -> str | None:
    """None if alpha is a usable learning rate (None: off, or a number in (0, 1]), else why."""
    if alpha is None:
        return None
    if not isinstance(alpha, (int, float)) or math.isnan(alpha) or not 0 < alpha <= 1:
        return f"--threshold-alpha must be in (0, 1], got {alpha!r}"
    return None
