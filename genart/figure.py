"""Figure genomes: `figure(colour, alpha)` paints a colour formula through an alpha formula.

A figure is a root-only primitive (never drawn by random trees, never nested): its first
argument is the colour formula (squashed as any formula), its second the alpha formula
(squashed to [0, 1], channels averaged). A plain render composites the figure over
PLAIN_BACKGROUND, so callers that want RGB get a picture that looks right; `alpha=True`
renders (N, 4, H, W) for the scorers, which composite it over backgrounds of their own.
"""
from __future__ import annotations

import torch
from deap import gp

from genart.errors import GenartError
from genart.primitives import COLOUR, PSET, SCALAR, Genome

FIGURE = gp.Primitive("figure", [object, object], object)
PLAIN_BACKGROUND = (1.0, 1.0, 1.0)      # records, judge and gallery see figures on white
PSET.mapping["figure"] = FIGURE             # so DEAP and our parser know the name
PSET.context["figure"] = lambda colour, alpha: colour      # one-pixel semantics: its colour


def is_figure(genome) -> bool:
    """True when the genome's root is `figure`."""
    return len(genome) > 0 and genome[0] is FIGURE


def make_figure(colour: Genome, alpha: Genome) -> Genome:
    """figure(colour, alpha) from two plain formulas."""
    if is_figure(colour) or is_figure(alpha):
        raise GenartError("figure(colour, alpha) cannot hold another figure")
    return Genome([FIGURE, *colour, *alpha])


def figure_parts(genome) -> tuple[Genome, Genome | None]:
    """(colour formula, alpha formula) of a figure; (the genome, None) of a plain one."""
    if not is_figure(genome):
        return genome, None
    colour = genome.searchSubtree(1)
    return Genome(genome[colour]), Genome(genome[colour.stop:])


def constant_count(genome) -> int:
    """How many values constants_of gives (colours count 3)."""
    return sum(3 if isinstance(n, COLOUR) else 1 if isinstance(n, SCALAR) else 0 for n in genome)


def composite(rgba: torch.Tensor, background) -> torch.Tensor:
    """(N, 4, H, W) over a background (a (3,) colour or (N|1, 3, H, W) images) -> (N, 3, H, W)."""
    if not isinstance(background, torch.Tensor):
        background = torch.tensor(background, dtype=rgba.dtype, device=rgba.device)
    if background.dim() == 1:
        background = background.view(1, 3, 1, 1)
    alpha = rgba[:, 3:4]
    return rgba[:, :3] * alpha + background.to(rgba.device, rgba.dtype) * (1 - alpha)
