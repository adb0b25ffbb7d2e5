"""Errors a user can cause when choosing a model, class or layer: one line with the fix."""


class ScorerError(ValueError):
    """Bad input to a scorer: unknown class, layer or model, or a model that cannot be loaded."""
