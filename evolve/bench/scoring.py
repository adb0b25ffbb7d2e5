"""Scoring part: the CNN alone, naturalness, a population score (the generation: generation.py)."""
from __future__ import annotations


import torch

from evolve.bench.timing import seconds_of


def scoring_part(device: torch.device, seed: int) -> list[str]:
    """CNN alone, naturalness exact and fast, whole population score (issue: scorers)."""

    from scorers import Naturalness, load_model, make_objective, score_population, tv_residual
    from scorers.population import default_chunk

    def rate(work, count: int, repeat: int = 2) -> float:
        """Best-of-`repeat` throughput: robust to other processes on a shared CPU."""
        return count / min(seconds_of(work, device) for _ in range(repeat))

    model = load_model("efficientnet-lite0", device)
    n, size = 64, model.input_size
    g = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size),
                          indexing="ij")
    freq = torch.rand(n, 3, 2, 1, 1, generator=g) * torch.logspace(0, 2.3, n).view(n, 1, 1, 1, 1)
    images = torch.sigmoid(torch.sin(freq[:, :, 0] * x) + torch.cos(freq[:, :, 1] * y * x))
    images = images.to(device)                                  # (64, 3, 224, 224) formula-like

    def cnn(chunk: int):
        with torch.inference_mode(), torch.autocast("cuda", torch.bfloat16,
                                                    enabled=device.type == "cuda"):
            for start in range(0, n, chunk):
                model.logits(images[start:start + chunk])

    cnn(8)                                                      # warm-up
    rates = {chunk: rate(lambda: cnn(chunk), n) for chunk in (4, 8, 16, 32, 64)}
    best = max(rates, key=rates.get)
    shown = ", ".join(f"{c}: {r:.1f}" for c, r in rates.items())
    lines = [f"scoring  CNN efficientnet-lite0 {size}², batch {n} formula-like images (sigmoid of "
             f"sin/cos products), img/s by chunk size: {shown}",
             f"scoring  CNN alone at best chunk {best}: {rates[best]:.1f} img/s"]
    few = images[:8]
    exact = rate(lambda: tv_residual(few, 0.1, "exact"), len(few))
    with torch.inference_mode():
        tv_residual(few, 0.1, "fast")
        fast = rate(lambda: tv_residual(images, 0.1, "fast"), n)
    lines.append(f"scoring  naturalness exact (skimage, CPU): {exact:.1f} img/s; fast (torch, "
                 f"{device.type}): {fast:.1f} img/s = {fast / exact:.1f}x exact")
    objective, nat = make_objective("crab", model), Naturalness()
    whole = rate(lambda: score_population(images, objective, nat), n)
    lines.append(f"scoring  score_population (crab on {model.name} alone: 1 pass per image, "
                 f"fast naturalness, default chunk "
                 f"{default_chunk(device, n)}): {whole:.1f} img/s = {whole / rates[best]:.0%} "
                 "of the CNN alone")
    return lines
