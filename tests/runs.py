"""Helpers for tests that run genart as a user would: a subprocess, its checkpoint, a kill."""
import json
import os
import signal
import subprocess
import sys
import time

from evolve.runfolder.rundir import WALL_CLOCK_FIELDS

# Busy-waiting OpenMP threads stall a shared 2-core CPU; one thread each keeps runs side by side.
ENV = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE", "OMP_NUM_THREADS": "1"}


def genart(*args, **kwargs) -> subprocess.Popen:
    """`python -m evolve ARGS…` in the background, its output captured."""
    return subprocess.Popen([sys.executable, "-m", "evolve", *args], env=ENV,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def finished(process: subprocess.Popen, timeout: float = 180) -> str:
    """Its standard output, once it has exited 0 (its standard error otherwise fails the test)."""
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return out


def comparable(path) -> dict:
    """A run folder's checkpoint without the wall-clock fields two equal runs may differ in."""
    state = json.loads((path / "checkpoint.json").read_text())
    for name in WALL_CLOCK_FIELDS:
        state.pop(name)
    return state


def kill_at_generation(process: subprocess.Popen, out, generation: int,
                       timeout: float = 120) -> dict:
    """SIGKILL the run once its checkpoint holds `generation`; the checkpoint it left behind."""
    checkpoint = out / "checkpoint.json"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if json.loads(checkpoint.read_text())["generation"] >= generation:
                break
        except (OSError, ValueError, KeyError):    # not written yet, or being replaced
            pass
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.communicate()
    return json.loads(checkpoint.read_text())
