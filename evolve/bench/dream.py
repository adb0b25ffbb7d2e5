"""Dream part: seconds per DeepDream ascent step at 512² and 2048²."""
from __future__ import annotations

import random

import torch

from evolve.bench.timing import seconds_of


def dream_part(device: torch.device, seed: int) -> list[str]:
    """Seconds per dream step at 512² and 2048² (issue: dream): layer blocks.8, tiles of 512."""
    from scorers import LayerObjective, load_model
    from scorers.dream import ascent_step

    model = load_model("efficientnet-lite0", device)
    objective = LayerObjective(model, "blocks.8")
    rng, lines = random.Random(seed), []
    for size, repeats in ((512, 5), (2048, 2)):
        g = torch.Generator().manual_seed(seed)
        x = torch.rand(1, 3, size, size, generator=g).to(device)
        x = ascent_step(x, objective, rng, step_size=0.01, jitter=32, tile=512)   # warm-up
        per = seconds_of(lambda: [ascent_step(x, objective, rng, step_size=0.01, jitter=32,
                                              tile=512) for _ in range(repeats)], device) / repeats
        lines.append(f"dream step {size}x{size} (blocks.8, tile 512): {per:.3f} s/step")
    return lines
