"""Render part: our renderer against DEAP's compiled lambda evaluated per pixel."""
from __future__ import annotations

import random
import time

import torch

from evolve.bench.timing import seconds_of

PAIRS = 11      # renderer/baseline timing pairs in the render part


def render_part(device: torch.device, seed: int) -> list[str]:
    """Our renderer against DEAP's compiled lambda evaluated per pixel (issue: genome/render)."""
    import math
    import os
    import statistics
    from functools import partial

    from deap import gp

    from genart import PSET, random_genomes, render_batch
    from genart.plan import sharing
    from genart.render import render_threads

    size, crop, n = 224, 8, 64
    genomes = random_genomes(n, seed)
    # (a) DEAP's gp.compile (eval of our own trees, never user text), one pixel per call,
    # on a crop x crop patch at the centre of each image, extrapolated to size x size.
    coords = []
    for i in range(size // 2, size // 2 + crop):
        for j in range(size // 2, size // 2 + crop):
            x, y = (2 * j + 1 - size) / size, (size - 2 * i - 1) / size
            coords.append((x, y, math.hypot(x, y), math.atan2(y, x)))
    functions = [gp.compile(genome, PSET) for genome in genomes]   # compiled once, untimed

    def per_pixel_seconds() -> float:
        start = time.perf_counter()
        for func in functions:
            for pixel in coords:
                func(*pixel)
        return (time.perf_counter() - start) / (n * len(coords))

    # (b) our renderer, whole population per call, after a warm-up. The two are timed in
    # back-to-back pairs: this CPU's speed drifts by 1.5x over seconds (a shared VM), and a
    # pair sees one speed, so the median of the pairs' ratios is what the drift leaves alone.
    render_batch(genomes[:8], size, device)
    pairs = [(per_pixel_seconds(), seconds_of(lambda: render_batch(genomes, size, device), device))
             for _ in range(PAIRS)]
    baseline, times = [p for p, _ in pairs], [t for _, t in pairs]
    ratios = sorted(n * p * size * size / t for p, t in pairs)
    per_pixel = min(baseline)
    python_rate = 1.0 / (per_pixel * size * size)
    torch_rate = n / min(times)
    computed, total = sharing(genomes)
    state = random.getstate()                                 # mutated copies, as in evolution
    random.seed(seed)
    parents = random_genomes(8, seed + 1)
    mutants = [gp.mutUniform(type(p)(p), partial(gp.genGrow, min_=0, max_=2), PSET)[0]
               for p in parents for _ in range(8)]
    random.setstate(state)
    m_computed, m_total = sharing(mutants)
    return [
        f"render: {n} random genomes at {size}x{size}, device={device}, render threads="
        f"{render_threads(size * size, device)}, load average {os.getloadavg()[0]:.1f} "
        f"on {os.cpu_count()} CPUs",
        f"  per-pixel DEAP gp.compile lambda: {python_rate:10.3f} img/s "
        f"({per_pixel * 1e6:.1f} us/pixel best of {PAIRS}, median "
        f"{statistics.median(baseline) * 1e6:.1f}; {crop}x{crop} crop per genome)",
        f"  render_batch:                     {torch_rate:10.1f} img/s "
        f"(batch of {n} in {min(times) * 1e3:.0f} ms best of {PAIRS}, median "
        f"{statistics.median(times) * 1e3:.0f} ms)",
        f"  ratio:                            {statistics.median(ratios):10.0f}x "
        f"(median of {PAIRS} back-to-back pairs, range {ratios[0]:.0f}-{ratios[-1]:.0f}; "
        f"best over best {torch_rate / python_rate:.0f}x)",
        f"  sub-tree cache: random population computes {computed}/{total} primitive nodes "
        f"(hit rate {1 - computed / total:.0%}); 8 parents x 8 mutants {m_computed}/{m_total} "
        f"(hit rate {1 - m_computed / m_total:.0%})",
    ]
