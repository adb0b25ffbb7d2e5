"""`genart evolve --from SOURCE…`: what a person picked, read as parent formulas.

A source is a record file (`runs/A/records/0007.formula`, its `.png`/`_hires.png`, which carry
the formula in their PNG text, or its `.json`), an explore cell file (`cells/0118.formula`), a
whole run folder (its best records by fitness, or an explore run's best cells), or formula text.
Every formula is parsed (never eval'ed); any bad pick is one RunError, raised before a run
folder exists.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from genart import FormulaError, GenartError, parse, read_formula

from evolve.errors import RunError
from evolve.runfolder.rundir import RunDir

BEST_OF_RUN = 3                    # records a run folder contributes: its best by fitness
PATH_SUFFIXES = (".png", ".formula", ".json", ".txt", ".jpg", ".jpeg")
MAX_FORMULA_BYTES = 1 << 20
HINT = "give a record (.formula or .png), a run folder or formula text"


@dataclass(frozen=True)
class Parent:
    """One picked formula (canonical text) and where it came from (an absolute path, or
    'formula text')."""
    formula: str
    source: str


def resolve_sources(sources: Sequence[str], *, best: int = BEST_OF_RUN) -> list[Parent]:
    """The distinct parent formulas the sources name, in the order given; RunError on the first
    source that is missing, unreadable, formula-less, unparsable or a run without records."""
    if isinstance(sources, str):                  # `from = "…"` in a TOML file
        sources = [sources]
    if not sources:
        raise RunError(f"--from needs at least one source; {HINT}")
    parents, seen = [], set()
    for source in sources:
        for parent in _resolve(str(source), best):
            if parent.formula not in seen:
                seen.add(parent.formula)
                parents.append(parent)
    return parents


def _resolve(source: str, best: int) -> list[Parent]:
    text = source.strip()
    if not text:
        raise RunError(f"--from got an empty source; {HINT}")
    path = Path(text).expanduser()
    kind = _kind_of(path)
    if kind == "folder":
        return _run_parents(path, best)
    if kind == "file":
        return [_file_parent(path)]
    if os.sep in text or "/" in text or text.lower().endswith(PATH_SUFFIXES):
        raise RunError(f"--from {text}: no such file or run folder; {HINT}")
    return [Parent(_canonical(text, f"--from {_short(text)!r} is not a file, run folder "
                                     f"or formula"), "formula text")]


def _kind_of(path: Path) -> str | None:
    """'folder', 'file' or None (nothing there, or text no file system takes as a name: a
    long formula is 'File name too long', one with a NUL byte a ValueError)."""
    try:
        return "folder" if path.is_dir() else "file" if path.is_file() else None
    except (OSError, ValueError):
        return None


def _canonical(text: str, what: str) -> str:
    """The formula's canonical text (str of its parsed genome); RunError saying `what` was
    wrong and where."""
    try:
        return str(parse(text.strip()))
    except FormulaError as error:
        raise RunError(f"{what} ({error}); {HINT}") from None


def _file_parent(path: Path) -> Parent:
    """A record's formula: from PNG text, a `.json` record's sibling `.formula`, or the file."""
    source = str(path.resolve())
    suffix = path.suffix.lower()
    if suffix in (".png", ".jpg", ".jpeg"):
        try:
            text = read_formula(path)
        except GenartError as error:
            raise RunError(f"--from: {error} Pick a record's .formula or .png "
                           f"instead") from None
        return Parent(_canonical(text, f"--from {path}: its formula does not parse"), source)
    if suffix == ".json" and path.with_suffix(".formula").is_file():
        path = path.with_suffix(".formula")
        source = str(path.resolve())
    return Parent(_canonical(_read_text(path), f"--from {path} is not a formula"), source)


def _read_text(path: Path) -> str:
    if path.stat().st_size > MAX_FORMULA_BYTES:
        raise RunError(f"--from {path} is over {MAX_FORMULA_BYTES >> 20} MiB, not a formula; "
                       f"{HINT}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RunError(f"--from {path} is not a text file or a PNG; {HINT}") from None


def _run_parents(folder: Path, best: int) -> list[Parent]:
    """A run folder's `best` distinct records by fitness, else an explore run's best cells."""
    if not (folder / "config.json").is_file():
        raise RunError(f"--from {folder} is a folder but not a genart run (no config.json); "
                       f"{HINT}")
    entries = RunDir(folder).record_entries()
    entries.sort(key=lambda e: -_number(e.get("fitness")))
    files = [folder / "records" / f"{e['stem']}.formula" for e in entries]
    files = [f for f in files if f.is_file()]
    if not files:
        files = _best_cells(folder)
    if not files:
        raise RunError(f"--from {folder} has no records yet (records/NNNN.formula); "
                       f"let it run longer, or give a record file or formula text")
    parents, seen = [], set()
    for file in files:              # a record may repeat an earlier one's formula (new views)
        parent = _file_parent(file)
        if parent.formula not in seen and len(parents) < best:
            seen.add(parent.formula)
            parents.append(parent)
    return parents


def _best_cells(folder: Path) -> list[Path]:
    """An explore run's cells/NNNN.formula files, most confident first ([] if none)."""
    try:
        cells = json.loads((folder / "archive.json").read_text(encoding="utf-8"))["cells"]
        ranked = sorted(cells.values(), key=lambda c: -_number(c.get("confidence")))
        files = [folder / "cells" / f"{int(c['class']):04d}.formula" for c in ranked]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return []
    return [f for f in files if f.is_file()]


def _number(value) -> float:
    return float(value) if isinstance(value, (int, float)) else float("-inf")


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
