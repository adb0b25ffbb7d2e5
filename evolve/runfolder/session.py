"""Drive an Evolution inside a RunDir: budgets, log lines, records, checkpoints, gallery.

`start_run` / `resume_run` build the pieces (model, objective, naturalness, evaluator) from a
RunConfig and hand them to `drive`, which loops until a budget is spent or `should_stop()`
says so, checkpointing atomically; a run killed at any point resumes from its last checkpoint
and, with a fixed seed on the CPU, ends exactly as if it had never stopped.
"""
from __future__ import annotations

import json
import logging
import math
import time
from dataclasses import dataclass, field, replace
from typing import Callable

from genart import render_batch, save_png
from scorers import passes_counted

from evolve.runfolder.gallery import build_gallery
from evolve.runfolder.harvest import harvest_at_bar, polish_round
from evolve.runfolder.judge import log_fields, make_judge
from evolve.runfolder.records import class_name, record_best, write_record
from evolve.backends import Backend, BackendFailed, make_evaluator
from evolve.errors import RunError
from evolve.search.loop import Evaluator, Evolution, make_naturalness, scalar
from evolve.runfolder.rundir import RunDir, write_json
from evolve.search.robust import build_objective, drawn_genome, render_options, scoring_networks
from evolve.search.settings import RunConfig, resolve_device
from evolve.search.stopping import GenerationAbandoned, never

log = logging.getLogger(__name__)
RECORD_EVERY_S = 600     # a smaller gain than record_gain is still recorded after this long
FRONT_SHOWN = 32          # Pareto-front members written to pareto/ and shown in the gallery


@dataclass
class Session:
    """What one invocation of evolve/resume holds: the run, its search and its counters."""
    run: RunDir
    config: RunConfig
    evolution: Evolution
    model: object
    records: int = 0
    last_record: float = float("-inf")
    last_formula: str = ""               # the genome text of the last best record
    lineage: int = 0                     # the search's lineage the two marks above belong to
    elapsed_before: float = 0.0          # seconds of evolution in earlier invocations
    last_record_time: float = 0.0        # run seconds at the last record (not checkpointed)
    started: float = field(default_factory=time.monotonic)
    last_checkpoint: float = field(default_factory=time.monotonic)
    judge: object = None                 # the held-out network (runfolder.judge), or None
    polisher: object = None              # --harvest-polish's ConstantPolisher, made when needed
    passes_mark: tuple[int, float] = field(default_factory=lambda: _passes_mark())

    @property
    def elapsed(self) -> float:
        return self.elapsed_before + time.monotonic() - self.started


def build_evaluator(config: RunConfig, model=None) -> Evaluator:
    """Model, objective and naturalness for `config` in one in-process Evaluator (the factory
    the Ray workers call too, so both backends score alike)."""
    device = resolve_device(config.device)
    objective, model = build_objective(config, device, model)    # ensemble and views, or one
    return Evaluator(objective, make_naturalness(config), size=config.size, device=device,
                     chunk_size=config.forward_chunk(device), model=model,
                     tune_view_size=config.tune_view_size, tune_views=config.tune_views,
                     render_options=render_options(config),
                     max_frequency=config.max_frequency, tune_turns=config.tune_turns)


def build_evolution(config: RunConfig, model=None,
                    backend: Backend | None = None) -> tuple[Evolution, object]:
    """An Evolution whose batches run on `backend` (default: in process), and the driver's
    model (class names, records)."""
    local = build_evaluator(config, model)          # bad target or model: fails here, first
    model = local.model
    evaluator = local if backend is None or backend.kind == "local" else \
        make_evaluator(backend, build_evaluator, config)
    return Evolution(config, evaluator), model


def start_run(path, config: RunConfig, model=None, backend: Backend | None = None) -> Session:
    """A new run folder (refuses an existing one) with its first population scored."""
    RunDir.refuse_existing(path)
    evolution, model = build_evolution(config, model, backend)   # bad target, model, cluster:
                                                                 # fail before mkdir
    judge = make_judge(config, resolve_device(config.device))
    run = RunDir.create(path, config)
    run.lock()
    session = Session(run, config, evolution, model, judge=judge)
    evolution.start()
    _after_generation(session, evolution.evaluations, 0.0)
    return session


