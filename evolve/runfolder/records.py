"""A run's records: records/NNNN.png, _hires, _alpha, .formula and .json, written when the
best moves enough, a portfolio niche gains, or a picture is harvested at the robust bar."""
from __future__ import annotations

import torch

from genart import is_figure, render_batch, save_png

from evolve.runfolder.gallery import build_gallery
from evolve.runfolder.judge import record_fields
from evolve.runfolder.rundir import write_atomic, write_json
from evolve.search.loop import scalar
from evolve.search.robust import drawn_genome


def class_name(model, index: int) -> str:
    names = getattr(model, "class_names", None) or []
    return names[index] if 0 <= index < len(names) else str(index)


def record_best(session) -> None:
    """A record of the run's best, unless it is the last record's formula scored higher under
    this generation's views: then only the mark moves (no second record of the same picture)."""
    best = session.evolution.best
    if str(best) == session.last_formula:
        session.last_record = scalar(best)
        return
    write_record(session, best)


def write_record(session, genome, niche: int | None = None, *,
                 best_path: bool = True) -> None:
    """records/NNNN.png (scoring size), NNNN_hires.png, NNNN_alpha.png (figures, RGBA),
    NNNN.formula, NNNN.json; gallery.
    With `niche`: a portfolio look's gain; it, and a record with best_path=False (a harvested
    leader), leave the best's record mark alone."""
    config, evaluator = session.config, session.evolution.evaluator
    stem = session.run.record_stem(session.records)
    drawn = drawn_genome(config, genome)
    formula = str(drawn)
    image = render_batch([drawn], config.size, evaluator.device)          # (1, 3, H, W)
    with torch.inference_mode():
        probs = session.model.logits(image).float().softmax(1)[0]
    top = torch.topk(probs, 5)
    parts = genome.parts
    meta = {"number": session.records, "generation": session.evolution.generation,
            "lineage": session.evolution.lineage,
            "elapsed": round(session.elapsed, 2), "fitness": parts["fitness"],
            "objective": parts["objective"], "residual": parts["residual"],
            "penalty": parts["penalty"], "nodes": len(genome), "characters": len(formula),
            "target": config.target,
            "top5": [[class_name(session.model, i), p] for p, i in
                     zip(top.values.tolist(), top.indices.tolist())],
            **({"polish": parts["polish"]} if "polish" in parts else {})}
    meta.update(record_fields(session.judge, config, drawn, image, evaluator.device))
    if config.harvest and niche is None:
        meta["robust_bar"] = formula in session.evolution.portfolio.harvested
    meta.update(session.evolution.portfolio.record_fields(genome, niche))
    save_png(stem.with_suffix(".png"), image[0], formula,
             {"fitness": parts["fitness"], "generation": meta["generation"]})
    if config.record_size > 0:
        hires = render_batch([drawn], config.record_size, evaluator.device,
                             antialias=config.record_antialias)
        save_png(stem.parent / f"{stem.name}_hires.png", hires[0], formula,
                 {"fitness": parts["fitness"], "generation": meta["generation"]})
    if is_figure(drawn):                     # the figure alone, with its transparency
        rgba = render_batch([drawn], config.record_size or config.size, evaluator.device,
                            antialias=config.record_antialias if config.record_size else 1,
                            alpha=True)
        save_png(stem.parent / f"{stem.name}_alpha.png", rgba[0], formula,
                 {"fitness": parts["fitness"], "generation": meta["generation"]})
    write_atomic(stem.with_suffix(".formula"), formula + "\n")
    write_json(stem.with_suffix(".json"), meta)      # last: a record counts once its json exists
    session.records += 1
    if niche is not None:
        session.evolution.portfolio.recorded[niche] = parts["fitness"]
    elif best_path:
        session.last_record, session.last_formula = parts["fitness"], str(genome)
        session.last_record_time = session.elapsed
    build_gallery(session.run)
