"""Budgets honoured inside a generation: a time budget or a stop request abandons the generation
mid-tuning, the checkpoint is the last complete one, and a resumed run ends as if never stopped."""
import inspect
import json
import signal
import subprocess
import sys
import time

from evolve.cli import main
from evolve.runfolder.session import drive, extend_budget, resume_run, start_run
from evolve.search.settings import RunConfig
from runs import ENV, comparable
from scorers import passes_counted


def small(**budget) -> RunConfig:
    """A fooling run of one network (the test's Lite0), tiny renders, no judge, no hires."""
    values = dict(target="crab", fooling=True, judge="none", population=4, size=48,
                  record_size=0, tune_steps=4, tune_share=0.25, seed=5, device="cpu")
    return RunConfig(**{**values, **budget})


def release(session) -> None:
    """Drop the run folder's lock, as the process exiting would (a resume in this process)."""
    session.run._lock_file.close()


def logged(path) -> list[int]:
    return [json.loads(line)["generation"]
            for line in (path / "log.jsonl").read_text().splitlines()]


def network_passes() -> int:
    return sum(n for (_, kind), n in passes_counted().items() if kind != "grad")


def test_a_time_budget_stops_tuning_mid_generation_and_the_run_resumes(lite0, tmp_path):
    out = tmp_path / "budget"
    session = start_run(out, small(seconds=3.0, tune_steps=10_000), model=lite0)
    extend_budget(session, None, 3.0)            # 3 s from here, however long the start took
    budget = session.config.seconds
    before, began = network_passes(), time.monotonic()
    drive(session)
    took = time.monotonic() - began
    assert took < 15, f"a 3 s budget ran {took:.1f} s"
    assert network_passes() - before > 4         # it was tuning (10 000 steps cannot finish)
    state = json.loads((out / "checkpoint.json").read_text())
    assert state["generation"] == 0 and logged(out) == [0]    # the half generation: not kept
    assert budget <= state["elapsed"] < budget + 5            # its seconds count all the same
    assert len(state["population"]) == 4 and state["tuning_evaluations"] == 0
    release(session)

    session = resume_run(out, extra_seconds=1.5, model=lite0)
    began = time.monotonic()
    drive(session)
    assert time.monotonic() - began < 10
    again = json.loads((out / "checkpoint.json").read_text())
    assert again["generation"] == 0 and logged(out) == [0]
    assert again["elapsed"] >= state["elapsed"] + 1.5
    assert again["population"] == state["population"] and again["rng"] == state["rng"]
    release(session)


def test_stopped_mid_tuning_and_resumed_ends_identical_to_uninterrupted(lite0, tmp_path):
    reference = start_run(tmp_path / "reference", small(generations=3), model=lite0)
    drive(reference)
    release(reference)

    out = tmp_path / "stopped"
    session = start_run(out, small(generations=3), model=lite0)
    where = []

    def stop_in_second_generations_tuning() -> bool:
        """Asked in the loop and then before each Adam step: fires at generation 2's step 1."""
        if session.evolution.generation != 1:
            return False
        where.append([frame.function for frame in inspect.stack()])
        return len(where) >= 3

    drive(session, should_stop=stop_in_second_generations_tuning)
    assert "tune_constants" in where[-1]                     # it fired inside the tuning
    assert comparable(out)["generation"] == 1 and logged(out) == [0, 1]
    release(session)

    session = resume_run(out, model=lite0)
    drive(session)
    release(session)
    assert logged(out) == [0, 1, 2, 3]
    resumed, uninterrupted = comparable(out), comparable(tmp_path / "reference")
    # A stopped run saves its best so far as a record: one record more, the rest identical.
    assert resumed.pop("records") == uninterrupted.pop("records") + 1
    assert resumed == uninterrupted                          # population, RNG, hall, last record
    stopped_at = json.loads((out / "records" / "0001.json").read_text())
    assert stopped_at["generation"] == 1


def test_sigint_mid_generation_leaves_a_checkpoint_that_resume_continues(tmp_path):
    out = tmp_path / "sigint"
    command = [sys.executable, "-m", "evolve", "evolve", "crab", "--fooling", "--pop", "4",
               "--size", "48", "--record-size", "0", "--judge", "none", "--tune-steps", "20",
               "--tune-share", "0.25", "--seed", "2", "--device", "cpu", "--generations", "1",
               "--quiet", "--out", str(out)]
    process = subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    deadline = time.monotonic() + 90
    while not (out / "checkpoint.json").exists() and time.monotonic() < deadline:
        time.sleep(0.02)                               # generation 0 scored, logged, saved
    time.sleep(0.4)                                    # generation 1's 20 Adam steps under way
    process.send_signal(signal.SIGINT)
    signalled = time.monotonic()
    out_text, err = process.communicate(timeout=60)
    stopped_in = time.monotonic() - signalled
    assert process.returncode == 0, err
    assert stopped_in < 8, f"SIGINT took {stopped_in:.1f} s to stop the run"
    assert f"genart resume {out}" in out_text
    state = json.loads((out / "checkpoint.json").read_text())
    assert state["generation"] == 0 and logged(out) == [0], "it finished the generation"

    assert main(["resume", str(out), "--quiet"]) == 0         # the command, in this process
    state = json.loads((out / "checkpoint.json").read_text())
    assert state["generation"] == 1 and logged(out) == [0, 1]
    assert state["tuning_evaluations"] == 21