def resume_run(path, *, extra_generations: int | None = None,
               extra_seconds: float | None = None, model=None,
               backend: Backend | None = None) -> Session:
    """Reopen a run at its last checkpoint; extra budgets extend it from where it stands."""
    run = RunDir.open(path)
    state = run.load_checkpoint()          # RunError on a corrupt file, before anything changes
    config = run.checkpoint_config(state)
    run.lock()
    run.records.mkdir(exist_ok=True)
    evolution, model = build_evolution(config, model, backend)
    judge = make_judge(config, resolve_device(config.device))
    if state is None:                     # killed before its first checkpoint: start over
        run.truncate_log(-1)
        run.drop_records_from(0)
        session = Session(run, config, evolution, model, judge=judge)
        evolution.start()
        _after_generation(session, evolution.evaluations, 0.0)
    else:
        evolution.restore(state)
        run.truncate_log(state["generation"])
        run.drop_records_from(state["records"])
        session = Session(run, config, evolution, model, records=state["records"],
                          last_record=state["last_record"],
                          last_formula=state.get("last_formula", ""),
                          lineage=evolution.lineage,
                          elapsed_before=state["elapsed"],
                          last_record_time=state["elapsed"], judge=judge)
    extend_budget(session, extra_generations, extra_seconds)
    return session


def extend_budget(session, generations: int | None, seconds: float | None) -> None:
    """`genart resume --generations/--minutes`: more budget from where the run stands, written
    into the session, its search and config.json (evolve and explore sessions alike)."""
    if generations is None and seconds is None:
        return
    config = replace(session.config,
                     generations=None if generations is None
                     else session.evolution.generation + generations,
                     seconds=None if seconds is None else session.elapsed + seconds)
    session.config = session.evolution.config = config
    session.run.write_config(config)


def budget_left(session: Session) -> bool:
    c = session.config
    if c.generations is not None and session.evolution.generation >= c.generations:
        return False
    if c.seconds is not None and session.elapsed >= c.seconds:
        return False
    return c.generations is not None or c.seconds is not None


def time_spent(session: Session) -> bool:
    """True once a time budget is spent (looked at inside generations too)."""
    return session.config.seconds is not None and session.elapsed >= session.config.seconds


def drive(session: Session, *, should_stop: Callable[[], bool] = lambda: False,
          progress: Callable[[dict], None] | None = None,
          after_generation: Callable | None = None, at_end: Callable | None = None) -> dict:
    """Run generations until a budget is spent or should_stop(); checkpoint; return last stats.

    `after_generation(session, made, seconds) -> log entry` and `at_end(session)` default to
    evolve's (log, records, checkpoint; final record and gallery); explore passes its own.
    should_stop() and the time budget are looked at inside a generation too (between Adam steps
    and scoring chunks): the generation is then abandoned, unlogged, and the search put back to
    its state after the last complete one, which at_end checkpoints and a resume redoes from.
    """
    after_generation = after_generation or _after_generation
    logged = session.run.read_log()
    entry = logged[-1] if logged else {}
    if progress and entry:
        progress(entry)
    evolution = session.evolution
    complete = json.dumps(evolution.state())       # as a checkpoint holds it, RNGs included
    evolution.evaluator.should_stop = lambda: should_stop() or time_spent(session)
    try:
        while budget_left(session) and not should_stop():
            began = time.monotonic()
            try:                 # a harvest's polish (after_generation) may be abandoned too
                made = evolution.step()
                entry = after_generation(session, made, time.monotonic() - began)
            except GenerationAbandoned:            # half a generation: RNGs, views, hall moved
                evolution.restore(json.loads(complete))
                log.info("generation %d abandoned at %.1f s", evolution.generation + 1,
                         session.elapsed)
                break
            complete = json.dumps(evolution.state())
            if progress:
                progress(entry)
    except BackendFailed as error:        # Ray itself died: the last checkpoint stands
        raise RunError(error.resume_line(session.run.path)) from None
    finally:
        evolution.evaluator.should_stop = never
    (at_end or finish)(session)
    return entry


