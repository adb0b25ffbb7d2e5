"""Errors a user can cause when choosing a model, class or layer: one line with the fix."""


class ScorerError(ValueError):
    """Bad input to a scorer: unknown class, layer or model, or a model that cannot be loaded."""


class UnknownClassError(ScorerError):
    """A class query that names no ImageNet class; the message lists the closest names."""


class UnknownLayerError(ScorerError):
    """A layer name the model does not have; the message lists the closest layer names."""


class UnknownModelError(ScorerError):
    """A model name we do not know; the message lists the names we do."""


class ModelUnavailableError(ScorerError):
    """A known model whose weights are not on this machine and could not be fetched."""
