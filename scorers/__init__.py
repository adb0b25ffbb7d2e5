"""scorers — images to numbers: fitness, its parts, and gradients.

Conventions, stated once: images are RGB, NCHW, float32 in [0, 1]; fitness is higher-is-better
everywhere; uint8 only at the file boundary. Devices are passed in or read from the input or
the model. This package never sees a genome and imports nothing from `genart` or `evolve`.

    model = load_model("efficientnet-lite0", device)          # frozen classifier
    objective = make_objective("crab", model)                 # (N, 3, H, W) → (N,)
    scores = score_population(images, objective, Naturalness(lam=1.0))
"""
from scorers.classes import imagenet_classes, resolve_classes
from scorers.errors import (ModelUnavailableError, ScorerError, UnknownClassError,
                            UnknownLayerError, UnknownModelError)
from scorers.models import Classifier, available_models, load_model
from scorers.naturalness import Naturalness, tv_denoise, tv_residual
from scorers.objectives import (AugmentedObjective, ClassObjective, LayerObjective,
                                make_objective)
from scorers.population import Scores, class_probabilities, fitness_of, score_population

__all__ = [
    "load_model", "Classifier", "available_models", "imagenet_classes", "resolve_classes",
    "ClassObjective", "LayerObjective", "AugmentedObjective", "make_objective",
    "tv_denoise", "tv_residual", "Naturalness", "Scores", "score_population", "fitness_of",
    "class_probabilities",
    "ScorerError", "UnknownClassError", "UnknownLayerError", "UnknownModelError",
    "ModelUnavailableError",
]
