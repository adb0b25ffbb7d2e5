"""Wall-clock timing that waits for the device, shared by the bench parts."""
from __future__ import annotations

import time
from typing import Callable

import torch


def seconds_of(work: Callable[[], object], device: torch.device) -> float:
    """Wall seconds of work(), waiting for the device before and after."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    work()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start
