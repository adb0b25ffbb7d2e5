"""Flags the commands share, checked when parsed: bounded numbers, budgets, search settings,
and `--config FILE.toml` (the same settings as the flags; flags given on the line win).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from evolve.backends import KINDS, Backend
from evolve.errors import RunError
from evolve.search.settings import RunConfig

if sys.version_info >= (3, 11):
    import tomllib
else:                                    # Python 3.10
    import tomli as tomllib


def _bounded(kind, noun: str, low, high):
    """An argparse type: a `kind` in [low, high], else a one-line usage error."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {noun}, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be in {low}..{high}, got {value}")
        return value
    parse.__name__ = kind.__name__
    return parse


def int_in(low: int, high: int):
    """A whole number in [low, high]."""
    return _bounded(int, "a whole number", low, high)


def float_in(low: float, high: float):
    """A number in [low, high] (NaN is refused: it is in no range)."""
    return _bounded(float, "a number", low, high)


def budget_of(args) -> dict:
    chosen = [name for name in ("generations", "minutes", "hours")
              if getattr(args, name, None) is not None]
    if len(chosen) > 1:
        raise RunError(f"give one budget, not {' and '.join('--' + c for c in chosen)}")
    if args.generations is not None and args.generations < 0:
        raise RunError(f"--generations must be ≥ 0, got {args.generations}")
    seconds = (args.minutes * 60 if args.minutes is not None
               else args.hours * 3600 if args.hours is not None else None)
    if seconds is not None and seconds <= 0:
        raise RunError("a time budget must be positive")
    return {"generations": args.generations, "seconds": seconds}


def search_settings(args) -> dict:
    """The RunConfig fields that evolve and explore share, from their shared flags."""
    budget = budget_of(args)
    if budget["generations"] is None and budget["seconds"] is None:
        budget["seconds"] = 30 * 60.0
    if args.pop < 2:
        raise RunError(f"--pop must be at least 2, got {args.pop}")
    return dict(model=args.model, population=args.pop, size=args.size,
                naturalness=args.naturalness, seed=args.seed, device=args.device,
                tune=args.tune, tune_steps=args.tune_steps, tune_share=args.tune_share,
                tune_lr=args.tune_lr, **budget)


def add_search_arguments(p: argparse.ArgumentParser, d: RunConfig) -> None:
    """Flags shared by `evolve` and `explore` (model, batch, size, naturalness, seed, tuning)."""
    p.add_argument("--config", metavar="FILE.toml",
                   help="settings from a TOML file (keys are these flags' names); flags win")
    p.add_argument("--model", default=d.model, help=f"scoring network (default {d.model})")
    p.add_argument("--pop", type=int, default=d.population, help="population size")
    p.add_argument("--size", type=int, default=d.size, help="render size for scoring")
    p.add_argument("--naturalness", type=float, default=d.naturalness, metavar="λ",
                   help=f"weight of the naturalness penalty (default {d.naturalness})")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--device", default=d.device, help="auto, cpu or cuda")
    p.add_argument("--out", help="run folder (default runs/<target>-<time>)")
    p.add_argument("--tune-steps", type=int, default=d.tune_steps,
                   help="Adam steps of constant tuning per generation")
    p.add_argument("--tune-share", type=float, default=d.tune_share,
                   help="fraction of the population tuned each generation")
    p.add_argument("--tune-lr", type=float, default=d.tune_lr, help="Adam learning rate")
    p.add_argument("--tune", action=argparse.BooleanOptionalAction, default=d.tune,
                   help=f"constant tuning by Adam (default {'on' if d.tune else 'off'})")
    add_backend_arguments(p)


def add_backend_arguments(p: argparse.ArgumentParser) -> None:
    """Where the batches run: in process (default) or on Ray actors."""
    group = p.add_argument_group("execution backend")
    group.add_argument("--backend", choices=KINDS, default="local",
                       help="local (in process, default) or ray (needs genart[ray])")
    group.add_argument("--workers", type=int_in(1, 1024),
                       help="Ray actors (default: one per GPU, else one per two CPUs)")
    group.add_argument("--address",
                       help="Ray cluster: auto or HOST:PORT (default: start a local instance)")


def backend_of(args) -> Backend:
    return Backend(args.backend, args.workers, args.address)


def add_budget_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    group = parser.add_argument_group("budget (one of)")
    group.add_argument("--generations", type=int, help=f"generations {what}")
    group.add_argument("--minutes", type=float, help=f"minutes {what}")
    group.add_argument("--hours", type=float, help=f"hours {what}")
    parser.add_argument("--quiet", action="store_true", help="plain log lines instead of a bar")


NOT_SETTINGS = {"help", "config", "func", "command", "quiet"}


def settings_file(path: str, parser: argparse.ArgumentParser) -> dict:
    """Defaults for `parser` from a TOML file whose keys are its flags (`pop`, `tune-steps` or
    `tune_steps`, `minutes`, `target` …); RunError naming the file and any unknown key."""
    file = Path(path)
    if not file.is_file():
        raise RunError(f"no such config file: {file}; give a TOML file of settings, "
                       f"e.g. pop = 32 and minutes = 60")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise RunError(f"{file} is not valid TOML ({error}); fix it or leave out --config") \
            from None
    known = {a.dest for a in parser._actions} - NOT_SETTINGS
    values = {key.replace("-", "_"): value for key, value in data.items()}
    unknown = sorted(set(values) - known)
    if unknown:
        raise RunError(f"{file} has unknown settings {unknown}; "
                       f"use the names of `genart {parser.prog.split()[-1]} --help`'s flags")
    return values
