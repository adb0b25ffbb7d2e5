"""Polish a robust run's best records through their own constants (issue 20 item 5).

DeepDream's pixel steps buy one network and lose the others (issue 20: the README's polished
record went from crab on 9 % to 38 % of Lite0's views while another family's rank fell from
182 to 376). This polish keeps what the run bought: Adam on a record's constants under the
run's own objective — its networks, its class score, its view chances (with at least
--polish-thumb thumbnails and --polish-blur blurred views) and figure grounds, views redrawn
every step — rendered larger than the run scored, so the result is still a formula. The tuned
constants are the mean over the second half of the steps (Polyak averaging): the best seen, each
under its own step's views, was the luckiest draw; the mean gained more on unseen views and, on
young harvests, a little more on the judge (docs/measurements.md, wave 25).
The tuned constants are kept only if the run's fitness on a fixed view set drawn from the run's
seed is no lower (never the judge's views: those crops stay held out too); each network's own
score there is written beside it. The judge (the run's --judge on its fixed views) is reported
before and after, never consulted. Requiring each network alone to gain as well was tried: on
fresh seeds it kept under half as many rounds and they carried no better (docs/measurements.md,
wave 23).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, NamedTuple

import torch

from genart import parse, render_batch, save_png
from scorers import draw_views, fitness_by_network

from evolve.errors import RunError
from evolve.runfolder.gallery import build_gallery
from evolve.runfolder.judge import judged, make_judge, robust_bar
from evolve.runfolder.rundir import RunDir, write_json
from evolve.search.loop import make_naturalness
from evolve.search.robust import (build_objective, drawn_genome, is_robust,
                                  polish_view_chances, render_options, view_chances, view_seed)
from evolve.search.tuning import tune_constants

POLISH_STEPS = 40          # Adam steps per record
POLISH_TAIL = 0.5          # the tuned constants: their mean over this share of the last steps
POLISH_LR = 0.01           # a tenth of the run's 0.1: at 0.1 the README's robust record lost half
                           # its fixed-view fitness in 10 steps (4.02 -> 2.01); 0.01: 4.02 -> 4.04
POLISH_TUNE_SIZE = 256     # render side while tuning (a crab run now scores at 256 too; others 128)
POLISH_GENERATION = -2     # view seeds of polish steps: apart from every generation's
FIXED_VIEWS = 16           # the keep-or-not check: the run's networks on this many fixed views
FIXED_GENERATION = -3      # their seed: the run's own, apart from the judge's JUDGE_SEED views


class PolishOutcome(NamedTuple):
    """One polish: the genome kept (the tuned one, or the start itself), and on the fixed views
    the fitness and each network's class score before and after tuning."""

    genome: object
    fitness_before: float
    fitness_after: float
    networks_before: list[float]
    networks_after: list[float]


@dataclass
class ConstantPolish:
    """One polished record: its image path and the numbers written beside it."""

    stem: str
    path: Path
    scores: dict = field(default_factory=dict)


def tunes_constants(path: Path) -> bool:
    """True when the run at `path` is a robust run (ensemble and views): polish's default then
    tunes constants; fooling and layer runs keep the DeepDream polish."""
    return is_robust(RunDir.open(Path(path)).read_config())


def polish_constants(path: Path, *, top: int, size: int, steps: int = POLISH_STEPS,
                     tune_size: int = POLISH_TUNE_SIZE, lr: float = POLISH_LR,
                     device: torch.device, antialias: int = 2,
                     on_record: Callable[[str], None] | None = None) -> list[ConstantPolish]:
    """Tune the `top` best records of the robust run at `path` through their constants under
    the run's objective; write RUN/polished/NNNN.png (at `size`), .formula and .json (judge and
    fixed-view fitness before and after); rebuild the gallery."""
    run = RunDir.open(Path(path))
    config = run.read_config()
    if not is_robust(config):
        raise RunError(f"{path} is a --fooling or layer run: polish it with --dream")
    if top < 1 or steps < 1 or tune_size < 32:
        raise RunError("--top and --tune-steps must be at least 1 and --tune-size at least 32")
    entries = run.best_records(top)
    polisher = ConstantPolisher(config, device, steps=steps, tune_size=tune_size, lr=lr)
    judge = make_judge(config, device)
    out_dir = run.path / "polished"
    out_dir.mkdir(exist_ok=True)
    results = []
    for entry in entries:
        stem = entry["stem"]
        if on_record:
            on_record(stem)
        before = parse((run.records / f"{stem}.formula").read_text(encoding="utf-8").strip())
        outcome = polisher.polish(before)
        after = outcome.genome
        scores = {"record": stem, "mode": "constants", "kept": after is not before,
                  "steps": steps, "tail_mean": polisher.tail_mean, "lr": lr,
                  "tune_size": tune_size, "size": size,
                  "networks": config.model_names(),
                  "views": config.views, "view_chances": view_chances(config),
                  **fixed_scores(outcome), "formula": str(after)}
        if judge is not None:
            scores["judge"] = {"model": judge.model.name, "views": judge.views.count,
                               "before": _named(judged(before, judge.model, judge.classes,
                                                       judge.views), judge.model),
                               "after": _named(judged(after, judge.model, judge.classes,
                                                      judge.views), judge.model)}
        with torch.inference_mode():
            image = render_batch([after], size, device, antialias=antialias)[0]
        image_path = out_dir / f"{stem}.png"
        save_png(image_path, image, formula=str(after), meta={"polish": "constants"})
        (out_dir / f"{stem}.formula").write_text(str(after) + "\n", encoding="utf-8")
        write_json(out_dir / f"{stem}.json", scores)
        results.append(ConstantPolish(stem, image_path, scores))
    build_gallery(run)
    return results


