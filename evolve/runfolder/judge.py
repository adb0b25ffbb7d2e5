"""The held-out judge: a network selection never sees scores each generation's leader and
every record on a fixed, seeded set of views — the run's honest, transfer-aware score.

It runs after a generation is made and draws no random number from any global generator, so
two runs that differ only in their judge evolve identical populations (tested). A record also
gets the training networks' numbers on the same fixed views, its spectral slope and the
training target mass.
"""
from __future__ import annotations

from collections import OrderedDict

import torch

from genart import render_batch
from scorers import (AUDIT_VIEWS, JUDGE_SEED, ModelUnavailableError, draw_views, judge_scores,
                     load_model, resolve_classes, spectral_slope)

from evolve.errors import RunError

from evolve.search.robust import is_robust, scoring_networks
from evolve.search.settings import RunConfig

CACHE = 256            # judged formulas remembered (a leader often stays for generations)
# The robust bar (issues 20, 21): the first training network ranks the target top-1 on ≥ 90 % of
# the audit's 64 fixed views, and the judge has it in its top 5 on the median view.
BAR_TOP1, BAR_RANK = 0.9, 5


class Judge:
    """Scores formulas on `model` over `views` fixed views (seed JUDGE_SEED), rendered at
    the model's native input size; results cached by formula text."""

    def __init__(self, model, classes: list[int], *, views: int):
        self.model, self.classes = model, list(classes)
        self.views = draw_views(views, JUDGE_SEED)
        self._cache: OrderedDict[str, dict] = OrderedDict()

    def score(self, genome) -> dict:
        """{probability, top1_rate, median_rank, margin, top_class} of one formula."""
        text = str(genome)
        if text not in self._cache:
            self._cache[text] = judged(genome, self.model, self.classes, self.views)
            while len(self._cache) > CACHE:
                self._cache.popitem(last=False)
        return self._cache[text]


def judged(genome, model, classes: list[int], views) -> dict:
    """One formula rendered at `model`'s native size, scored over fixed `views` (a row)."""
    with torch.inference_mode():
        image = render_batch([genome], model.input_size, model.device)
    return judge_scores(image, model, classes, views).row(0)


def make_judge(config: RunConfig, device: torch.device) -> Judge | None:
    """The run's judge, or None (--judge none, a layer target, or --fooling without --judge)."""
    name = config.judge_name()
    if name is None or str(config.target).strip().startswith("layer:"):
        return None
    try:
        model = load_model(name, device, compile=config.compile)
    except ModelUnavailableError as error:
        raise RunError(f"{error}; or run without a held-out judge: --judge none") from None
    return Judge(model, resolve_classes(config.target, model.class_names),
                 views=config.judge_views)


def log_fields(judge: Judge | None, genome) -> dict:
    """The judge's numbers for a log line (judge_score: its mean target probability)."""
    if judge is None:
        return {}
    row = judge.score(genome)
    return {"judge_score": row["probability"], "judge_top1": row["top1_rate"],
            "judge_rank": row["median_rank"], "judge_margin": row["margin"]}


def record_fields(judge: Judge | None, config: RunConfig, genome, image: torch.Tensor,
                  device) -> dict:
    """A record's extra JSON: judge row, training networks on the judge's views, slope.
    `image` (1, 3, H, W) is the record's render at the scoring size (what selection saw)."""
    fields = {"target_prob": genome.parts.get("target_prob"),
              "mode": "robust" if is_robust(config) else "fooling",
              "networks": scoring_networks(config)}
    fields["spectral_slope"] = float(spectral_slope(image)[0])
    if judge is None:
        return fields
    names = judge.model.class_names
    row = dict(judge.score(genome), model=judge.model.name, views=judge.views.count)
    row["top_class"] = names[row["top_class"]]
    fields["judge"] = row
    training = {}
    for name in config.model_names():
        model = load_model(name, device)
        scores = judged(genome, model, judge.classes, judge.views)
        scores["top_class"] = names[scores["top_class"]]
        training[name] = scores
    fields["training_views"] = training
    return fields


def meets_bar(first: dict, judge: dict) -> bool:
    """The robust bar on two judge rows: the first training network's and the judge's."""
    return first["top1_rate"] >= BAR_TOP1 and judge["median_rank"] <= BAR_RANK


def robust_bar(judge: Judge | None, config: RunConfig, genome, device) -> bool | None:
    """Whether a picture meets the robust bar on the audit's 64 views as `genart audit` finds
    it (screened first, as `screen` and `past_screen` say). None: no judge."""
    if judge is None:
        return None
    return screen(judge, config, [genome], device)[0] and past_screen(judge, config, genome,
                                                                      device)


def screen(judge: Judge, config: RunConfig, genomes: list, device) -> list[bool]:
    """The bar's cheap first test, for many pictures in one batch: the first training network
    ranks the target top-1 on ≥ BAR_TOP1 of the judge's 16 views (the 64-view check costs ~130
    network passes a picture; most pictures fail here)."""
    if not genomes:
        return []
    first = load_model(config.model_names()[0], device)
    with torch.inference_mode():
        images = render_batch(genomes, first.input_size, device)
    rates = judge_scores(images, first, judge.classes, judge.views).top1_rate
    return [bool(rate >= BAR_TOP1) for rate in rates]


def past_screen(judge: Judge, config: RunConfig, genome, device) -> bool:
    """The rest of the bar for a screened picture: the judge's median rank on its 16 views
    (cached), then both networks on the audit's 64 views, from one render at the larger
    network's native size, which each network's views resize — as `genart audit` does (a render
    at 224 for Lite0 passed pictures the audit's 260 failed)."""
    if judge.score(genome)["median_rank"] > BAR_RANK:
        return False
    first = load_model(config.model_names()[0], device)
    with torch.inference_mode():
        image = render_batch([genome], max(first.input_size, judge.model.input_size), device)
    views = draw_views(AUDIT_VIEWS, JUDGE_SEED)
    return meets_bar(judge_scores(image, first, judge.classes, views).row(0),
                     judge_scores(image, judge.model, judge.classes, views).row(0))
