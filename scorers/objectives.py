"""Objectives: batched, differentiable, higher is better, one value per image.

Each objective is called on images (N, 3, H, W) in [0, 1] and returns (N,). `evaluate(images)`
also returns the class probabilities (N, 1000) of the same forward, so a population score can
report the top class without a second pass.
"""
from __future__ import annotations

import re

import torch
import torch.nn.functional as F

from scorers.classes import resolve_classes
from scorers.errors import ScorerError
from scorers.models import Classifier


class ClassObjective:
    """Probability mass the model puts on `classes` (softmax over logits); log=True: its log.

    The log is computed stably as logsumexp(target logits) − logsumexp(all logits).
    """

    def __init__(self, model: Classifier, classes, *, log: bool = False):
        self.model = model
        if isinstance(classes, str):
            classes = resolve_classes(classes, model.class_names)
        self.classes = [int(c) for c in classes]
        self.log = log

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return self.evaluate(images)[0]

    def evaluate(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(objective (N,), probabilities (N, 1000)) from one forward."""
        logits = self.model.logits(images).float()
        return self.from_logits(logits), logits.softmax(1)

    def from_logits(self, logits: torch.Tensor) -> torch.Tensor:
        log_mass = logits[:, self.classes].logsumexp(1) - logits.logsumexp(1)   # (N,)
        return log_mass if self.log else log_mass.exp()


class LayerObjective:
    """A named layer's activations (or chosen channels of it), reduced to one value per image.

    reduce="mean": the plain mean activation (evolution's `layer:` fitness). reduce="l2": the
    mean *square*, DeepDream's objective (the notebook's objective_L2 backpropagates the
    activations themselves), which weights each position by how strongly it already responds.
    """

    REDUCTIONS = ("mean", "l2")

    def __init__(self, model: Classifier, layer: str, *, channels=None, reduce: str = "mean"):
        if reduce not in self.REDUCTIONS:
            raise ScorerError(f"unknown layer reduction {reduce!r}; use one of "
                              f"{', '.join(self.REDUCTIONS)}")
        self.model = model
        self.layer = layer
        self.channels = None if channels is None else [int(c) for c in channels]
        self.reduction = reduce
        model._module(layer)   # fail now, with suggestions, on an unknown layer

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        return self.reduce(self.model.activations(images, self.layer))

    def evaluate(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(objective (N,), probabilities (N, 1000)); one forward at the model's input size."""
        if images.shape[-2:] != (self.model.input_size,) * 2:
            return self(images), self.model.logits(images).float().softmax(1)
        logits, acts = self.model.logits_and_activations(images, self.layer)
        return self.reduce(acts), logits.float().softmax(1)

    def reduce(self, acts: torch.Tensor) -> torch.Tensor:
        """(N, C, ...) activations → (N,) mean (or mean square) over the chosen channels and
        all positions."""
        if self.channels is not None:
            if max(self.channels) >= acts.shape[1]:
                raise ScorerError(f"layer {self.layer} has {acts.shape[1]} channels; "
                                  f"channel {max(self.channels)} does not exist")
            acts = acts[:, self.channels]
        acts = acts.float().flatten(1)   # (N, C·h·w)
        return acts.pow(2).mean(1) if self.reduction == "l2" else acts.mean(1)


class AugmentedObjective:
    """Mean of an objective over K seeded random crops, shifts and flips of each image.

    The K transforms are drawn once from `seed` (so fitness is reproducible across calls) and
    the same K apply to every image; all K·N views go through the objective in one batch.
    """

    def __init__(self, objective, *, crops: int = 4, seed: int = 0):
        self.objective = objective
        self.model = objective.model
        g = torch.Generator().manual_seed(seed)
        scale = 0.75 + 0.25 * torch.rand(crops, generator=g)           # side of the crop
        # (K, 4): crop side, left and top as fractions of the image, flip flag
        self.transforms = torch.stack([scale, torch.rand(crops, generator=g) * (1 - scale),
                                       torch.rand(crops, generator=g) * (1 - scale),
                                       (torch.rand(crops, generator=g) < 0.5).float()], 1)

    def views(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) → (K·N, 3, H, W): each transform applied to the whole batch."""
        h, w = images.shape[-2:]
        out = []
        for side, left, top, flip in self.transforms.tolist():
            y0, x0 = round(top * h), round(left * w)
            ch, cw = max(1, round(side * h)), max(1, round(side * w))
            view = images[..., y0:y0 + ch, x0:x0 + cw]
            view = F.interpolate(view, size=(h, w), mode="bilinear", align_corners=False)
            out.append(view.flip(-1) if flip else view)
        return torch.cat(out)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        n = images.shape[0]
        return self.objective(self.views(images)).view(-1, n).mean(0)   # (K, N) → (N,)

    def evaluate(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean objective (N,), mean probabilities over the views (N, 1000))."""
        n = images.shape[0]
        values, probs = self.objective.evaluate(self.views(images))
        return values.view(-1, n).mean(0), probs.view(-1, n, probs.shape[-1]).mean(0)


def make_objective(target: str, model: Classifier, *, crops: int = 0, seed: int = 0,
                   log: bool = False, reduce: str = "mean"):
    """Objective from a target string: 'crab' | '118' | 'layer:NAME[:C1,C2]'.

    `reduce` ("mean" | "l2") applies to layer targets only; class targets ignore it.

    Raises:
        UnknownClassError / UnknownLayerError: the target names nothing the model has.
    """
    target = str(target).strip()
    if target.startswith("layer:"):
        _, name, *rest = target.split(":", 2)
        channels = None
        if rest and rest[0]:
            if not re.fullmatch(r"\d+(,\d+)*", rest[0]):
                raise ScorerError(f"bad channel list {rest[0]!r} in {target!r}; "
                                  "write layer:NAME:3,17 (comma-separated channel indices)")
            channels = [int(c) for c in rest[0].split(",")]
        objective = LayerObjective(model, name, channels=channels, reduce=reduce)
    else:
        objective = ClassObjective(model, resolve_classes(target, model.class_names), log=log)
    return AugmentedObjective(objective, crops=crops, seed=seed) if crops > 0 else objective
