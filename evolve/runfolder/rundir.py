"""A run folder: config, per-generation log, records, atomic checkpoint — all plain JSON and PNG.

Anatomy (see docs/DESIGN "Runs"): config.json, log.jsonl, checkpoint.json, records/NNNN.*,
index.html + fitness.png (gallery), polished/ (dream outputs). Every write of a whole file goes
through a temporary file and `os.replace`, so a kill at any moment leaves either the old file or
the new one, never a partial one. No pickle anywhere: a checkpoint is formulas and numbers.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import tempfile
import time
from pathlib import Path

from evolve.errors import RunError
from evolve.search.settings import CHECKPOINT_VERSION, RunConfig

WALL_CLOCK_FIELDS = ("elapsed", "saved_at")   # checkpoint fields that differ between equal runs
log = logging.getLogger(__name__)


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write a whole file so that readers only ever see the old or the new content."""
    path = Path(path)
    raw = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_json(path: Path, value) -> None:
    write_atomic(path, json.dumps(value, indent=1) + "\n")


def default_out(target: str, root: str = "runs") -> Path:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", target).strip("-") or "run"
    return Path(root) / f"{name}-{time.strftime('%Y%m%d-%H%M%S')}"


def _reason(error: Exception) -> str:
    """A short why for an unreadable file."""
    if isinstance(error, json.JSONDecodeError):
        return f"corrupt JSON: {error.msg} at line {error.lineno}"
    if isinstance(error, UnicodeDecodeError):
        return "not UTF-8"
    return getattr(error, "strerror", None) or str(error)


