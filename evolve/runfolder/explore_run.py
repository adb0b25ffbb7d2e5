"""An explore run in a RunDir: budgets, log lines, atomic checkpoints, the archive on disk, resume.

Same folder anatomy as evolve (config.json with kind "explore", log.jsonl, checkpoint.json,
index.html, fitness.png) plus archive.json, report.json and cells/NNNN.png + NNNN.formula per
occupied cell. The checkpoint is written before the archive files, so archive.json never holds
an elite the checkpoint lacks, and a resume rewrites the archive files from the checkpoint.
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch

from genart import parse, render_batch, save_png
from scorers import load_model

from evolve.errors import RunError
from evolve.backends import Backend, make_evaluator
from evolve.search.explore import Explorer, ExploreConfig, explore_evaluator, target_classes
from evolve.runfolder.gallery import build_gallery
from evolve.runfolder.rundir import RunDir, write_atomic, write_json
from evolve.runfolder.session import drive, extend_budget
from evolve.search.settings import resolve_device

log = logging.getLogger(__name__)


@dataclass
class ExploreSession:
    """One invocation of explore/resume; `evolution` is named as in evolve's Session so
    evolve's budget helpers apply unchanged."""
    run: RunDir
    config: ExploreConfig
    evolution: Explorer
    elapsed_before: float = 0.0
    started: float = field(default_factory=time.monotonic)
    last_checkpoint: float = field(default_factory=time.monotonic)
    last_export: float = field(default_factory=time.monotonic)
    exported: dict = field(default_factory=dict)        # cell → formula written to cells/
    tuned_before: int = 0                                # tuning evaluations already logged
    passes_before: int = 0                               # network passes already logged

    @property
    def elapsed(self) -> float:
        return self.elapsed_before + time.monotonic() - self.started


def is_explore_run(path) -> bool:
    """True when the run folder's config says kind 'explore' (routes `genart resume`)."""
    config = Path(path) / "config.json"
    try:
        return json.loads(config.read_text(encoding="utf-8")).get("kind") == "explore"
    except (OSError, json.JSONDecodeError, AttributeError):
        return False


def build_explorer(config: ExploreConfig, model=None, backend: Backend | None = None) -> Explorer:
    """The Explorer for `config`, its batches on `backend` (default: in process)."""
    device = resolve_device(config.device)
    model = model or load_model(config.model, device)
    classes = target_classes(config.target, model.class_names)     # unknown class: fails here
    evaluator = make_evaluator(backend, explore_evaluator, config, model)
    return Explorer(config, model, classes, device, evaluator)


def start_explore(path, config: ExploreConfig, model=None,
                  backend: Backend | None = None) -> ExploreSession:
    """A new explore folder (refuses an existing one) with its first batch scored."""
    RunDir.refuse_existing(path)
    explorer = build_explorer(config, model, backend)   # bad classes, model, cluster: fail first
    run = RunDir.create(path, config)
    run.lock()
    session = ExploreSession(run, config, explorer)
    (session.run.path / "cells").mkdir(exist_ok=True)
    explorer.start()
    _after_generation(session, explorer.evaluations, 0.0)
    return session


def resume_explore(path, *, extra_generations: int | None = None,
                   extra_seconds: float | None = None, model=None,
                   backend: Backend | None = None) -> ExploreSession:
    """Reopen an explore run at its last checkpoint; extra budgets extend it."""
    run = RunDir.open(path)
    state = run.load_checkpoint()
    if not isinstance(run.config, ExploreConfig):
        raise RunError(f"{run.config_path} is not an explore run's config; "
                       f"resume it with `genart resume {path}`")
    config = run.checkpoint_config(state)
    run.lock()
    explorer = build_explorer(config, model, backend)
    (run.path / "cells").mkdir(exist_ok=True)
    session = ExploreSession(run, config, explorer, exported=_on_disk(run))
    if state is None:                          # killed before its first checkpoint
        run.truncate_log(-1)
        explorer.start()
        _after_generation(session, explorer.evaluations, 0.0)
    else:
        if "archive" not in state:
            raise RunError(f"{run.checkpoint_path} has no archive; it is not an explore "
                           f"checkpoint")
        explorer.restore(state)
        run.truncate_log(state["generation"])
        session.elapsed_before = state["elapsed"]
        session.tuned_before = explorer.tuning_evaluations
        session.passes_before = explorer.counters()["network_passes"]
        export(session)                        # archive files as the checkpoint has them
    extend_budget(session, extra_generations, extra_seconds)
    return session


def drive_explore(session: ExploreSession, *, should_stop: Callable[[], bool] = lambda: False,
                  progress: Callable[[dict], None] | None = None) -> dict:
    """Generations until a budget is spent or should_stop(); then checkpoint and export."""
    return drive(session, should_stop=should_stop, progress=progress,
                 after_generation=_after_generation, at_end=_checkpoint_and_export)


def _checkpoint_and_export(session: ExploreSession) -> None:
    checkpoint(session)
    export(session)


