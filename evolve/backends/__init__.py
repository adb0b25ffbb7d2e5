"""Execution backends: where a search's batches of work run — in this process, or on Ray.

The search hands an evaluator batches of formulas (score them, give every class's probability,
tune their constants) and gets the answers back in order; it never knows where they ran. The
driver keeps the population or archive, every random state and the checkpoint, so a run's
folder is the same on either backend.

    evaluator = make_evaluator(Backend("ray", workers=2), build_evaluator, config)
    scores = evaluator(genomes)          # the same Scores as the in-process Evaluator's
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from evolve.errors import RunError

KINDS = ("local", "ray")


class BackendFailed(RunError):
    """The backend itself failed (the local Ray instance: one of Ray's own processes killed),
    not one scoring worker, which is restarted. The run's last checkpoint is untouched."""

    def __init__(self, reason: str):
        super().__init__(f"the Ray instance failed ({reason}); the run's last checkpoint is "
                         f"safe: resume it with `genart resume RUN`")
        self.reason = reason

    def resume_line(self, run) -> str:
        """The one error line, naming the run folder to resume."""
        return (f"the Ray instance failed ({self.reason}); the last checkpoint in {run} is "
                f"safe: resume with `genart resume {run}`")


@dataclass(frozen=True)
class Backend:
    """Which backend runs the work: `local` (in process) or `ray` with `workers` actors
    (None: one per GPU, else one per two CPUs) on the cluster at `address` (None: start one)."""
    kind: str = "local"
    workers: int | None = None
    address: str | None = None

    def __post_init__(self):
        if self.kind not in KINDS:
            raise RunError(f"unknown backend {self.kind!r}; use --backend local or ray")
        if self.workers is not None and not 1 <= self.workers <= 1024:
            raise RunError(f"--workers must be in 1..1024, got {self.workers}")
        if self.kind == "local" and (self.workers is not None or self.address):
            raise RunError("--workers and --address need --backend ray")


def make_evaluator(backend: Backend | None, factory: Callable, config, model=None):
    """`factory(config, model)` here (local), or on every Ray worker (it must be importable)."""
    if backend is None or backend.kind == "local":
        return factory(config, model)
    from evolve.backends.ray_workers import RayEvaluator
    return RayEvaluator(factory, config, workers=backend.workers, address=backend.address)
