"""Errors a user can cause with a formula or a file: one line, what was wrong and how to fix it."""


class GenartError(ValueError):
    """Bad input to the genome language or the image files."""