def _after_generation(session: ExploreSession, made: int, seconds: float) -> dict:
    explorer, config = session.evolution, session.config
    tuned = explorer.tuning_evaluations - session.tuned_before
    session.tuned_before = explorer.tuning_evaluations
    passes = explorer.counters()["network_passes"] - session.passes_before
    session.passes_before += passes
    entry = explorer.stats()
    entry.update(scored=made, seconds=round(seconds, 3),
                 evals_per_s=round((made + tuned) / seconds, 2) if seconds else None,
                 passes=passes, passes_per_s=round(passes / seconds, 1) if seconds else None,
                 networks=explorer.networks, elapsed=round(session.elapsed, 2))
    session.run.append_log(entry)
    now = time.monotonic()
    if (explorer.generation % max(config.checkpoint_every, 1) == 0 or
            now - session.last_checkpoint >= 60 * config.checkpoint_minutes):
        checkpoint(session)
        if explorer.generation == 0 or now - session.last_export >= 60 * config.export_minutes:
            export(session)
    return entry


def checkpoint(session: ExploreSession) -> None:
    state = session.evolution.state()
    state["elapsed"] = session.elapsed
    session.run.save_checkpoint(state)
    session.last_checkpoint = time.monotonic()


# --- the archive on disk -------------------------------------------------------------------------

def cell_stem(run: RunDir, cell: int) -> Path:
    return run.path / "cells" / f"{cell:04d}"


def _on_disk(run: RunDir) -> dict:
    """cell → formula of the cells/NNNN.formula files present (written last, after the PNG)."""
    found = {}
    for path in (run.path / "cells").glob("[0-9][0-9][0-9][0-9].formula"):
        found[int(path.stem)] = path.read_text(encoding="utf-8").strip()
    return found


def export(session: ExploreSession) -> dict:
    """cells/NNNN.png + .formula for changed cells, archive.json, report.json, gallery."""
    run, explorer = session.run, session.evolution
    cells = explorer.archive.cells
    names = explorer.model.class_names
    stale = sorted(c for c, e in cells.items() if session.exported.get(c) != e.formula)
    formulas = sorted({cells[c].formula for c in stale})
    for start in range(0, len(formulas), 64):
        chunk = formulas[start:start + 64]
        with torch.inference_mode():
            images = render_batch([parse(f) for f in chunk], session.config.size,
                                  explorer.device)                         # (n, 3, H, W)
        image_of = dict(zip(chunk, images))
        for c in (c for c in stale if cells[c].formula in image_of):
            stem = cell_stem(run, c)
            save_png(stem.with_suffix(".png"), image_of[cells[c].formula], cells[c].formula,
                     {"class": names[c], "confidence": cells[c].confidence})
            write_atomic(stem.with_suffix(".formula"), cells[c].formula + "\n")
            session.exported[c] = cells[c].formula
    for c in [c for c in session.exported if c not in cells]:     # none: cells only improve
        for suffix in (".png", ".formula"):
            cell_stem(run, c).with_suffix(suffix).unlink(missing_ok=True)
        del session.exported[c]
    write_json(run.path / "archive.json", archive_json(session))
    report = report_json(session)
    write_json(run.path / "report.json", report)
    build_gallery(run)
    session.last_export = time.monotonic()
    return report


def archive_json(session: ExploreSession) -> dict:
    explorer = session.evolution
    names = explorer.model.class_names
    archive = explorer.archive
    data = {"networks": explorer.networks, "passes_per_image": explorer.passes_per_image,
            "generation": explorer.generation,
            "classes": archive.classes,
            "cells": {str(c): {"class": c, "name": names[c], "formula": e.formula,
                               "confidence": e.confidence, "fitness": e.fitness,
                               "residual": e.residual, "generation": e.generation,
                               "image": f"cells/{c:04d}.png"}
                      for c, e in sorted(archive.cells.items())}}
    if archive.alpha is not None:         # CMA-MAE: each cell's threshold and admitted parent
        data["threshold_alpha"] = archive.alpha
        for c, entry in data["cells"].items():
            entry["threshold"] = archive.thresholds.get(int(c))
            entry["parent"] = archive.parent(int(c)).formula
    return data


def report_json(session: ExploreSession) -> dict:
    explorer = session.evolution
    report = explorer.archive.summary(explorer.model.class_names)
    elapsed = session.elapsed
    total = explorer.evaluations + explorer.tuning_evaluations
    report.update(generation=explorer.generation, evaluations=explorer.evaluations,
                  tuning_evaluations=explorer.tuning_evaluations, **explorer.counters(),
                  qd_score=sum(explorer.archive.confidences()),
                  qd_note="sum over target classes of the cell's confidence (empty: 0)",
                  networks=explorer.networks, passes_per_image=explorer.passes_per_image,
                  passes_note="network passes: one image through one network once, forward "
                              "or backward (a robust image: views × networks forwards)",
                  threshold_alpha=explorer.archive.alpha, elapsed=round(elapsed, 2),
                  evals_per_s=round(total / elapsed, 2) if elapsed > 0 else None,
                  scored_per_s=round(explorer.evaluations / elapsed, 2) if elapsed > 0 else None)
    return report
