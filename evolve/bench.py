"""`genart bench`: throughput of every stage on one device, reported as figures and ratios.

Each part returns printable lines; the parts run in data-flow order (render → score → generation
→ dream) so one run shows where the time goes.
"""
from __future__ import annotations

import argparse
import random
import time
from typing import Callable

import torch


PAIRS = 11      # renderer/baseline timing pairs in the render part


def seconds_of(work: Callable[[], object], device: torch.device) -> float:
    """Wall seconds of work(), waiting for the device before and after."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    work()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


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

    from evolve.rundir import RunConfig
    from evolve.session import build_evolution

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


PARTS = {"render": render_part, "scoring": scoring_part, "generation": generation_part,
         "dream": dream_part}


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def run_bench(args: argparse.Namespace) -> int:
    device = resolve_device(args.device)
    print(f"genart bench: device={device} torch={torch.__version__} "
          f"threads={torch.get_num_threads()}")
    for name in args.parts or list(PARTS):
        for line in PARTS[name](device, args.seed):
            print(line, flush=True)
    return 0


def register(sub) -> None:
    parser = sub.add_parser("bench", help="measure render, scoring, generation and dream speed")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--parts", nargs="*", choices=list(PARTS), help="only these parts")
    parser.set_defaults(func=run_bench)
