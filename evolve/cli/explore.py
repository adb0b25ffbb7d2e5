"""`genart explore` (MAP-Elites fooling archive) and `genart audit` (robustness and transfer).

Its flags are ExploreConfig's settings (cli.arguments.add_settings_arguments, as evolve's are
RunConfig's); `genart resume` routes an explore run here by its config kind. Ctrl-C finishes the
generation, checkpoints and exits 0.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from scorers import AUDIT_VIEWS, JUDGE_SEED

from evolve.cli.arguments import (add_backend_arguments, add_budget_arguments,
                                  add_config_argument, add_settings_arguments, backend_of,
                                  config_values, float_in, int_in, run_budget,
                                  setting_groups)
from evolve.cli.robust import robust_values
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


def explore_config(args) -> ExploreConfig:
    """The archive search `genart explore` was asked for (flags and --config file), checked."""
    values = {**config_values(ExploreConfig, args), **run_budget(args)}
    return ExploreConfig(**robust_values(values, DEFAULTS, hint="add --robust"))


def run_explore(args) -> int:
    config = explore_config(args)
    out = Path(args.out) if args.out else default_out(f"explore-{config.target}")
    session = start_explore(out, config, backend=backend_of(args))
    if not args.quiet:
        print(f"genart: run folder {out}", flush=True)
    return _drive(session, args.quiet)


def resume_explore_command(args, budget: dict, changes: dict) -> int:
    """`genart resume RUN` on an explore run (called from cli/runs.py run_resume)."""
    from evolve.cli.runs import change_settings
    session = resume_explore(Path(args.run), backend=backend_of(args),
                             extra_generations=budget["generations"],
                             extra_seconds=budget["seconds"])
    change_settings(session, changes)
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
          f"+ {report['tuning_evaluations']} tuning evaluations in {report['elapsed']:.0f} s "
          f"({report['evals_per_s']} evals/s); network passes: "
          f"{report.get('forward_passes', 0)} forward, {report.get('backward_passes', 0)} "
          f"backward ({report.get('passes_per_image', 1)} per scored image, by "
          f"{', '.join(report.get('networks') or ['?'])})")
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
    add_config_argument(p)
    add_settings_arguments(p, ExploreConfig, d)
    groups = setting_groups(p)
    groups["robust"].add_argument(
        "--robust", action="store_false", dest="fooling", default=argparse.SUPPRESS,
        help="(= --no-fooling) a cell's confidence is its class probability averaged over "
             "--views random views (redrawn every generation) and --models, each at its "
             "native size; --model alone makes it the one network")
    groups["output"].add_argument("--out", help="run folder (default runs/explore-<classes>-<time>)")
    add_budget_arguments(p, "in all (default: 30 minutes)")
    add_backend_arguments(p)
    p.set_defaults(func=run_explore)

    p = sub.add_parser("audit", help="robustness (crops, flips) and transfer of a run's images")
    p.add_argument("run", help="an evolve or explore run folder")
    p.add_argument("--model", default="auto",
                   help="network to audit on besides the run's own (default auto: every "
                        "EfficientNet-Lite usable offline)")
    p.add_argument("--views", "--crops", dest="views", type=int_in(0, 1024), default=AUDIT_VIEWS,
                   help=f"fixed random crops/flips/rotations per image (default {AUDIT_VIEWS}; "
                        "0: the whole image)")
    p.add_argument("--seed", type=int_in(0, 2**63 - 1), default=JUDGE_SEED,
                   help="seed of the views")
    p.add_argument("--best", type=int_in(1, 100000), default=None,
                   help="audit only the best N records (by fitness) or cells (by confidence)")
    p.add_argument("--min-confidence", type=float_in(0.0, 1.0), default=0.0,
                   help="explore runs: audit only the cells at least this confident (e.g. 0.9)")
    p.add_argument("--control", action=argparse.BooleanOptionalAction, default=True,
                   help="score scikit-image's sample photos beside the records (default on)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda")
    p.set_defaults(func=run_audit)
