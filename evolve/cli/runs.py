"""`genart evolve`, `genart resume`, `genart gallery`: unattended runs from the command line.

Ctrl-C or SIGTERM stops within seconds (an unfinished generation is dropped, and redone on
resume), checkpoints and exits 0 with the resume command; a second Ctrl-C stops at once (every
write is atomic, so nothing is left half-written).
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from evolve.cli.arguments import (add_backend_arguments, add_budget_arguments,
                                  add_config_argument, add_settings_arguments, backend_of,
                                  budget_of, config_values, int_in, run_budget, setting_groups)
from evolve.cli.progress import Progress, drive_until_stopped
from evolve.cli.robust import robust_values
from evolve.errors import RunError
from evolve.runfolder.gallery import build_gallery
from evolve.runfolder.rundir import RunDir, default_out
from evolve.runfolder.sources import resolve_sources
from evolve.search.robust import form_defaults, is_robust
from evolve.search.settings import GROUPS, RunConfig, flag_name
from evolve.runfolder.session import resume_run, start_run

DEFAULTS = RunConfig(target="crab")
RESUMABLE = ("budget", "output")           # the settings `genart resume` may change


def _drive(session, quiet: bool) -> int:
    stopped = drive_until_stopped(session, Progress(session.config, quiet))
    run = session.run.path
    best = session.evolution.best.parts
    print(f"genart: generation {session.evolution.generation}, best fitness "
          f"{best['fitness']:.4f} (objective {best['objective']:.4f}, residual "
          f"{best['residual']:.4f}), {session.records} records")
    print(f"genart: gallery: {run / 'index.html'}")
    if stopped:
        print(f"genart: stopped; continue with: genart resume {run}")
    return 0


def evolve_config(args) -> RunConfig:
    """The run `genart evolve` was asked for (flags, --config file, --from sources), checked."""
    if not args.target:
        raise RunError("give a TARGET (crab, 118 or layer:NAME) on the line, "
                       "or target = \"crab\" in the --config file")
    values = robust_values({**config_values(RunConfig, args), **run_budget(args)}, DEFAULTS)
    RunConfig(**values)                   # every setting checked before a source is read
    picked = resolve_sources(getattr(args, "from")) if getattr(args, "from") else []
    parents = tuple(p.formula for p in picked)
    if is_robust(RunConfig(**values)):    # the form levers: defaults the line and file override
        given = getattr(args, "given", frozenset())
        values.update({name: value for name, value in
                       form_defaults(values["target"], parents).items() if name not in given})
    return RunConfig(**values, parents=parents, parent_sources=tuple(p.source for p in picked))


def run_evolve(args) -> int:
    config = evolve_config(args)
    out = Path(args.out) if args.out else default_out(args.target)
    session = start_run(out, config, backend=backend_of(args))
    if not args.quiet:
        print(f"genart: run folder {out}", flush=True)
    code = _drive(session, args.quiet)
    if args.polish:   # --polish: dream the best records at the end (evolve/cli/dream.py)
        from evolve.cli.dream import polish_after_run
        code = polish_after_run(out, args) or code
    return code


def resume_changes(args) -> dict:
    """The budget and output settings `genart resume` was given (budgets aside); RunError
    naming the first other setting, which would change the search the checkpoint continues."""
    from evolve.search.explore import ExploreConfig
    fields = {f.name: f for f in dataclasses.fields(ExploreConfig)}
    given = [name for name in vars(args) if name in fields and name != "generations"]
    for name in given:
        if fields[name].metadata.get("group") not in RESUMABLE:
            raise RunError(f"genart resume cannot change {flag_name(fields[name])}: it decides "
                           f"the search the checkpoint continues; only budget and output "
                           f"settings may change (start a new run for another)")
    return {name: getattr(args, name) for name in given}


def change_settings(session, changes: dict) -> None:
    """Resume's new output settings, in the session, its search and config.json."""
    if changes:
        config = dataclasses.replace(session.config, **changes)
        session.config = session.evolution.config = config
        session.run.write_config(config)


def run_resume(args) -> int:
    budget, changes = budget_of(args), resume_changes(args)
    if changes:                            # checked before the run is opened for writing
        dataclasses.replace(RunDir.open(Path(args.run)).config, **changes)
    from evolve.runfolder.explore_run import is_explore_run      # explore runs resume in cli/explore.py
    if is_explore_run(args.run):
        from evolve.cli.explore import resume_explore_command
        return resume_explore_command(args, budget, changes)
    session = resume_run(Path(args.run), backend=backend_of(args),
                         extra_generations=budget["generations"],
                         extra_seconds=budget["seconds"])
    change_settings(session, changes)
    return _drive(session, args.quiet)


def run_gallery(args) -> int:
    page = build_gallery(RunDir.open(Path(args.run)))
    print(f"genart: gallery: {page}")
    return 0


def register(sub) -> None:
    d = DEFAULTS
    p = sub.add_parser("evolve", help="evolve formulas towards a target (unattended, resumable)")
    p.add_argument("target", nargs="?",
                   help="class query (crab), class index (118) or layer:NAME[:C1,C2]")
    add_config_argument(p)
    add_settings_arguments(p, RunConfig, d)
    groups = setting_groups(p)
    groups["search"].add_argument(
        "--from", nargs="+", metavar="SOURCE", dest="from",
        help="breed the first population from these: record files (.formula, .png), run "
             "folders (their best records) or formula text")
    groups["output"].add_argument("--out", help="run folder (default runs/<target>-<time>)")
    groups["output"].add_argument(
        "--polish", type=int_in(0, 1000), nargs="?", const=3, default=0, metavar="K",
        help="at the end, polish the K best records into RUN/polished (default K 3): robust "
             "runs through their constants, --fooling and layer runs by DeepDream")
    groups["output"].add_argument("--polish-size", type=int_in(8, 16384), default=1024,
                                  help="render side for --polish")
    add_budget_arguments(p, "in all (default: 30 minutes)")
    add_backend_arguments(p)
    p.set_defaults(func=run_evolve)

    p = sub.add_parser("resume", help="continue a run from its checkpoint",
                       description="Continue a run (evolve or explore) from its checkpoint. "
                       "A budget given is more, from where the run stands; output settings "
                       "given replace the run's; any other setting is refused (it decides the "
                       "search the checkpoint continues).")
    p.add_argument("run", help="run folder")
    from evolve.search.explore import ExploreConfig
    add_settings_arguments(p, ExploreConfig, only_groups=RESUMABLE, suppress=True)
    add_settings_arguments(p, ExploreConfig, only_groups=tuple(g for g in GROUPS
                                                               if g not in RESUMABLE),
                           suppress=True)
    add_budget_arguments(p, "more (default: what is left of the run's own budget)")
    add_backend_arguments(p)
    p.set_defaults(func=run_resume)

    p = sub.add_parser("gallery", help="rebuild a run's index.html and fitness.png")
    p.add_argument("run", help="run folder")
    p.set_defaults(func=run_gallery)
