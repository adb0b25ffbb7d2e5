"""`genart explore` (MAP-Elites fooling archive) and `genart audit` (robustness and transfer).

Flags are shared with `genart evolve` (cli.progress.add_search_arguments); `genart resume` routes an
explore run here by its config kind. Ctrl-C finishes the generation, checkpoints and exits 0.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from scorers import AUDIT_VIEWS, JUDGE_SEED

from evolve.cli.arguments import (add_budget_arguments, add_search_arguments, backend_of,
                                  search_settings)
from evolve.cli.arguments import float_in, int_in
from evolve.cli.robust import add_ensemble_arguments
from evolve.cli.progress import Progress, drive_until_stopped
from evolve.search.explore import ExploreConfig
from evolve.runfolder.explore_run import drive_explore, resume_explore, start_explore
from evolve.runfolder.rundir import default_out

DEFAULTS = ExploreConfig()


class ArchiveProgress(Progress):
    """evolve's bar, showing the archive: cells filled, counts at 0.5/0.9/0.99, median."""

    def describe(self, entry: dict) -> str:
        return (f"gen {entry['generation']} filled {entry['filled']} "
                f"≥.5 {entry['at_0.5']} ≥.9 {entry['at_0.9']} ≥.99 {entry['at_0.99']} "
                f"median {entry['median_confidence']:.3f} "
                f"{entry.get('evals_per_s') or 0:.1f} evals/s")


def run_explore(args) -> int:
    config = ExploreConfig(target=args.classes, gate=args.gate, random_share=args.random_share,
                           fooling=not args.robust, models=args.models, views=args.views,
                           **emitter_settings(args), **search_settings(args))
    out = Path(args.out) if args.out else default_out(f"explore-{args.classes}")
    session = start_explore(out, config, backend=backend_of(args))
    if not args.quiet:
        print(f"genart: run folder {out}", flush=True)
    return _drive(session, args.quiet)


def emitter_settings(args) -> dict:
    """The gradient emitter's and the archive thresholds' settings from their flags."""
    return dict(emit_share=args.emit_share, emit_cells=args.emit_cells,
                emit_steps=args.emit_steps, emit_lr=args.emit_lr,
                emit_views=args.emit_views, emit_score=args.emit_score,
                threshold_alpha=args.threshold_alpha)


def add_emitter_arguments(p: argparse.ArgumentParser, d: ExploreConfig) -> None:
    group = p.add_argument_group("gradient emitter and archive thresholds (issue 13)")
    group.add_argument("--emit-share", type=float, default=d.emit_share,
                       help="share of network passes (forward and backward) spent on Adam on "
                            "elites' constants, each toward its own cell's class over random "
                            f"views (default {d.emit_share}; 0: mutation only)")
    group.add_argument("--emit-cells", type=int, default=d.emit_cells,
                       help=f"cells climbed together in one batch ({d.emit_cells})")
    group.add_argument("--emit-steps", type=int, default=d.emit_steps,
                       help=f"the emitter's Adam steps per generation ({d.emit_steps})")
    group.add_argument("--emit-lr", type=float, default=d.emit_lr,
                       help=f"the emitter's Adam learning rate ({d.emit_lr})")
    group.add_argument("--emit-views", type=int, default=d.emit_views,
                       help=f"random views per image per step ({d.emit_views}; 0: whole image)")
    group.add_argument("--emit-score", choices=("log", "margin"), default=d.emit_score,
                       help=f"class score the emitter climbs ({d.emit_score})")
    group.add_argument("--threshold-alpha", type=float, default=d.threshold_alpha, metavar="α",
                       help="CMA-MAE archive thresholds with learning rate α in (0, 1] "
                            "(default off: the plain elitist archive)")


def resume_explore_command(args, budget: dict) -> int:
    """`genart resume RUN` on an explore run (called from cli/runs.py run_resume)."""
    session = resume_explore(Path(args.run), backend=backend_of(args),
                             extra_generations=budget["generations"],
                             extra_seconds=budget["seconds"])
    return _drive(session, args.quiet)


