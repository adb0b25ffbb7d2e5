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
from evolve.errors import RunError

COMMAND_MODULES = (
    "evolve.cli.images",
    "evolve.cli.scorers",
    "evolve.cli.runs",
    "evolve.cli.dream",
    "evolve.cli.explore",
    "evolve.bench",
)
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genart",
        description="Evolve pictures from formulas and let an image classifier judge them.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    keep_freed_memory()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except USER_ERRORS as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"genart: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("genart: interrupted", file=sys.stderr)
        return 130

