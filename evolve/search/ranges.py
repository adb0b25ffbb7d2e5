"""Bounded numbers: how a setting's range is said, and the argparse types that enforce it (a
finite number in range, else one usage line), shared by every command's flags."""
from __future__ import annotations

import argparse
import math


def range_text(low, high, above) -> str:
    """`in 2..64`, `in [0, 1]`, `≥ 0`, `> 0`: how the flags and checks say a range."""
    if above is not None:
        return f"> {above}" if high is None else f"in ({above}, {high}]"
    if high is None:
        return f"≥ {low}"
    return f"in {low}..{high}" if isinstance(low, int) and isinstance(high, int) \
        else f"in [{low}, {high}]"


def number(kind, low=None, high=None, above=None):
    """An argparse type: a finite `kind` with low ≤ v ≤ high and v > above (each optional),
    else a one-line usage error. The bounds stay on it (`.low` …) for --help and the tests."""
    noun = "a whole number" if kind is int else "a number"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
        if ((low is not None and value < low) or (high is not None and value > high)
                or (above is not None and not value > above)):
            raise argparse.ArgumentTypeError(
                f"must be {range_text(low, high, above)}, got {value}")
        return value
    parse.__name__ = kind.__name__
    parse.kind, parse.low, parse.high, parse.above = kind, low, high, above
    return parse


def int_in(low: int, high: int):
    """A whole number in [low, high]."""
    return number(int, low, high)


def float_in(low: float, high: float):
    """A finite number in [low, high]."""
    return number(float, low, high)


def positive(kind=float, high=None):
    """A finite number above zero (and at most `high`)."""
    return number(kind, high=high, above=0)
