"""What `genart evolve` and `genart explore` share on the command line: budgets, search flags,
stop handling (Ctrl-C / SIGTERM finish the generation) and the progress bar.
"""
from __future__ import annotations

import argparse
import signal
import sys

from evolve.errors import RunError
from evolve.runfolder.session import drive
from evolve.search.settings import RunConfig


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


class StopFlag:
    """First SIGINT/SIGTERM: finish the generation. Second: stop at once (KeyboardInterrupt)."""

    def __init__(self):
        self.stopping = False
        self.previous = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            self.previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum, frame):
        if self.stopping:
            raise KeyboardInterrupt
        self.stopping = True
        print("\ngenart: stopping after this generation (press Ctrl-C again to stop now)",
              file=sys.stderr, flush=True)

    def __call__(self) -> bool:
        return self.stopping


class Progress:
    """A tqdm bar (generation, best fitness, class and probability, evals/s, ETA) or log lines."""

    def __init__(self, config: RunConfig, quiet: bool):
        self.quiet, self.config, self.bar = quiet, config, None

    def describe(self, entry: dict) -> str:
        return (f"gen {entry['generation']} best {entry['best_fitness']:.4f} "
                f"{entry['top_class']} {entry['top_prob']:.3f} "
                f"residual {entry['best_residual']:.3f} "
                f"{entry.get('evals_per_s') or 0:.1f} evals/s")

    def __call__(self, entry: dict) -> None:
        text = self.describe(entry)
        if self.quiet:
            print(f"[{entry['elapsed']:8.1f}s] {text}", flush=True)
            return
        from tqdm import tqdm
        by_time = self.config.generations is None
        if self.bar is None:
            total = self.config.seconds if by_time else self.config.generations
            self.bar = tqdm(total=total, unit="s" if by_time else "gen", dynamic_ncols=True,
                            bar_format=("{l_bar}{bar}| {n:.0f}/{total:.0f} "
                                        "[{elapsed}<{remaining}]{postfix}"))
        done = entry["elapsed"] if by_time else entry["generation"]
        self.bar.n = min(done, self.bar.total or done)
        self.bar.set_postfix_str(text, refresh=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()


def drive_until_stopped(session, progress, run_generations=drive) -> bool:
    """Run generations under a StopFlag with a progress display; True if a signal stopped it."""
    with StopFlag() as stop:
        try:
            run_generations(session, should_stop=stop, progress=progress)
        finally:
            progress.close()
    return stop.stopping


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


def add_budget_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    group = parser.add_argument_group("budget (one of)")
    group.add_argument("--generations", type=int, help=f"generations {what}")
    group.add_argument("--minutes", type=float, help=f"minutes {what}")
    group.add_argument("--hours", type=float, help=f"hours {what}")
    parser.add_argument("--quiet", action="store_true", help="plain log lines instead of a bar")
