"""Flags the commands share, made from the settings themselves: every RunConfig (or
ExploreConfig) field is a flag and a `--config FILE.toml` key, typed and bounded by its
`setting(...)` declaration, grouped in `--help` by its group; budgets and the backend.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import types
import typing
from pathlib import Path

from evolve.backends import KINDS, Backend
from evolve.errors import RunError
from evolve.search.ranges import float_in, int_in, number, positive  # noqa: F401
from evolve.search.settings import GROUPS, NO_FLAG

if sys.version_info >= (3, 11):
    import tomllib
else:                                    # Python 3.10
    import tomli as tomllib

GROUP_TITLES = {"search": "search", "scoring": "scoring",
                "robust": "robust search or fooling images",
                "budget": "budget (one of --generations, --minutes, --hours)",
                "output": "output"}
MAX_HOURS = 24 * 365


# --- settings as flags -------------------------------------------------------------------------

def option_strings(field: dataclasses.Field) -> list[str]:
    """`--pop` (and its aliases) for a setting; [] for one set by other flags."""
    flag = field.metadata.get("flag")
    if flag == NO_FLAG:
        return []
    names = [flag or field.name.replace("_", "-"), *field.metadata.get("aliases", ())]
    return ["--" + name for name in names]


def setting_groups(parser: argparse.ArgumentParser) -> dict:
    """The parser's five `--help` groups (search, scoring, robust, budget, output), made once."""
    if not hasattr(parser, "setting_groups"):
        parser.setting_groups = {g: parser.add_argument_group(GROUP_TITLES[g]) for g in GROUPS}
    return parser.setting_groups


def add_settings_arguments(parser: argparse.ArgumentParser, cls, defaults=None, *,
                           only_groups=None, suppress: bool = False) -> list[str]:
    """A flag for every setting of `cls` that has one (none for cls.IGNORED unless
    `suppress`), typed from its annotation and bounded by its declaration; defaults from
    `defaults`, or argparse.SUPPRESS (`suppress`: only flags given appear in the args, as
    resume wants). Returns the fields given flags."""
    hints = typing.get_type_hints(cls)
    groups = setting_groups(parser)
    made = []
    for field in dataclasses.fields(cls):
        meta, options = field.metadata, option_strings(field)
        if (not options or not suppress and field.name in getattr(cls, "IGNORED", ())
                or only_groups is not None and meta.get("group") not in only_groups):
            continue
        default = argparse.SUPPRESS if suppress else getattr(defaults, field.name)
        kind = hints[field.name]
        if isinstance(kind, types.UnionType):
            kind = next(k for k in typing.get_args(kind) if k is not type(None))
        extra = {}
        if kind is bool:
            extra["action"] = argparse.BooleanOptionalAction
        elif kind in (int, float):
            extra["type"] = number(kind, meta.get("low"), meta.get("high"), meta.get("above"))
            extra["metavar"] = "N" if kind is int else "X"
        elif typing.get_origin(kind) is tuple:
            extra["nargs"] = "+"
        elif meta.get("choices"):
            extra["choices"] = meta["choices"]
        value = getattr(defaults, field.name, None)
        shown = ("" if suppress or value is None else f" (default {'on' if value else 'off'})"
                 if kind is bool else " (default %(default)s)")
        groups[meta.get("group", "search")].add_argument(
            *options, dest=field.name, default=default,
            help=meta.get("help", "").replace("%", "%%") + shown, **extra)
        made.append(field.name)
    return made


