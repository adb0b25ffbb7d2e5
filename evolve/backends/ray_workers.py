"""The Ray backend: actors that load the models once and render, score and tune formula text.

Each `ScoringWorker` builds the same in-process evaluator the local backend uses (from the
run's config, by the factory the driver names) and receives formulas, never images. A batch is
cut into fixed slices — the evaluator's own scoring chunks — so every image is scored in the same
company whatever the number of workers, and a slice retried on a restarted actor (Ray's
`max_restarts` / `max_task_retries`) gives the same numbers: a dead worker costs only time.
"""
from __future__ import annotations

import dataclasses
import math
import os
import socket

import torch

from genart import parse
from scorers import Scores
from scorers.population import default_chunk

from evolve.backends import BackendFailed
from evolve.errors import RunError
from evolve.search.settings import resolve_device

RESTARTS = 8          # a worker may die this many times in a run before the run gives up
INSTALL = "pip install 'genart[ray]'"


def import_ray():
    try:
        import ray
    except ImportError:
        raise RunError(f"--backend ray needs Ray: {INSTALL}") from None
    return ray


def connect(address: str | None, workers: int | None) -> bool:
    """Join the cluster at `address`, or start a local one; True if this call started it."""
    ray = import_ray()
    if ray.is_initialized():
        return False
    if address and address != "auto":
        reachable(address)
    try:
        if address:
            ray.init(address=address, logging_level="ERROR", log_to_driver=False)
        else:
            ray.init(num_cpus=max(workers or 0, os.cpu_count() or 1), include_dashboard=False,
                     logging_level="ERROR", log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise RunError(f"cannot reach a Ray cluster at {address or 'a new local instance'} "
                       f"({first}); start one with `ray start --head` or leave out --address") \
            from None
    return True


def reachable(address: str, timeout: float = 5.0) -> None:
    """RunError at once if nothing listens at HOST:PORT (ray.init would retry for minutes)."""
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise RunError(f"--address must be auto or HOST:PORT, got {address!r}")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as error:
        raise RunError(f"cannot reach a Ray cluster at {address} ({error.strerror or error}); "
                       f"start one with `ray start --head` there, or leave out --address") \
            from None


def gather(ray, futures):
    """ray.get, with a failure of Ray itself (its raylet, GCS or the actors' owner gone: Ray's
    restarts cannot help) as one BackendFailed line; an error raised by genart's own code in a
    worker comes back as it was raised."""
    try:
        return ray.get(futures)
    except ray.exceptions.RayTaskError:
        raise
    except ray.exceptions.RayError as error:
        text = str(error).strip()
        first = next((line for line in text.splitlines() if line.strip()), "")
        raise BackendFailed(f"{type(error).__name__}: {first[:160]}") from None


class ScoringWorker:
    """One actor: the evaluator built from the run's config, serving slices of formulas."""

    def __init__(self, factory, config, threads: int):
        torch.set_num_threads(threads)
        self.evaluator = factory(config, None)
        self.views_seed = None

    def _views(self, seed) -> None:
        """The generation's views, as the driver drew them (a restarted actor catches up here)."""
        if seed is not None and seed != self.views_seed:
            self.evaluator.use_views(seed)
            self.views_seed = seed

    def redraws(self) -> bool:
        return bool(getattr(self.evaluator, "redraws", False))

    def pid(self) -> int:
        return os.getpid()

    def chunks(self) -> tuple[int, int]:
        """Batch sizes the evaluator scores in: objective chunks, and every-class chunks."""
        return self.evaluator.chunk_size, default_chunk(self.evaluator.device, 1 << 30)

    def score(self, formulas: list[str], seed) -> Scores:
        self._views(seed)
        return self.evaluator([parse(f) for f in formulas])

    def probabilities(self, formulas: list[str], seed):
        self._views(seed)
        return self.evaluator.probabilities([parse(f) for f in formulas])

    def tune(self, formulas: list[str], steps: int, lr, cells, seed):
        self._views(seed)
        tuned, fitness = self.evaluator.tune([parse(f) for f in formulas], steps=steps, lr=lr,
                                             cells=cells)
        return [str(g) for g in tuned], fitness

    def climb(self, formulas: list[str], cells, steps: int, lr, views: int, kind: str,
              climb_seed: int, seed):
        self._views(seed)
        climbed = self.evaluator.climb([parse(f) for f in formulas], cells, steps=steps, lr=lr,
                                       views=views, kind=kind, seed=climb_seed)
        return [str(g) for g in climbed]


class RayEvaluator:
    """The in-process Evaluator's interface, its work spread over Ray actors."""

    def __init__(self, factory, config, *, workers: int | None = None,
                 address: str | None = None):
        ray = self.ray = import_ray()
        self.started = connect(address, workers)
        resources = ray.cluster_resources()
        gpus, cpus = int(resources.get("GPU", 0)), int(resources.get("CPU", 1))
        count = workers or gpus or max(1, cpus // 2)
        threads = (torch.get_num_threads() if count == 1
                   else max(1, (cpus if not gpus else cpus // max(gpus, 1)) // count))
        actor = ray.remote(ScoringWorker).options(
            num_cpus=0 if gpus else min(threads, max(cpus // count, 1)), num_gpus=1 if gpus else 0,
            max_restarts=RESTARTS, max_task_retries=RESTARTS)
        self.actors = [actor.remote(factory, config, threads) for _ in range(count)]
        self.slice, self.every_class_slice = gather(ray, self.actors[0].chunks.remote())
        self.size, self.device = config.size, resolve_device(config.device)   # driver's renders
        self.redraws = gather(ray, self.actors[0].redraws.remote())
        self.views_seed = None

    def use_views(self, seed: int) -> None:
        """The views every later batch is scored under (sent with each task)."""
        self.views_seed = seed

    def pids(self) -> list[int]:
        return gather(self.ray, [a.pid.remote() for a in self.actors])

    def _spread(self, method: str, items: list, size: int, *extra) -> list:
        """Call `method` on consecutive slices of `size` items, round-robin over the actors."""
        slices = [items[i:i + size] for i in range(0, len(items), size)]
        futures = [getattr(self.actors[k % len(self.actors)], method).remote(part, *extra,
                                                                             self.views_seed)
                   for k, part in enumerate(slices)]
        return gather(self.ray, futures)

    def __call__(self, genomes) -> Scores:
        texts = [str(g) for g in genomes]
        unique = list(dict.fromkeys(texts))
        parts = self._spread("score", unique, self.slice)
        merged = Scores(**{f.name: (None if getattr(parts[0], f.name) is None else
                                    torch.cat([getattr(p, f.name) for p in parts]))
                           for f in dataclasses.fields(Scores)})
        slot = {t: i for i, t in enumerate(unique)}
        index = torch.tensor([slot[t] for t in texts], dtype=torch.long)
        return Scores(**{f.name: (None if getattr(merged, f.name) is None else
                                  getattr(merged, f.name)[index])
                         for f in dataclasses.fields(Scores)})

    def probabilities(self, genomes):
        n = len(genomes)
        size = min(self.every_class_slice, max(1, math.ceil(n / len(self.actors))))
        if self.every_class_slice < n:       # CPU: whole chunks, as in process
            size = self.every_class_slice
        parts = self._spread("probabilities", [str(g) for g in genomes], size)
        return torch.cat([p for p, _ in parts]), torch.cat([r for _, r in parts])

    def tune(self, genomes, *, steps: int, lr, cells=None):
        """One task per actor, the genomes split evenly (one actor: the whole batch in one)."""
        n = len(genomes)
        if n == 0:
            return [], []
        per = math.ceil(n / len(self.actors))
        rates = [lr] * n if isinstance(lr, (int, float)) else list(lr)
        futures = []
        for k, start in enumerate(range(0, n, per)):
            part = slice(start, start + per)
            futures.append(self.actors[k].tune.remote(
                [str(g) for g in genomes[part]], steps, rates[part],
                None if cells is None else cells[part], self.views_seed))
        tuned, fitness = [], []
        for formulas, values in gather(self.ray, futures):
            tuned += [parse(f) for f in formulas]
            fitness += values
        return tuned, fitness

    def climb(self, genomes, cells, *, steps: int, lr, views: int, kind: str, seed: int):
        """The gradient emitter's batch, split evenly over the actors like `tune` (each part's
        trajectory step-major, the parts one after another)."""
        n = len(genomes)
        if n == 0:
            return []
        per = math.ceil(n / len(self.actors))
        futures = [self.actors[k].climb.remote([str(g) for g in genomes[start:start + per]],
                                               list(cells[start:start + per]), steps, lr, views,
                                               kind, seed, self.views_seed)
                   for k, start in enumerate(range(0, n, per))]
        return [parse(f) for formulas in gather(self.ray, futures) for f in formulas]