def _drive(session, quiet: bool) -> int:
    stopped = drive_until_stopped(session, ArchiveProgress(session.config, quiet), drive_explore)
    report = json.loads((session.run.path / "report.json").read_text())
    print_report(report)
    print(f"genart: archive: {session.run.path / 'archive.json'}")
    print(f"genart: gallery: {session.run.path / 'index.html'}")
    if stopped:
        print(f"genart: stopped; continue with: genart resume {session.run.path}")
    return 0


def print_report(report: dict) -> None:
    at = report["at_least"]
    print(f"genart: generation {report['generation']}, {report['evaluations']} images scored "
          f"+ {report['tuning_evaluations']} tuning passes in {report['elapsed']:.0f} s "
          f"({report['evals_per_s']} evals/s); network passes: "
          f"{report.get('forward_passes', 0)} forward, {report.get('backward_passes', 0)} "
          f"backward")
    print(f"genart: cells filled {report['filled']}/{report['cells']}; ≥0.5: {at['0.5']}, "
          f"≥0.9: {at['0.9']}, ≥0.99: {at['0.99']}; median confidence "
          f"{report['median_confidence']:.4f} ({report['median_note']}); QD score "
          f"{report.get('qd_score', 0):.2f}")
    for label in ("best", "worst"):
        cells = ", ".join(f"{c['name']} ({c['class']}) {c['confidence']:.4f}"
                          for c in report[label])
        print(f"genart: {label}: {cells}")


def run_audit(args) -> int:
    from evolve.runfolder.audit import audit_run, format_table
    result = audit_run(Path(args.run), other=args.model, views=args.views, seed=args.seed,
                       device=args.device, control=args.control, best=args.best,
                       min_confidence=args.min_confidence)
    print(format_table(result))
    print(f"genart: {result['note']}")
    print(f"genart: audit: {Path(args.run) / 'audit.json'}")
    print(f"genart: gallery: {Path(args.run) / 'index.html'}")
    return 0


def register(sub) -> None:
    d = DEFAULTS
    p = sub.add_parser("explore", help="fill a MAP-Elites archive: one fooling image per class")
    p.add_argument("--classes", default=d.target,
                   help="which classes get a cell: all (default) or a class query (crab)")
    add_search_arguments(p, d)
    p.add_argument("--gate", action="store_true",
                   help="hard naturalness gate (score 0 when the residual ≥ τ) instead of λ")
    p.add_argument("--random-share", type=float, default=d.random_share,
                   help=f"share of each batch that is new random genomes ({d.random_share})")
    robust = p.add_argument_group("robust cells (issue 13): the crab search's objective")
    robust.add_argument("--robust", action="store_true",
                        help="a cell's confidence is its class probability averaged over "
                             "--views random views (redrawn every generation) and --models, "
                             "each at its native size; default: --model alone on the whole "
                             "image (fooling images)")
    add_ensemble_arguments(robust, d, when="with --robust: ")
    add_emitter_arguments(p, d)
    add_budget_arguments(p, "in all (default: 30 minutes)")
    p.set_defaults(func=run_explore)

    p = sub.add_parser("audit", help="robustness (crops, flips) and transfer of a run's images")
    p.add_argument("run", help="an evolve or explore run folder")
    p.add_argument("--model", default="auto",
                   help="network to audit on besides the run's own (default auto: every "
                        "EfficientNet-Lite usable offline)")
    p.add_argument("--views", "--crops", dest="views", type=int_in(0, 1024), default=AUDIT_VIEWS,
                   help=f"fixed random crops/flips/rotations per image (default {AUDIT_VIEWS}; "
                        "0: the whole image)")
    p.add_argument("--seed", type=int, default=JUDGE_SEED, help="seed of the views")
    p.add_argument("--best", type=int_in(1, 100000), default=None,
                   help="audit only the best N records (by fitness) or cells (by confidence)")
    p.add_argument("--min-confidence", type=float_in(0.0, 1.0), default=0.0,
                   help="explore runs: audit only the cells at least this confident (e.g. 0.9)")
    p.add_argument("--control", action=argparse.BooleanOptionalAction, default=True,
                   help="score scikit-image's sample photos beside the records (default on)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.set_defaults(func=run_audit)