def config_values(cls, args) -> dict:
    """The settings of `cls` that `args` holds (by field name), for cls(**values)."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(cls) if hasattr(args, f.name)}


# --- budgets and backend -----------------------------------------------------------------------

def add_budget_arguments(parser: argparse.ArgumentParser, what: str) -> None:
    """--minutes and --hours beside the generated --generations, and --quiet."""
    group = setting_groups(parser)["budget"]
    group.add_argument("--minutes", type=positive(float, MAX_HOURS * 60), metavar="X",
                       help=f"minutes {what}")
    group.add_argument("--hours", type=positive(float, MAX_HOURS), metavar="X",
                       help=f"hours {what}")
    setting_groups(parser)["output"].add_argument(
        "--quiet", action="store_true", help="plain log lines instead of a bar")


def budget_of(args) -> dict:
    chosen = [name for name in ("generations", "minutes", "hours")
              if getattr(args, name, None) is not None]
    if len(chosen) > 1:
        raise RunError(f"give one budget, not {' and '.join('--' + c for c in chosen)}")
    generations = getattr(args, "generations", None)
    seconds = (args.minutes * 60 if args.minutes is not None
               else args.hours * 3600 if args.hours is not None else None)
    return {"generations": generations, "seconds": seconds}


def run_budget(args) -> dict:
    """A new run's budget: the one given, else 30 minutes."""
    budget = budget_of(args)
    if budget["generations"] is None and budget["seconds"] is None:
        budget["seconds"] = 30 * 60.0
    return budget


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


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE.toml",
                        help="settings from a TOML file: its keys are this command's flags "
                             "(pop = 32, tune-steps or tune_steps = 10, minutes = 60, "
                             "target = \"crab\"), checked the same way; flags on the line win")


# --- --config FILE.toml ------------------------------------------------------------------------

NOT_SETTINGS = {"help", "config"}


def read_toml(path: str) -> dict:
    file = Path(path)
    if not file.is_file():
        raise RunError(f"no such config file: {file}; give a TOML file of settings, "
                       f"e.g. pop = 32 and minutes = 60")
    try:
        return tomllib.loads(file.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise RunError(f"{file} is not valid TOML ({error}); fix it or leave out --config") \
            from None


def settings_file(path: str, parser: argparse.ArgumentParser) -> dict:
    """`parser`'s values from a TOML file whose keys are its flags (`pop`, `tune-steps` or
    `tune_steps`) or positionals (`target`), run through the flags' own types and checks;
    RunError naming the file and the first unknown key or bad value."""
    data = read_toml(path)
    by_key, positionals = {}, {}
    for action in parser._actions:
        if action.dest in NOT_SETTINGS or action.dest == argparse.SUPPRESS:
            continue
        if not action.option_strings:
            positionals[action.dest] = action
        for option in action.option_strings:
            if option.startswith("--"):
                by_key[option[2:].replace("-", "_")] = action
    unknown = sorted(key for key in data if key.replace("-", "_") not in by_key
                     and key.replace("-", "_") not in positionals)
    if unknown:
        raise RunError(f"{path} has unknown settings {unknown}; use the names of "
                       f"`genart {parser.prog.split()[-1]} --help`'s flags")
    tokens, values = [], {}
    for key, value in data.items():
        name = key.replace("-", "_")
        if name in positionals:
            if not isinstance(value, (str, int)) or isinstance(value, bool):
                raise RunError(f"{path}: {key} must be text, got {value!r}")
            values[name] = str(value)
        else:
            tokens += _tokens(path, key, value, by_key[name])
    try:
        parsed = parser.parse_args(tokens, namespace=argparse.Namespace())
    except RunError as error:
        raise RunError(f"{path}: {error}") from None
    given = {by_key[k.replace("-", "_")].dest for k in data if k.replace("-", "_") in by_key}
    return {**values, **{dest: getattr(parsed, dest) for dest in given if hasattr(parsed, dest)}}


def _tokens(path: str, key: str, value, action: argparse.Action) -> list[str]:
    """The command-line words that give `action` the TOML `value` (so its type checks it)."""
    option = next(o for o in action.option_strings if o.startswith("--"))
    is_flag = action.nargs == 0
    if is_flag:
        if not isinstance(value, bool):
            raise RunError(f"{path}: {key} must be true or false, got {value!r}")
        if isinstance(action, argparse.BooleanOptionalAction):
            return [option if value else "--no-" + option[2:]]
        return [option] if value != action.default else []
    if isinstance(value, (dict, bool)) or isinstance(value, list) and action.nargs != "+":
        raise RunError(f"{path}: {key} must be {'a list' if action.nargs == '+' else 'a value'}"
                       f", got {value!r}")
    if isinstance(value, list):
        return [option, *(str(v) for v in value)]
    return [f"{option}={value}"]