class ConstantPolisher:
    """Adam on one formula's constants under a robust run's objective (views redrawn every
    step, seeded apart from every generation's), averaged over the last `tail_mean` steps and
    kept only if the run's fitness on FIXED_VIEWS fixed views is no lower."""

    def __init__(self, config, device: torch.device, *, steps: int = POLISH_STEPS,
                 tune_size: int = POLISH_TUNE_SIZE, lr: float = POLISH_LR):
        self.config, self.device = config, device
        self.steps, self.tune_size, self.lr = steps, tune_size, lr
        self.tail_mean = max(1, round(POLISH_TAIL * steps))
        self.objective, _ = build_objective(config, device, chances=polish_view_chances(config))
        self.fixed = self.objective.with_views(
            draw_views(FIXED_VIEWS, view_seed(config.seed, FIXED_GENERATION),
                       **view_chances(config)))
        self.naturalness, self.options = make_naturalness(config), render_options(config)

    def polish(self, before, *, draw: int = 0, should_stop=None) -> PolishOutcome:
        """The tuned genome, or `before` itself when tuning lost fitness on the fixed views or
        found no better constants than its own; with the fixed views' numbers (each network's
        too). `draw` k: the k-th polish's own views."""
        c = self.config
        (tuned,), _ = tune_constants(
            [before], self.objective, self.naturalness, size=self.tune_size, device=self.device,
            steps=self.steps, lr=self.lr, render_options=self.options,
            view_seed=lambda step: view_seed(c.seed, POLISH_GENERATION, draw * 1000 + step),
            should_stop=should_stop, max_frequency=c.max_frequency, first_candidate=1,
            tail_mean=self.tail_mean)
        (fit_before, fit_after), (nets_before, nets_after) = self.scored([before, tuned])
        kept = fit_after >= fit_before and str(tuned) != str(before)   # the start may be best
        return PolishOutcome(tuned if kept else before, fit_before, fit_after,
                             nets_before, nets_after)

    def scored(self, genomes: list) -> tuple[list[float], list[list[float]]]:
        """The run's fitness of formulas under the fixed views and, per formula, each network's
        class score there: one batch, no gradients."""
        with torch.inference_mode():
            images = render_batch(genomes, self.tune_size, self.device, **self.options)
            fitness, networks = fitness_by_network(images, self.fixed, self.naturalness)
            return fitness.tolist(), networks.T.tolist()

    def fitness(self, genomes: list) -> list[float]:
        """The run's fitness of formulas under the fixed views, one batch (no gradients)."""
        return self.scored(genomes)[0]


def fixed_scores(outcome: PolishOutcome) -> dict:
    """A polish's fixed-view numbers as run files write them."""
    return {"fixed_fitness_before": outcome.fitness_before,
            "fixed_fitness_after": outcome.fitness_after,
            "fixed_networks_before": outcome.networks_before,
            "fixed_networks_after": outcome.networks_after}


def _named(row: dict, model) -> dict:
    return {**row, "top_class": model.class_names[row["top_class"]]}


def constant_polish_lines(results: list[ConstantPolish]) -> list[str]:
    """One printed line per record: the judge's numbers before -> after, and what was kept."""
    lines = []
    for r in results:
        s = r.scores
        kept = "tuned constants kept" if s["kept"] else "tuning lost on fixed views: unchanged"
        text = (f"{r.path}: fitness on fixed views {s['fixed_fitness_before']:.3f} -> "
                f"{s['fixed_fitness_after']:.3f} ({kept})")
        if "judge" in s:
            b, a = s["judge"]["before"], s["judge"]["after"]
            text += (f"; judge {s['judge']['model']}: p {b['probability']:.3f} -> "
                     f"{a['probability']:.3f}, top-1 {b['top1_rate']:.2f} -> "
                     f"{a['top1_rate']:.2f}, rank {b['median_rank']:.0f} -> "
                     f"{a['median_rank']:.0f}")
        lines.append(text)
    return lines


def polished_harvest(polisher: ConstantPolisher, judge, genome, *, draw: int,
                     should_stop=None, apart=None, **about):
    """--harvest-polish: a harvest (a search genome at the robust bar) polished through its
    constants, when the run's fitness on fixed views is no lower, it is still
    `apart` (a predicate: e.g. from every other harvest) and it still meets the bar; else None,
    the harvest's own parts saying why. The `polish` part: its fixed-view fitness and networks'
    scores before and after, kept, twin, at_bar, and `about` (which harvest, which round). No
    global RNG is drawn from: a resumed run polishes alike."""
    config, device = polisher.config, polisher.device
    outcome = polisher.polish(genome, draw=draw, should_stop=should_stop)
    polished = outcome.genome
    kept = polished is not genome
    twin = kept and apart is not None and not apart(polished)
    at_bar = (kept and not twin
              and bool(robust_bar(judge, config, drawn_genome(config, polished), device)))
    info = {"steps": polisher.steps, "lr": polisher.lr, "tail_mean": polisher.tail_mean,
            **fixed_scores(outcome), "kept": kept,
            "twin": twin, "at_bar": at_bar, **about}
    if not at_bar:                            # recorded as found, saying why
        genome.parts = {**genome.parts, "polish": info}
        return None
    polished.parts = {**genome.parts, "polish": info}
    return polished
