"""Robust class objectives: several networks, each at its native size, over shared random views.

A target image made on one network rarely transfers; made on an ensemble it transfers far more
often (Liu et al. 2017), and made over random views it survives framing (Athalye et al. 2018).
So the training score is a non-saturating class score — the logit margin log(p / (1 − p)) of
the target mass p, or log p — averaged over K views and M models (log space, so a network
that disagrees costs as much as one that agrees pays). A held-out judge network scores on a
fixed view set and never takes part in selection.

    objective = EnsembleObjective([lite0, lite1], "crab", draw_views(4, seed))
    values, probs = objective.evaluate(images)          # (N,), (N, 1000): fits score_population
    held_out = judge_scores(images, lite2, "crab", draw_views(16, JUDGE_SEED))
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from scorers.classes import resolve_classes
from scorers.errors import ScorerError
from scorers.figure import CoverageBand, on_ground
from scorers.models import Classifier
from scorers.views import Views, apply_views, draw_views

KINDS = ("margin", "log")
COMBINES = ("mean", "softmin")   # over networks: the plain mean, or a soft minimum (the laggard)
AUDIT_VIEWS = 64       # `genart audit`'s fixed view count
JUDGE_SEED = 1_000_003  # the judge's and the audit's fixed view seed (never a training seed)
CPU_FORWARD = 8        # images per forward on the CPU (see scorers.population.CPU_CHUNK)


def class_score(logits: torch.Tensor, mask: torch.Tensor, kind: str = "margin") -> torch.Tensor:
    """(M, 1000) logits → (M,) score of the target classes (mask (1000,) or (M, 1000) bool).

    margin: logsumexp(target logits) − logsumexp(other logits) = log(p / (1 − p)), which keeps
    rising (gradient ≈ 1 per unit of logit) where p saturates; log: log p, the log target mass.
    """
    logits = logits.float()
    target = logits.masked_fill(~mask, float("-inf")).logsumexp(1)
    if kind == "margin":
        return target - logits.masked_fill(mask, float("-inf")).logsumexp(1)
    if kind == "log":
        return target - logits.logsumexp(1)
    raise ScorerError(f"class score must be one of {', '.join(KINDS)}, not {kind!r}")


def view_logits(images: torch.Tensor, model: Classifier, views: Views, *,
                chunk_size: int | None = None, size: int | None = None) -> torch.Tensor:
    """Logits of every view of every image at the model's native size (or `size`: cheaper
    tuning views). Differentiable.

    Shape: (N, 3, H, W) → (K', N, 1000), K' = max(K, 1); the forward runs in chunks of
    `chunk_size` views (default: all on CUDA, CPU_FORWARD on the CPU), on the model's device.
    """
    n = images.shape[0]
    batch = apply_views(images.to(model.device), views,
                        size or model.input_size)                            # (K'·N, 3, S, S)
    chunk = chunk_size or (len(batch) if model.device.type == "cuda" else CPU_FORWARD)
    logits = torch.cat([model.logits(part, resize=False) for part in batch.split(max(1, chunk))])
    return logits.view(views.per_image, n, -1)                              # (K', N, 1000)


@dataclass
class ModelScores:
    """One network's part of an ensemble evaluation: (N,) scores and (N, 1000) view-mean probs."""

    name: str
    values: torch.Tensor
    probs: torch.Tensor


class EnsembleObjective:
    """Mean over views and models of a class score; the objective protocol of score_population.

    `__call__(images) -> (N,)` is differentiable (tuning); `evaluate(images)` also gives the
    class probabilities averaged over views and models (reporting). `.model` is the first
    network (its device is the ensemble's). Redraw views with `with_views` or `redrawn(seed)`.
    """

    def __init__(self, models: list[Classifier], classes, views: Views, *,
                 kind: str = "margin", chunk_size: int | None = None, combine: str = "mean",
                 coverage: CoverageBand | None = None, cap: float = 0.0):
        if not models:
            raise ScorerError("an ensemble needs at least one model, e.g. efficientnet-lite0")
        if kind not in KINDS:
            raise ScorerError(f"class score must be one of {', '.join(KINDS)}, not {kind!r}")
        if combine not in COMBINES:
            raise ScorerError(f"ensemble combine must be one of {', '.join(COMBINES)}, "
                              f"not {combine!r}")
        self.models, self.combine = list(models), combine
        self.model = self.models[0]
        if isinstance(classes, str):
            classes = resolve_classes(classes, self.model.class_names)
        self.classes = [int(c) for c in classes]
        self.views, self.kind, self.chunk_size = views, kind, chunk_size
        self.view_size: int | None = None      # views' side; None: each network's input size
        self.coverage = coverage    # RGBA input: composited over a background drawn with the
                                    # views' seed, charged outside this coverage band
        self.cap = cap              # > 0: each view's score counts at most this (a sure view
                                    # stops paying, so the gradient goes to the views that fail)

    def with_views(self, views: Views) -> EnsembleObjective:
        """The same models and classes over other views (the models are shared, not copied)."""
        copy = EnsembleObjective(self.models, self.classes, views, kind=self.kind,
                                 chunk_size=self.chunk_size, combine=self.combine,
                                 coverage=self.coverage, cap=self.cap)
        copy.view_size = self.view_size
        return copy

    def at_view_size(self, size: int | None) -> EnsembleObjective:
        """The same objective with its views rendered at size × size for every network (None:
        each at its own input size); fewer pixels per pass, e.g. for tuning steps."""
        copy = self.with_views(self.views)
        copy.view_size = size or None
        return copy

    def with_view_count(self, count: int) -> EnsembleObjective:
        """The same objective over `count` views (same appearance chances): its redraws keep
        that count, e.g. fewer views per tuning step than per generation."""
        return self.with_views(self.views.redraw(self.views.seed or 0, count))

    def by_turns(self, step: int) -> EnsembleObjective:
        """Network `step` mod M alone over the same views: tuning by turns, each Adam step one
        network's pass, the steps between them every network's."""
        copy = self.with_views(self.views)
        copy.models = [self.models[step % len(self.models)]]
        copy.model = copy.models[0]
        return copy

    def redrawn(self, seed: int) -> EnsembleObjective:
        """As many fresh views as now, drawn from seed (a new generation, a new Adam step)."""
        return self.with_views(self.views.redraw(seed))     # same appearance chances

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        """(N,) scores of RGB images, or of RGBA figures on this draw's ground (scorers.figure)."""
        return self.scored(images)[0]

    def scored(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """((N,) scores as __call__ gives them, (M, N) each network's own class score before the
        networks are combined and the coverage charged), from one forward."""
        images, charge = on_ground(images, self.views.seed, self.coverage)
        parts = self._parts(images, probs=False)
        score = self._combined(parts)
        return (score if charge is None else score - charge.to(score.device),
                torch.stack([p.values for p in parts]))

    def evaluate(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(score (N,), probabilities (N, 1000) averaged over views and models), one forward."""
        images, charge = on_ground(images, self.views.seed, self.coverage)
        parts = self._parts(images, probs=True)
        score = self._combined(parts)
        score = score if charge is None else score - charge.to(score.device)
        return score, torch.stack([p.probs for p in parts]).mean(0)

    def _combined(self, parts: list[ModelScores]) -> torch.Tensor:
        """(N,) over networks: mean, or softmin −log mean exp(−s) (= the mean when the networks
        agree, → the weakest network's score as they part: the laggard gets the gradient)."""
        values = torch.stack([p.values for p in parts])                     # (M, N)
        if self.combine == "mean":
            return values.mean(0)
        return math.log(len(parts)) - torch.logsumexp(-values, 0)

    def per_model(self, images: torch.Tensor) -> list[ModelScores]:
        """Each network's (N,) score and (N, 1000) view-mean probabilities (its top class)."""
        return self._parts(on_ground(images, self.views.seed, None)[0], probs=True)

    def target_mass(self, probs: torch.Tensor) -> torch.Tensor:
        """(N, 1000) probabilities → (N,) mass on the target classes (the reported probability)."""
        return probs[:, self.classes].sum(1)

    def _parts(self, images: torch.Tensor, *, probs: bool) -> list[ModelScores]:
        parts = []
        for model in self.models:
            logits = view_logits(images, model, self.views, chunk_size=self.chunk_size,
                                 size=self.view_size)
            k, n, classes = logits.shape
            mask = torch.zeros(classes, dtype=torch.bool, device=logits.device)
            mask[self.classes] = True
            scores = class_score(logits.flatten(0, 1), mask, self.kind)
            if self.cap > 0:
                scores = scores.clamp(max=self.cap)
            mean_probs = logits.float().softmax(-1).mean(0) if probs else None   # (N, 1000)
            parts.append(ModelScores(model.name, scores.view(k, n).mean(0), mean_probs))
        return parts


@dataclass
class JudgeScores:
    """Held-out scores per image, (N,) CPU tensors, over a fixed view set."""

    probability: torch.Tensor   # mean target mass over the views
    top1_rate: torch.Tensor     # share of views whose top-1 class is a target class
    median_rank: torch.Tensor   # median over views of the best target class's rank (1 = top)
    margin: torch.Tensor        # mean logit margin log(p / (1 − p)) over the views
    top_class: torch.Tensor     # int64: the most frequent top-1 class over the views

    def row(self, i: int) -> dict:
        """Image i's scores as plain numbers (a log line, a record's JSON)."""
        return {"probability": float(self.probability[i]), "top1_rate": float(self.top1_rate[i]),
                "median_rank": float(self.median_rank[i]), "margin": float(self.margin[i]),
                "top_class": int(self.top_class[i])}


def judge_scores(images: torch.Tensor, model: Classifier, classes, views: Views, *,
                 chunk_size: int | None = None) -> JudgeScores:
    """Score images (N, 3, H, W) on `model` at its native size over fixed `views`, no gradients.

    classes: a query ('crab'), class indices, one list of indices per image (an archive's
    cells), or None — each image's own top-1 class on the whole image (the natural-photo
    control). Images go through in groups so K·N views never
    sit in memory at once. Used for the held-out judge and, with AUDIT_VIEWS, by `genart audit`.
    """
    n = images.shape[0]
    group = max(1, 64 // views.per_image)                                  # images at a time
    with torch.inference_mode():
        logits = torch.cat([view_logits(part, model, views, chunk_size=chunk_size).float().cpu()
                            for part in images.split(group)], 1)           # (K', N, 1000)
        mask = _target_mask(images, model, classes, n)                     # (N, 1000)
        wide = mask.expand_as(logits)                                      # (K', N, 1000)
        probs = logits.softmax(-1)
        best = logits.masked_fill(~wide, float("-inf")).amax(-1, keepdim=True)   # (K', N, 1)
        rank = 1 + (logits > best).sum(-1)                                 # (K', N)
        margin = class_score(logits.flatten(0, 1), wide.flatten(0, 1)).view(rank.shape)
        top = logits.argmax(-1)                                            # (K', N)
    return JudgeScores(probability=(probs * wide).sum(-1).mean(0),
                       top1_rate=(rank == 1).float().mean(0),
                       median_rank=rank.float().quantile(0.5, dim=0),
                       margin=margin.mean(0), top_class=top.mode(0).values)


def audit_scores(images: torch.Tensor, models: list[Classifier], classes, *,
                 views: int = AUDIT_VIEWS, seed: int = JUDGE_SEED) -> dict[str, JudgeScores]:
    """judge_scores on every model over the same `views` fixed seeded views: `genart audit`."""
    fixed = draw_views(views, seed)
    return {model.name: judge_scores(images, model, classes, fixed) for model in models}


def _target_mask(images: torch.Tensor, model: Classifier, classes, n: int) -> torch.Tensor:
    """(N, 1000) bool: the target classes (shared, or one list per image), or each image's own
    top-1 class when classes=None."""
    mask = torch.zeros(n, len(model.class_names), dtype=torch.bool)
    if classes is None:
        whole = torch.cat([model.logits(part).float().cpu()
                           for part in images.split(CPU_FORWARD)])         # (N, 1000)
        mask[torch.arange(n), whole.argmax(1)] = True
        return mask
    if isinstance(classes, str):
        classes = resolve_classes(classes, model.class_names)
    classes = list(classes)
    if classes and isinstance(classes[0], (list, tuple)):             # one list per image
        if len(classes) != n:
            raise ScorerError(f"{len(classes)} class lists for {n} images")
        for i, own in enumerate(classes):
            mask[i, [int(c) for c in own]] = True
        return mask
    mask[:, [int(c) for c in classes]] = True
    return mask
