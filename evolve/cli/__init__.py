"""The `genart` command line: one entry point, one sub-command module per area.

Each module in COMMAND_MODULES offers `register(subparsers)`, which adds its sub-commands and
sets `func=handler` on each; a handler takes the parsed args and returns an exit code.
User errors become one line on stderr and exit code 2.
"""
from __future__ import annotations

import argparse
import ctypes
import importlib
import logging
import sys

from genart.errors import GenartError
from scorers.errors import ScorerError
from evolve.cli.arguments import settings_file
from evolve.errors import RunError

COMMAND_MODULES = (
    "evolve.cli.images",
    "evolve.cli.scorers",
    "evolve.cli.runs",
    "evolve.cli.dream",
    "evolve.cli.explore",
    "evolve.bench",
)
BUDGET_FLAGS = ("--generations", "--minutes", "--hours")
USER_ERRORS = (GenartError, ScorerError, RunError, FileNotFoundError, IsADirectoryError)


def keep_freed_memory() -> None:
    """Ask glibc to keep freed tensor buffers instead of returning them to the OS.

    Image-sized temporaries (0.2–20 MB) are otherwise mmap'ed and unmapped on every op, and the
    page faults of re-touching them cost ~25–40 % of a CPU render or forward pass here.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    libc.mallopt(m_mmap_threshold, 32 << 20)  # glibc's maximum on 64-bit
    libc.mallopt(m_trim_threshold, 1 << 30)
    libc.mallopt(m_top_pad, 256 << 20)


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one `genart: error:` line (and exit 2), like every other."""

    def error(self, message: str):
        command = self.prog.removeprefix("genart").strip()
        hint = f"; see `genart {command} --help`" if command else "; see `genart --help`"
        raise RunError(f"{message}{hint}")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="genart",
        description="Evolve pictures from formulas and let an image classifier judge them.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    parser.commands = sub.choices          # command name → its parser (for --config)
    return parser


def parse(argv: list[str] | None) -> argparse.Namespace:
    """Parse the command line; with --config FILE.toml, the file's settings become the
    command's defaults and the line is parsed again, so flags given on it win. `args.given`
    names the settings the line or the file set (the rest are defaults)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    values = {}
    if getattr(args, "config", None):
        command = parser.commands[args.command]
        values = settings_file(args.config, command)
        if any(a.split("=")[0] in BUDGET_FLAGS for a in argv or sys.argv[1:]):
            values = {k: v for k, v in values.items() if "--" + k not in BUDGET_FLAGS}
        command.set_defaults(**values)      # a budget on the line replaces the file's
        args = parser.parse_args(argv)
    args.given = frozenset(values) | given_on_line(argv)
    return args


def given_on_line(argv: list[str] | None) -> frozenset[str]:
    """The settings the command line names itself: argparse run again with no defaults."""
    parser = build_parser()
    for command in parser.commands.values():
        for action in command._actions:
            action.default = argparse.SUPPRESS
    return frozenset(vars(parser.parse_args(argv)))


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        args = parse(argv)
        return int(args.func(args) or 0)
    except USER_ERRORS as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"genart: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genart: interrupted", file=sys.stderr)
        return 130

