"""scorers — images to numbers: fitness, its parts, and gradients.

Conventions, stated once: images are RGB, NCHW, float32 in [0, 1]; fitness is higher-is-better
everywhere; uint8 only at the file boundary. Devices are passed in or read from the input or
the model. This package never sees a genome and imports nothing from `genart` or `evolve`.

    model = load_model("efficientnet-lite0", device)          # frozen classifier
    objective = make_objective("crab", model)                 # (N, 3, H, W) → (N,)
    scores = score_population(images, objective, Naturalness(lam=1.0))
    robust = EnsembleObjective([lite0, lite1], "crab", draw_views(4, seed))   # same protocol
"""
from scorers.classes import imagenet_classes, resolve_classes
from scorers.ensemble import (AUDIT_VIEWS, JUDGE_SEED, EnsembleObjective, JudgeScores,
                              ModelScores, audit_scores, class_score, judge_scores, view_logits)
from scorers.errors import (ModelUnavailableError, ScorerError, UnknownClassError,
                            UnknownLayerError, UnknownModelError)
from scorers.figure import CoverageBand, composite, coverage, draw_backgrounds
from scorers.models import Classifier, available_models, load_model, passes_counted
from scorers.naturalness import Naturalness, spectral_slope, tv_denoise, tv_residual
from scorers.objectives import (AugmentedObjective, ClassObjective, LayerObjective,
                                make_objective)
from scorers.population import (Scores, class_probabilities, fitness_by_network, fitness_of,
                                score_population, view_probabilities)
from scorers.views import Views, apply_views, draw_views, identity_views, no_views

__all__ = [
    "load_model", "Classifier", "available_models", "passes_counted", "imagenet_classes",
    "resolve_classes",
    "ClassObjective", "LayerObjective", "AugmentedObjective", "make_objective",
    "tv_denoise", "tv_residual", "Naturalness", "Scores", "score_population", "fitness_of",
    "fitness_by_network",
    "class_probabilities", "view_probabilities", "spectral_slope",
    "Views", "draw_views", "apply_views", "identity_views", "no_views",
    "EnsembleObjective", "ModelScores", "class_score", "view_logits", "JudgeScores",
    "judge_scores", "audit_scores", "AUDIT_VIEWS", "JUDGE_SEED",
    "ScorerError", "UnknownClassError", "UnknownLayerError", "UnknownModelError",
    "ModelUnavailableError", "CoverageBand", "composite", "coverage", "draw_backgrounds",
]
