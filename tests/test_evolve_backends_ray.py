"""The Ray backend on a local Ray instance started here: the same checkpoints as in process, a
worker killed mid-run costs nothing but time, and no Ray or no cluster is a one-line error."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from evolve.cli import main
from evolve.runfolder.rundir import WALL_CLOCK_FIELDS

ray = pytest.importorskip("ray")

EVOLVE = ["evolve", "crab", "--pop", "8", "--size", "32", "--record-size", "0",
          "--tune-steps", "2", "--seed", "3", "--device", "cpu", "--quiet"]
EXPLORE = ["explore", "--classes", "crab", "--pop", "8", "--size", "32", "--tune",
           "--tune-steps", "2", "--seed", "4", "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield
    ray.shutdown()


def checkpoint(run: Path) -> dict:
    state = json.loads((run / "checkpoint.json").read_text())
    for name in WALL_CLOCK_FIELDS:
        state.pop(name)
    return state


def worker_pids() -> list[int]:
    """PIDs of live genart Ray actors (their process title is ray::ScoringWorker…)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "cmdline").read_bytes().startswith(b"ray::ScoringWorker"):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


@pytest.mark.parametrize("command", [EVOLVE, EXPLORE], ids=["evolve", "explore"])
def test_one_ray_worker_ends_with_the_local_checkpoint(command, cluster, tmp_path):
    assert main([*command, "--generations", "2", "--out", str(tmp_path / "local")]) == 0
    assert main([*command, "--generations", "2", "--backend", "ray", "--workers", "1",
                 "--out", str(tmp_path / "ray")]) == 0
    assert checkpoint(tmp_path / "ray") == checkpoint(tmp_path / "local")


def test_a_killed_worker_costs_only_time(cluster, tmp_path):
    generations = ["--generations", "5", "--backend", "ray", "--workers", "1"]
    assert main([*EVOLVE, *generations, "--out", str(tmp_path / "calm")]) == 0
    killed, ended = [], threading.Event()

    def kill_one_mid_run():                  # until the run ends, however slow the machine is
        log = tmp_path / "killed" / "log.jsonl"
        while not ended.is_set() and not killed:
            lines = log.read_text().count("\n") if log.exists() else 0
            pids = worker_pids()
            if lines >= 2 and pids:              # generation 1 logged: kill during the next
                os.kill(pids[0], signal.SIGKILL)
                killed.append(pids[0])
            time.sleep(0.05)

    killer = threading.Thread(target=kill_one_mid_run, daemon=True)
    killer.start()
    assert main([*EVOLVE, *generations, "--out", str(tmp_path / "killed")]) == 0
    ended.set()
    killer.join()
    assert killed, "no worker was killed"
    assert killed[0] not in worker_pids()               # it really died; Ray restarted another
    calm, hurt = checkpoint(tmp_path / "calm"), checkpoint(tmp_path / "killed")
    assert hurt["evaluations"] == calm["evaluations"]
    assert hurt == calm


def test_no_ray_installed_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)       # `import ray` now fails
    assert main([*EVOLVE, "--generations", "1", "--backend", "ray",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'genart[ray]'" in err
    assert not (tmp_path / "o").exists()


def test_an_unreachable_cluster_is_one_line(tmp_path, capsys):
    if ray.is_initialized():
        ray.shutdown()
    assert main([*EVOLVE, "--generations", "1", "--backend", "ray", "--address", "127.0.0.1:9",
                 "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("genart: error: cannot reach a Ray cluster at 127.0.0.1:9")
    assert err.count("\n") == 1 and not (tmp_path / "o").exists()


def descendants(pid: int) -> list[int]:
    """Every live process below pid (children, grandchildren, …), from /proc."""
    parent_of = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent_of[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1]
                                                 .split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [], [pid]
    while frontier:
        children = [p for p, parent in parent_of.items() if parent in frontier]
        found += children
        frontier = children
    return found


def named(pids: list[int], name: bytes) -> list[int]:
    out = []
    for pid in pids:
        try:
            if name in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]:
                out.append(pid)
        except OSError:
            continue
    return out


def test_a_killed_ray_instance_is_one_line_naming_the_safe_checkpoint(tmp_path):
    """Ray's own raylet killed mid-run (not a scoring actor): one `genart: error:` line that
    says the checkpoint is safe and how to resume, not Ray's internal message; the checkpoint
    on disk is a whole one, and `genart resume` (in process) finishes the run from it.
    A fresh local Ray instance of its own (a subprocess): about 45 s on a loaded 2-core box."""
    out = tmp_path / "run"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OMP_WAIT_POLICY": "PASSIVE"}
    fooling = ["evolve", "crab", "--fooling", "--pop", "4", "--size", "32", "--record-size", "0",
               "--tune-steps", "0", "--seed", "3", "--device", "cpu", "--quiet"]
    process = subprocess.Popen([sys.executable, "-m", "evolve", *fooling, "--generations",
                                "10000", "--backend", "ray", "--workers", "1", "--out", str(out)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        log = out / "log.jsonl"
        while time.monotonic() < deadline and process.poll() is None:
            if log.exists() and log.read_text().count("\n") >= 2:
                break
            time.sleep(0.1)
        raylets = named(descendants(process.pid), b"raylet")
        assert raylets, "no raylet under the run's process"
        os.kill(raylets[0], signal.SIGKILL)
        _, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    errors = [line for line in err.splitlines() if line.startswith("genart: error:")]
    assert process.returncode == 2 and len(errors) == 1, err[-2000:]
    assert f"the last checkpoint in {out} is safe: resume with `genart resume {out}`" in errors[0]
    assert "Traceback" not in err and "owner has died" not in err
    state = json.loads((out / "checkpoint.json").read_text())
    assert state["generation"] >= 1
    assert main(["resume", str(out), "--generations", "1", "--quiet"]) == 0
