"""Errors a user can cause in a run: one line, what was wrong and how to fix it."""


class RunError(ValueError):
    """A run folder, checkpoint or run setting that cannot be used as given."""