class RunDir:
    """One run folder on disk. `create` refuses an existing run; `open` needs one."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.records = self.path / "records"
        self.config_path = self.path / "config.json"
        self.log_path = self.path / "log.jsonl"
        self.checkpoint_path = self.path / "checkpoint.json"
        self.config: RunConfig | None = None        # set by create and open
        self.skipped: list[str] = []    # "FILE (why)" of every unreadable file passed over

    @staticmethod
    def refuse_existing(path: Path) -> None:
        path = Path(path)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise RunError(f"{path} exists; use `genart resume {path}` or choose another --out")

    @classmethod
    def create(cls, path: Path, config: RunConfig) -> "RunDir":
        cls.refuse_existing(path)
        run = cls(path)
        run.records.mkdir(parents=True, exist_ok=True)
        run.write_config(config)
        run.config = config
        return run

    @classmethod
    def open(cls, path: Path) -> "RunDir":
        """An existing run, every file checked readable before anything is changed.

        Raises:
            RunError: no such folder, not a genart run, or a config.json, log.jsonl,
                checkpoint.json or archive.json that is corrupt, truncated or missing.
        """
        run = cls(path)
        if not run.path.is_dir():
            raise RunError(f"{path} does not exist or is not a folder; give a run folder "
                           f"made by `genart evolve` or `genart explore`")
        if not run.config_path.is_file():
            raise RunError(f"{path} is not a genart run (no config.json); "
                           f"start one with `genart evolve TARGET --out {path}`")
        run.config = run.read_config(cls.config_kind(run._read_json(run.config_path)))
        run.read_log()
        state = run.load_checkpoint()
        if getattr(run.config, "kind", "evolve") == "explore" and state is not None:
            run.read_archive()
        return run

    @staticmethod
    def config_kind(data) -> type:
        """RunConfig, or ExploreConfig for a config whose kind is 'explore'."""
        from evolve.search.explore import ExploreConfig
        return ExploreConfig if isinstance(data, dict) and data.get("kind") == "explore" \
            else RunConfig

    def read_archive(self) -> dict:
        """archive.json of an explore run: {'cells': {...}, ...}; RunError if unreadable."""
        path = self.path / "archive.json"
        if not path.is_file():
            raise RunError(f"{path} is missing (every explore checkpoint writes it); restore it "
                           f"from a backup or start a new run")
        archive = self._read_json(path)
        if not isinstance(archive, dict) or not isinstance(archive.get("cells"), dict):
            raise RunError(f"{path} has no cells; restore it from a backup or start a new run")
        return archive

    def lock(self) -> None:
        """Hold an exclusive lock for this process's lifetime: one writer per run folder.

        flock is released by the kernel when the process dies, even on kill -9.
        """
        self._lock_file = open(self.path / ".lock", "a+")
        try:
            fcntl.flock(self._lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock_file.close()
            raise RunError(f"{self.path} is being evolved by another process; stop it before "
                           f"resuming, or wait for it to finish") from None

    # --- config ----------------------------------------------------------------------------
    def write_config(self, config: RunConfig) -> None:
        write_json(self.config_path, config.to_json())

    def read_config(self, kind=RunConfig) -> RunConfig:
        """The saved config as `kind` (RunConfig or a subclass); RunError naming the file."""
        data = self._read_json(self.config_path)
        try:
            return kind.from_json(data)
        except RunError as error:
            raise RunError(f"{self.config_path}: {error}") from None

    def checkpoint_config(self, state: dict | None) -> RunConfig:
        """The config a resume continues with: the checkpoint's own, else config.json's."""
        if state is None:
            return self.config or self.read_config()
        try:
            return type(self.config or RunConfig).from_json(state["config"])
        except RunError as error:
            raise RunError(f"{self.checkpoint_path}: {error}") from None

    # --- log -------------------------------------------------------------------------------
    def append_log(self, entry: dict) -> None:
        """One JSON object per line; a line is written whole with a single write call."""
        with open(self.log_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")

    def read_log(self) -> list[dict]:
        """The log's entries; a torn last line (a kill mid-write) is dropped, any other bad
        line is a RunError naming the file."""
        if not self.log_path.exists():
            return []
        try:
            lines = self.log_path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            raise RunError(f"{self.log_path} is not UTF-8 text; restore it from a backup "
                           f"or start a new run") from None
        entries = []
        for number, line in enumerate(lines, 1):
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):
                    continue
                entry = None
            if not isinstance(entry, dict):
                raise RunError(f"{self.log_path} line {number} is not a log entry; restore "
                               f"the file from a backup or delete that line")
            entries.append(entry)
        return entries

    def truncate_log(self, generation: int) -> None:
        """Drop log lines after `generation` (they are redone when a run resumes)."""
        kept = [e for e in self.read_log() if e.get("generation", 0) <= generation]
        write_atomic(self.log_path, "".join(json.dumps(e) + "\n" for e in kept))

    # --- records ---------------------------------------------------------------------------
    def record_stem(self, number: int) -> Path:
        return self.records / f"{number:04d}"

    def record_entries(self) -> list[dict]:
        """Every readable record's JSON, oldest first, with its file names added; an unreadable
        one is passed over in one warning naming it (and listed in `skipped`)."""
        entries = []
        for meta in sorted(self.records.glob("[0-9][0-9][0-9][0-9].json")):
            entry = self.optional_json(meta, "record")
            if entry is not None:
                entry["stem"] = meta.stem
                entries.append(entry)
        return entries

    def best_records(self, top: int) -> list[dict]:
        """The `top` fittest records that have a formula file, best first (what polish works
        on); RunError when there is none yet."""
        entries = sorted(self.record_entries(), key=lambda e: e.get("fitness", 0.0), reverse=True)
        entries = [e for e in entries if (self.records / f"{e['stem']}.formula").is_file()][:top]
        if not entries:
            raise RunError(f"{self.path} has no records with formulas yet; let the run go longer")
        return entries

    def optional_json(self, path: Path, what: str, needed: tuple = ()) -> dict | None:
        """A JSON object file that the run can do without: None when absent; when corrupt, not
        an object, or lacking a `needed` key, None and one warning naming it (`skipped`)."""
        path = Path(path)
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            why = ("not a JSON object" if not isinstance(data, dict) else
                   next((f"no {key!r}" for key in needed if key not in data), None))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            data, why = None, _reason(error)
        if why is None:
            return data
        self.skipped.append(f"{path} ({why})")
        log.warning("skipped unreadable %s %s (%s); restore it or delete it", what, path, why)
        return None

    def drop_records_from(self, number: int) -> None:
        """Remove records numbered `number` and above (redone after a resume)."""
        for path in self.records.glob("[0-9][0-9][0-9][0-9]*"):
            if int(path.name[:4]) >= number:
                path.unlink()

    # --- checkpoint ------------------------------------------------------------------------
    def save_checkpoint(self, state: dict) -> None:
        write_json(self.checkpoint_path, {"version": CHECKPOINT_VERSION, **state,
                                          "saved_at": time.time()})

    def load_checkpoint(self) -> dict | None:
        if not self.checkpoint_path.exists():
            return None
        state = self._read_json(self.checkpoint_path)
        needed = {"version", "generation", "population", "hall_of_fame", "rng", "config"}
        if not isinstance(state, dict) or not needed <= set(state) \
                or not isinstance(state.get("population"), list):
            raise RunError(f"{self.checkpoint_path} is incomplete; restore it from a backup "
                           f"or start a new run")
        if state["version"] != CHECKPOINT_VERSION:
            raise RunError(f"{self.checkpoint_path} has version {state['version']}, "
                           f"expected {CHECKPOINT_VERSION}; resume it with the genart that wrote it")
        return state

    def _read_json(self, path: Path):
        try:
            return json.loads(Path(path).read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise RunError(f"{path} is corrupt or truncated ({error.msg} at line {error.lineno}); "
                           f"restore it from a backup or start a new run") from None
        except UnicodeDecodeError:
            raise RunError(f"{path} is not UTF-8 JSON; restore it from a backup "
                           f"or start a new run") from None
