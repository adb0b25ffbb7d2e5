"""Backend part: one generation's scoring in process and on Ray with 1 and 2 workers, and
what a Ray round trip costs per batch."""
from __future__ import annotations

import statistics

import torch

from genart import parse

from evolve.bench.timing import seconds_of
from evolve.runfolder.session import build_evaluator
from evolve.search import operators
from evolve.search.rng import seed_everything
from evolve.search.settings import RunConfig

REPEATS = 3


def backend_part(device: torch.device, seed: int, *, population: int = 32,
                 size: int = 128) -> list[str]:
    """evals/s of one generation's batch: local, Ray ×1, Ray ×2; Ray's overhead per batch."""
    from evolve.backends.ray_workers import RayEvaluator, connect, import_ray
    config = RunConfig(target="crab", population=population, size=size, device=str(device),
                       seed=seed)                                   # the default robust search
    seed_everything(seed)
    genomes = operators.initial_population(population, config.start())
    tiny = [parse("x")]

    def rate(evaluator) -> tuple[float, float]:
        evaluator(genomes)                                           # warm-up: plans, kernels
        best = min(seconds_of(lambda: evaluator(genomes), device) for _ in range(REPEATS))
        trip = statistics.median(seconds_of(lambda: evaluator(tiny), device) for _ in range(5))
        return population / best, trip

    local_rate, local_trip = rate(build_evaluator(config))
    passes = len(config.model_names()) * max(config.views, 1)
    lines = [f"backend  {population} default genomes at {size}² (crab, {config.models}, "
             f"{config.views} views = {passes} network passes per image, no tuning), "
             f"best of {REPEATS}, device={device}",
             f"backend  local:    {local_rate:7.1f} evals/s   (1-image batch "
             f"{local_trip * 1e3:.0f} ms)"]
    ray = import_ray()
    started = connect(None, 2)
    try:
        for workers in (1, 2):
            evaluator = RayEvaluator(build_evaluator, config, workers=workers)
            ray_rate, trip = rate(evaluator)
            lines.append(f"backend  ray x{workers}:   {ray_rate:7.1f} evals/s = "
                         f"{ray_rate / local_rate:.2f}x local   (1-image batch {trip * 1e3:.0f} ms,"
                         f" overhead {max(trip - local_trip, 0) * 1e3:.0f} ms per batch)")
            for actor in evaluator.actors:
                ray.kill(actor)
    finally:
        if started:
            ray.shutdown()
    return lines
