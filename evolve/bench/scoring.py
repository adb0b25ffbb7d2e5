"""Scoring and generation parts: the CNN alone, a population score, a whole generation."""
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
    lines = [f"scoring  CNN efficientnet-lite0 {size}², batch {n}, img/s by chunk size: {shown}",
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
    lines.append(f"scoring  score_population (crab, fast naturalness, default chunk "
                 f"{default_chunk(device, n)}): {whole:.1f} img/s = {whole / rates[best]:.0%} "
                 "of the CNN alone")
    return lines


def generation_part(device: torch.device, seed: int) -> list[str]:
    """A whole generation against the CNN's own batched throughput (issue: evolve).

    Generation = vary + render + score (CNN and fast naturalness) + bookkeeping, constant tuning
    off (its cost is gradient steps, reported separately); the CNN alone runs on the same number
    of images of the same size in the same chunks. Best of 3, to resist a shared CPU.
    """
    from dataclasses import replace

    from evolve.search.settings import RunConfig
    from evolve.runfolder.session import build_evolution

    config = RunConfig(target="crab", population=32, seed=seed, device=device.type, tune=False,
                       crossover_prob=1.0, mutation_prob=1.0, elites=0)
    evolution, model = build_evolution(config)
    evolution.start()
    evaluator = evolution.evaluator

    def timed(work) -> float:
        return seconds_of(work, device)

    steps = []
    for _ in range(3):
        made = []
        seconds = timed(lambda: made.append(evolution.step()))
        steps.append((made[0] / seconds, made[0], seconds))
    generation, made, seconds = max(steps)
    images = evaluator.render(evolution.population)              # (N, 3, size, size)
    chunk = evaluator.chunk_size

    def cnn():
        with torch.inference_mode(), torch.autocast("cuda", torch.bfloat16,
                                                    enabled=device.type == "cuda"):
            for start in range(0, len(images), chunk):
                model.logits(images[start:start + chunk])

    cnn()
    alone = max(len(images) / timed(cnn) for _ in range(3))
    lines = [f"generation  pop {config.population} at {config.size}² (model input "
             f"{model.input_size}²), chunk {chunk}: {made} scored in {seconds:.2f} s = "
             f"{generation:.1f} img/s; CNN alone {alone:.1f} img/s; ratio "
             f"{generation / alone:.0%} (target ≥ 75%)"]
    tuned_config = replace(config, tune=True)
    tuned, _ = build_evolution(tuned_config, model)
    tuned.start()
    seconds = timed(tuned.step)
    lines.append(f"generation  with constant tuning ({tuned_config.tune_steps} Adam steps on "
                 f"{tuned_config.tune_share:.0%} of the population): {seconds:.2f} s per generation")
    return lines
