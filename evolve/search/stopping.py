"""Stopping inside a generation: a stop request (time budget spent, Ctrl-C, SIGTERM) is looked at
between Adam steps and scoring chunks, and abandons the generation it interrupts.

The driver (evolve.runfolder.session.drive) then puts the search back to the state it had after
the last complete generation, so a checkpoint never holds half a generation and a resumed run
redoes it exactly (same RNG states, same views).
"""
from __future__ import annotations

from typing import Callable

import torch


class GenerationAbandoned(Exception):
    """A stop request reached inside a generation; the generation's work is discarded."""


def never() -> bool:
    """The stop request of a search nobody stops from outside (its budgets still apply)."""
    return False


def abandon_if_asked(should_stop: Callable[[], bool] | None) -> None:
    """Raise GenerationAbandoned when should_stop() says so (None: never)."""
    if should_stop is not None and should_stop():
        raise GenerationAbandoned


def in_slices(images, chunk: int, work: Callable, should_stop: Callable[[], bool] | None):
    """work(images[a:b]) for slices of `chunk` rows, looking at should_stop() before each; the
    slices' results (a tensor or a tuple of tensors) concatenated as work returns them.

    Slices of the chunk a scorer would use anyway leave every number as one call gives it.
    """
    parts = []
    for start in range(0, images.shape[0], max(chunk, 1)):
        abandon_if_asked(should_stop)
        parts.append(work(images[start:start + chunk]))
    if len(parts) == 1:
        return parts[0]
    if isinstance(parts[0], torch.Tensor):
        return torch.cat(parts)
    return type(parts[0])(torch.cat(p) for p in zip(*parts))