def _after_generation(session: Session, made: int, seconds: float) -> dict:
    """Log line, record if the best moved enough, checkpoint on schedule."""
    evolution, config = session.evolution, session.config
    tuned = (config.tune_steps + 1) * _tuned_count(config) if evolution.generation else 0
    leader = max(evolution.population, key=scalar)      # judged after selection, never in it
    if not harvest_at_bar(session):                # before stats: the log counts it
        polish_round(session)                      # a harvest polished once more, if due
    entry = evolution.stats()
    entry["top_class"] = class_name(session.model, entry["top_class_index"])
    entry.update(scored=made, seconds=round(seconds, 3),
                 evals_per_s=round((made + tuned) / seconds, 2) if seconds else None,
                 elapsed=round(session.elapsed, 2))
    entry.update(log_fields(session.judge, drawn_genome(config, leader)))   # as it is drawn
    entry.update(_network_passes(session), networks=scoring_networks(config))
    session.run.append_log(entry)
    if evolution.lineage != session.lineage:       # a new lineage is recorded from its start
        session.lineage, session.last_record, session.last_formula = (
            evolution.lineage, float("-inf"), "")
    best = evolution.best
    stale = session.elapsed - session.last_record_time >= RECORD_EVERY_S
    if (scalar(best) >= session.last_record + config.record_gain
            or (stale and scalar(best) > session.last_record)):
        record_best(session)
    niche = evolution.portfolio.due_record(best)           # a look's gain (search.portfolio)
    if niche is not None:
        write_record(session, evolution.portfolio.elite(niche), niche)
    due = (evolution.generation % max(config.checkpoint_every, 1) == 0 or
           time.monotonic() - session.last_checkpoint >= 60 * config.checkpoint_minutes)
    if due:
        checkpoint(session)
    return entry


def _passes_mark() -> tuple[int, float]:
    """(images through every network so far, forward and backward; monotonic time)."""
    counted = passes_counted()
    return sum(n for (_, kind), n in counted.items() if kind != "grad"), time.monotonic()


def _network_passes(session: Session) -> dict:
    """passes: images through the networks (forward + backward, judge included) since the last
    log line, counted where each network is called; passes_per_s over that span. None on a
    remote backend, whose passes happen in its workers."""
    (before, since), (now, at) = session.passes_mark, _passes_mark()
    session.passes_mark = (now, at)
    if not isinstance(session.evolution.evaluator, Evaluator):
        return {"passes": None, "passes_per_s": None}
    return {"passes": now - before,
            "passes_per_s": round((now - before) / (at - since), 1) if at > since else None}


def _tuned_count(config: RunConfig) -> int:
    if not config.tune or config.tune_steps <= 0 or config.tune_share <= 0:
        return 0
    return max(1, math.ceil(config.tune_share * config.population))


def checkpoint(session: Session) -> None:
    state = session.evolution.state()
    state.update(records=session.records, last_record=session.last_record,
                 last_formula=session.last_formula, elapsed=session.elapsed)
    session.run.save_checkpoint(state)
    session.last_checkpoint = time.monotonic()


def finish(session: Session) -> None:
    """Final checkpoint, Pareto front (in --pareto runs) and gallery."""
    if scalar(session.evolution.best) > session.last_record:   # gains below record_gain
        record_best(session)
    checkpoint(session)
    if session.config.pareto:
        write_front(session)
    build_gallery(session.run)


def write_front(session: Session) -> None:
    """pareto/NN.png + NN.json for the non-dominated (objective, −residual) set; pareto.json."""
    folder = session.run.path / "pareto"
    folder.mkdir(exist_ok=True)
    for old in folder.glob("*"):
        old.unlink()
    front = sorted(session.evolution.hall_of_fame, key=lambda g: -g.parts["objective"])
    if len(front) > FRONT_SHOWN:                     # evenly spaced along the front
        front = [front[round(i * (len(front) - 1) / (FRONT_SHOWN - 1))]
                 for i in range(FRONT_SHOWN)]
    device = session.evolution.evaluator.device
    entries = []
    for i, genome in enumerate(front):
        parts = {k: genome.parts[k] for k in ("objective", "residual", "fitness")}
        image = render_batch([genome], session.config.size, device)[0]
        save_png(folder / f"{i:02d}.png", image, str(genome), parts)
        write_json(folder / f"{i:02d}.json", parts)
        entries.append({"formula": str(genome), **parts})
    write_json(session.run.path / "pareto.json", entries)
