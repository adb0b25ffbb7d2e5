"""Figure on a ground: RGBA images composited over random backgrounds, and a coverage charge.

Distill's "Differentiable Image Parameterizations" renders an object with an alpha channel
over a different random background at every step, so the class must be in a bounded figure
that reads on any ground, not in full-frame texture. Backgrounds here are smooth noise or flat
colours, drawn from a seed (the views' seed: redrawn every generation and every Adam step).

The charge is a band, not Distill's (1 − mean α) factor: our class score is a signed logit
margin, and multiplying a negative margin by (1 − α) *rewards* vanishing; a linear cost is
knife-edge (issue 20: 0.5 fills the frame, 1.5 vanishes). Inside [low, high] coverage is free,
outside it costs `cost` margin units per unit of coverage, pushing back from both ends.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from scorers.errors import ScorerError

NOISE_CELLS = (2, 6)       # smooth-noise lattice cells across a background, drawn per background
FLAT_SHARE = 0.5           # share of backgrounds that are one flat colour


def draw_backgrounds(k: int, size, seed: int) -> torch.Tensor:
    """(k, 3, H, W) CPU backgrounds in [0, 1]: smooth noise (bicubic-upsampled random lattices)
    or flat colours, from `seed` (its own generator: same seed, same backgrounds)."""
    height, width = (size, size) if isinstance(size, int) else size
    g = torch.Generator().manual_seed(int(seed))
    out = []
    for _ in range(k):
        flat = torch.rand(1, generator=g).item() < FLAT_SHARE
        cells = int(torch.randint(NOISE_CELLS[0], NOISE_CELLS[1] + 1, (1,), generator=g))
        lattice = torch.rand(1, 3, cells + 1, cells + 1, generator=g)
        colour = torch.rand(1, 3, 1, 1, generator=g)
        if flat:
            out.append(colour.expand(1, 3, height, width))
        else:
            smooth = F.interpolate(lattice, size=(height, width), mode="bicubic",
                                   align_corners=True)
            out.append((0.5 * smooth + 0.5 * colour).clamp(0, 1))
    return torch.cat(out) if out else torch.zeros(0, 3, height, width)


def composite(rgba: torch.Tensor, backgrounds: torch.Tensor) -> torch.Tensor:
    """(N, 4, H, W) over backgrounds (1 or N, 3, H, W) → (N, 3, H, W). Differentiable."""
    if rgba.dim() != 4 or rgba.shape[1] != 4:
        raise ScorerError(f"composite wants RGBA images (N, 4, H, W), got {tuple(rgba.shape)}")
    alpha = rgba[:, 3:4]
    ground = backgrounds.to(rgba.device, rgba.dtype)
    return rgba[:, :3] * alpha + ground * (1 - alpha)


def coverage(rgba: torch.Tensor) -> torch.Tensor:
    """(N,) mean alpha: the share of the frame the figure covers."""
    return rgba[:, 3].flatten(1).mean(1)


@dataclass(frozen=True)
class CoverageBand:
    """Coverage inside [low, high] is free; outside, `cost` per unit of coverage."""

    low: float = 0.15
    high: float = 0.55
    cost: float = 10.0

    def __post_init__(self):
        if not 0 <= self.low <= self.high <= 1 or self.cost < 0:
            raise ScorerError(f"coverage band needs 0 <= low <= high <= 1 and cost >= 0, "
                              f"got {self.low}, {self.high}, {self.cost}")

    def charge(self, covered: torch.Tensor) -> torch.Tensor:
        """(N,) coverage → (N,) margin units to subtract."""
        return self.cost * (F.relu(self.low - covered) + F.relu(covered - self.high))


def on_ground(images: torch.Tensor, seed: int | None,
              band: CoverageBand | None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(RGB images, charge (N,) or None): RGBA composited over one background drawn from seed
    (shared by the batch, so a generation's figures meet the same ground); RGB as it is."""
    if images.shape[1] != 4:
        return images, None
    ground = draw_backgrounds(1, tuple(images.shape[-2:]), 0 if seed is None else seed)
    charge = band.charge(coverage(images)) if band is not None else None
    return composite(images, ground), charge
