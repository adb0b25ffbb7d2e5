"""Stop handling (Ctrl-C / SIGTERM stop within seconds, even mid-generation) and the progress
bar of a search."""
from __future__ import annotations

import signal
import sys

from evolve.runfolder.session import drive
from evolve.search.settings import RunConfig


class StopFlag:
    """First SIGINT/SIGTERM: stop within seconds (the driver abandons an unfinished generation,
    which a resume redoes) and checkpoint. Second: stop at once (KeyboardInterrupt)."""

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
        print("\ngenart: stopping: checkpoint at the last complete generation (press Ctrl-C "
              "again to stop at once)", file=sys.stderr, flush=True)

    def __call__(self) -> bool:
        return self.stopping


class Progress:
    """A tqdm bar (generation, best fitness, class and probability, evals/s, ETA) or log lines."""

    def __init__(self, config: RunConfig, quiet: bool):
        self.quiet, self.config, self.bar = quiet, config, None

    def describe(self, entry: dict) -> str:
        target = ("" if entry.get("target_prob") is None else
                  f"target p {entry['target_prob']:.3f} ")
        judge = ("" if entry.get("judge_score") is None else
                 f"judge p {entry['judge_score']:.3f} top-1 {entry['judge_top1']:.2f} "
                 f"rank {entry['judge_rank']:.0f} ")
        looks = ("" if entry.get("portfolio") is None else        # search.portfolio's niches
                 f"looks {entry['portfolio']} ({entry['portfolio_robust']} at bar) ")
        lineage = "" if not entry.get("lineage") else f"lineage {entry['lineage']} "
        robust = ("" if entry.get("harvests") is None else      # lineages ended at the bar
                  f"robust {entry['harvests']} ")
        return (f"gen {entry['generation']} best {entry['best_fitness']:.4f} "
                f"{entry['top_class']} {entry['top_prob']:.3f} {target}{judge}{looks}{lineage}"
                f"{robust}"
                f"residual {entry['best_residual']:.3f} "
                f"{entry.get('evals_per_s') or 0:.1f} evals/s"
                + ("" if entry.get("passes_per_s") is None else
                   f" {entry['passes_per_s']:.0f} passes/s"))

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
