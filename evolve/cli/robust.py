"""`genart evolve`'s flags of the robust search (issue 10): what selection sees, who judges it,
and the start population's capacity; `--fooling` for the single-network, view-free search."""
from __future__ import annotations

import argparse

from evolve.cli.arguments import int_in
from evolve.search.operators import START_FORMS
from evolve.search.settings import CLASS_SCORES, ENSEMBLE_COMBINES, MAX_VIEWS, RunConfig


DEFAULTS = RunConfig(target="crab")


def robust_settings(args) -> dict:
    """The RunConfig fields these flags set; `--model NAME` alone (no --models, no --fooling)
    makes NAME the robust search's one network, so the flag is never silently ignored."""
    models = args.models
    if not args.fooling and args.model != DEFAULTS.model and models == DEFAULTS.models:
        models = args.model
    return dict(fooling=args.fooling, models=models, views=args.views, judge=args.judge,
                judge_views=args.judge_views, class_score=args.class_score, ensemble=args.ensemble,
                tune_min_constants=args.tune_min_constants, start_share=args.sine_share,
                start_form=args.start, start_frequency=args.sine_frequency)


def add_ensemble_arguments(group, d: RunConfig, when: str = "") -> None:
    """--models and --views of the robust objective (evolve's default, explore's --robust)."""
    group.add_argument("--models", default=d.models,
                       help=f"{when}networks selection sees, each at its native size "
                            f"(default {d.models})")
    group.add_argument("--views", type=int_in(0, MAX_VIEWS), default=d.views,
                       help=f"{when}random crops/flips/rotations per image, redrawn every "
                            f"generation (default {d.views})")


def add_robust_arguments(p: argparse.ArgumentParser, d: RunConfig) -> None:
    """--fooling, --models, --views, --judge …, with `d`'s values as defaults."""
    g = p.add_argument_group("robust search (default) or fooling images")
    g.add_argument("--fooling", action="store_true",
                   help="one network (--model), no views: the fooling-image search")
    add_ensemble_arguments(g, d)
    g.add_argument("--judge", default=d.judge,
                   help=f"held-out network, never used for selection (default {d.judge}; "
                        "none: no judge)")
    g.add_argument("--judge-views", type=int_in(1, MAX_VIEWS), default=d.judge_views,
                   help=f"fixed seeded views the judge scores on (default {d.judge_views})")
    g.add_argument("--class-score", choices=CLASS_SCORES, default=d.class_score,
                   help=f"robust objective: logit margin or log target mass ({d.class_score})")
    g.add_argument("--ensemble", choices=ENSEMBLE_COMBINES, default=d.ensemble,
                   help="combine the networks' scores by their mean or a soft minimum, which "
                        f"pays most for the one that lags ({d.ensemble})")
    g.add_argument("--tune-min-constants", type=int_in(0, 100000), default=d.tune_min_constants,
                   help="tune the best genomes that have at least this many constants "
                        f"(default {d.tune_min_constants})")
    g.add_argument("--start", choices=START_FORMS, default=d.start_form,
                   help="capacity-rich start formulas: sine sums per channel, sine sums on "
                        "decorrelated colour axes, or CPPN-style tanh/sin/bump units "
                        f"(default {d.start_form})")
    g.add_argument("--sine-share", type=float, default=d.start_share,
                   help=f"share of the first population built as --start formulas ({d.start_share})")
    g.add_argument("--sine-frequency", type=float, default=d.start_frequency,
                   help=f"std of their x, y, r coefficients ({d.start_frequency})")
