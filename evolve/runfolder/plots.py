"""A run's plots, drawn with matplotlib's Agg backend (no display, no pyplot global state).

`fitness.png`: the training score (best and mean fitness) and, where the log has them, the
held-out judge's score, the archive's coverage and the portfolio's looks, against generation
and against minutes.
"""
from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# (log key, label, line style) of each series drawn when the log has it
FITNESS = (("best_fitness", "best fitness", "-"), ("mean_fitness", "mean fitness", "--"))
HELD_OUT = (("judge_score", "judge: mean target probability", "-"),
            ("judge_top1", "judge: top-1 rate over its views", ":"))
PORTFOLIO = (("portfolio", "looks filled", "-"),
             ("portfolio_robust", "looks at --portfolio-bar", "-"),
             ("restarts", "stall restarts", ":"))
COVERAGE = (("at_0.5", "cells ≥ 0.5", "-"), ("at_0.9", "cells ≥ 0.9", "-"),
            ("at_0.99", "cells ≥ 0.99", "-"))


def fitness_png(log: list[dict]) -> bytes:
    """PNG bytes: one row per kind of series the log holds, by generation and by minutes."""
    rows = [(title, series) for title, series in
            (("training score", FITNESS), ("held-out score", HELD_OUT), ("coverage", COVERAGE),
             ("portfolio", PORTFOLIO))
            if any(key in entry for key, _, _ in series for entry in log)] or [("training score", FITNESS)]
    figure = Figure(figsize=(10, 3.2 * len(rows)), dpi=80, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(len(rows), 2, squeeze=False)
    generations = [e.get("generation", i) for i, e in enumerate(log)]
    minutes = [e.get("elapsed", 0.0) / 60 for e in log]
    for (title, series), (by_generation, by_time) in zip(rows, axes):
        for ax, xs, xlabel in ((by_generation, generations, "generation"),
                               (by_time, minutes, "minutes")):
            drawn = 0
            for key, label, style in series:
                points = [(x, e[key]) for x, e in zip(xs, log) if e.get(key) is not None]
                if points:
                    ax.plot(*zip(*points), style, label=label, marker="." if len(points) < 3 else None)
                    drawn += 1
            if not drawn:
                ax.text(0.5, 0.5, "no generations yet", ha="center", transform=ax.transAxes)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(title)
            ax.grid(alpha=0.3)
            if drawn:
                ax.legend(loc="best", fontsize="small")
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
