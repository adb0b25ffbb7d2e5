"""Cheap image descriptors a person can see: dominant hue and level of detail.

They name the niches of a portfolio of distinct images (evolve.search.portfolio): two images in
different niches differ in colour or in texture at a glance. Pure functions over (N, 3, H, W).

    niche = hue · len(DETAIL_NAMES) + detail       hue: 6 colour sextants or grey
                                                   detail: spectral slope in 3 bands
"""
from __future__ import annotations

import torch

from scorers.naturalness import spectral_slope

HUE_NAMES = ("red", "yellow", "green", "cyan", "blue", "magenta", "grey")
DETAIL_NAMES = ("smooth", "soft", "detailed")
GREY_CHROMA = 0.05        # mean chroma (max − min channel) below this: the image reads as grey
# spectral slope bands (amplitude ~ 1/f^α): start-form renders at 64 px spread over about
# −4.7 … −0.5 with terciles near −2.2 and −1.6; photographs fall at −0.8 … −1.5 (detailed)
DETAIL_EDGES = (-2.2, -1.6)
NICHES = len(HUE_NAMES) * len(DETAIL_NAMES)


def dominant_hue(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) in [0, 1] → (N,) long: the hue sextant (0 red … 5 magenta) holding the
    most chroma, or 6 (grey) when the mean chroma is below GREY_CHROMA."""
    images = images.detach().float()
    high, top = images.max(1)                                           # (N, H, W)
    chroma = high - images.min(1).values
    r, g, b = images.unbind(1)
    safe = chroma.clamp_min(1e-8)
    hue = torch.where(top == 0, ((g - b) / safe) % 6,                   # in [0, 6)
                      torch.where(top == 1, (b - r) / safe + 2, (r - g) / safe + 4))
    sextant = hue.round().long() % 6                                    # centred on 0, 60, …
    mass = torch.zeros(images.shape[0], 6, device=images.device)
    mass.scatter_add_(1, sextant.flatten(1), chroma.flatten(1))         # (N, 6)
    grey = chroma.flatten(1).mean(1) < GREY_CHROMA
    return torch.where(grey, torch.full_like(grey, 6, dtype=torch.long), mass.argmax(1))


def detail_level(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) → (N,) long: 0 smooth, 1 soft, 2 detailed, by the spectral slope against
    DETAIL_EDGES; an image without structure (slope 0 by convention) is smooth."""
    slope = spectral_slope(images)
    flat = images.detach().float().mean(1).flatten(1).std(1) < 1e-4
    edges = torch.tensor(DETAIL_EDGES, device=slope.device)
    level = torch.bucketize(slope, edges)
    return torch.where(flat, torch.zeros_like(level), level)


def niche_of(images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) → (N,) long in [0, NICHES): hue × detail."""
    return dominant_hue(images) * len(DETAIL_NAMES) + detail_level(images)


def niche_name(niche: int) -> str:
    """'blue, detailed': what a niche's images look like."""
    hue, detail = divmod(int(niche), len(DETAIL_NAMES))
    return f"{HUE_NAMES[hue]}, {DETAIL_NAMES[detail]}"
