"""Every bad input is refused before anything is written: exit 2, one `genart: error:` line on
stderr, no traceback, and the folder it ran in byte-for-byte as before."""
import os
import shutil
from pathlib import Path

import pytest

from evolve.cli import main

FORMULA = "add(sin(mul(x, 3.1)), r)"
SEARCH = ["--pop", "4", "--size", "16", "--no-tune", "--device", "cpu", "--quiet"]
RUN = [*SEARCH, "--record-size", "0"]


def snapshot(root: Path) -> dict:
    """Every path under root, with a file's bytes (folders as None)."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A real two-generation evolve run and a real explore run, made once for every case."""
    root = tmp_path_factory.mktemp("good")
    assert main(["evolve", "crab", *RUN, "--generations", "1", "--out", str(root / "evolve")]) == 0
    assert main(["explore", "--classes", "crab", *SEARCH, "--generations", "1",
                 "--out", str(root / "explore")]) == 0
    return root


def corrupt(name: str, text: str | None):
    """A setup that copies a good run to `bad` and overwrites (or deletes) one of its files."""
    kind, file = name.split("/")

    def setup(here: Path, runs: Path) -> None:
        shutil.copytree(runs / kind, here / "bad")
        target = here / "bad" / file
        if text is None:
            target.unlink()
        else:
            target.write_text(text)
    return setup


def files(here: Path, runs: Path) -> None:
    (here / "junk.png").write_text("this is not an image")
    (here / "empty.png").write_bytes(b"")
    good = here / "good.png"
    assert main(["render", FORMULA, "--size", "32", "--aa", "1", "--device", "cpu",
                 "-o", str(good)]) == 0
    (here / "truncated.png").write_bytes(good.read_bytes()[:60])
    (here / "notarun").mkdir()
    (here / "notarun" / "notes.txt").write_text("hello")
    (here / "bad.toml").write_text("pop = [unclosed")
    (here / "unknown.toml").write_text("population = 8\nwings = 2\n")
    (here / "a_file").write_text("x")
    for name, (text, _) in TOML_FILES.items():
        (here / f"{name}.toml").write_text(text)
    (here / "emit_lr_zero.toml").write_text("emit-lr = 0.0\n")


TOML_FILES = {     # a --config file with one setting of the wrong type or range each: the words
    "pop_fraction": ("pop = 6.5\n", "--pop"),           # its one error line must hold
    "pop_zero": ("pop = 0\n", "--pop"),
    "pop_text": ('pop = "eight"\n', "--pop"),
    "share_text": ('tune-share = "high"\n', "--tune-share"),
    "views_negative": ("views = -1\n", "--views"),
    "fooling_number": ("fooling = 1\n", "fooling"),
    "start_unknown": ('start = "spiral"\n', "--start"),
    "naturalness_nan": ("naturalness = nan\n", "--naturalness"),
    "frequency_inf": ("sine_frequency = inf\n", "frequency"),
    "size_list": ("size = [64, 64]\n", "size"),
    "target_list": ('target = ["crab"]\n', "target"),
    "record_size_gap": ("record-size = 4\n", "--record-size"),
    "table": ("[search]\npop = 8\n", "'search'"),
}


CASES = [
    # (id, argv, setup, part of the message)
    ("unknown class", ["evolve", "crabz", *RUN, "--out", "o"], None, "crabz"),
    ("unknown layer", ["evolve", "layer:blocks.99", *RUN, "--out", "o"], None, "blocks.99"),
    ("unknown ensemble combine", ["evolve", "crab", "--ensemble", "max", *RUN, "--out", "o"],
     None, "--ensemble"),
    ("unknown start form", ["evolve", "crab", "--start", "spiral", *RUN, "--out", "o"], None,
     "--start"),
    ("sine share over one", ["evolve", "crab", "--sine-share", "2", *RUN, "--out", "o"], None,
     "--sine-share"),
    ("unknown model", ["evolve", "crab", "--fooling", "--model", "nonet", *RUN, "--out", "o"],
     None, "nonet"),
    ("unknown ensemble model", ["evolve", "crab", "--models", "efficientnet-lite0,nonet", *RUN,
                                "--out", "o"], None, "nonet"),
    ("unknown judge", ["evolve", "crab", "--judge", "nonet", *RUN, "--out", "o"], None, "nonet"),
    ("negative views", ["evolve", "crab", "--views", "-1", *RUN, "--out", "o"], None, "--views"),
    ("zero size", ["evolve", "crab", *RUN, "--size", "0", "--out", "o"], None, "--size"),
    ("negative size", ["evolve", "crab", *RUN, "--size", "-3", "--out", "o"], None, "--size"),
    ("huge size", ["evolve", "crab", *RUN, "--size", "100000", "--out", "o"], None, "--size"),
    ("negative record size", ["evolve", "crab", *RUN, "--record-size", "-1", "--out", "o"],
     None, "--record-size"),
    ("zero population", ["evolve", "crab", *RUN, "--pop", "0", "--out", "o"], None, "--pop"),
    ("zero minutes", ["evolve", "crab", *RUN, "--minutes", "0", "--out", "o"], None, "--minutes"),
    ("negative generations", ["evolve", "crab", *RUN, "--generations", "-2", "--out", "o"],
     None, "--generations"),
    ("two budgets", ["evolve", "crab", *RUN, "--generations", "2", "--minutes", "1",
                     "--out", "o"], None, "one budget"),
    ("bad tune share", ["evolve", "crab", *RUN, "--tune-share", "1.5", "--out", "o"], None,
     "--tune-share"),
    ("bad device", ["evolve", "crab", *RUN, "--device", "tpu", "--out", "o"], None, "tpu"),
    ("out is a file", ["evolve", "crab", *RUN, "--out", "a_file"], files, "a_file"),
    ("missing config file", ["evolve", "crab", "--config", "nope.toml", "--out", "o"], None,
     "nope.toml"),
    ("junk config file", ["evolve", "crab", "--config", "bad.toml", "--out", "o"], files,
     "bad.toml"),
    ("unknown config setting", ["evolve", "crab", "--config", "unknown.toml", "--out", "o"],
     files, "wings"),
    ("explore unknown class", ["explore", "--classes", "crabz", *SEARCH, "--out", "o"], None, "crabz"),
    ("explore zero size", ["explore", *SEARCH, "--size", "0", "--out", "o"], None, "--size"),
    ("explore robust unknown model", ["explore", "--robust", "--models", "efficientnet-lite0,nonet",
                                      *SEARCH, "--out", "o"], None, "nonet"),
    ("explore robust huge views", ["explore", "--robust", "--views", "100000", *SEARCH, "--out",
                                   "o"], None, "--views"),
    ("explore bad share", ["explore", *SEARCH, "--random-share", "2", "--out", "o"], None,
     "--random-share"),
    ("bad formula", ["render", "add(x, nope)", "-o", "o.png"], None, "nope"),
    ("render zero size", ["render", FORMULA, "--size", "0", "-o", "o.png"], None, "--size"),
    ("render huge size", ["render", FORMULA, "--size", "200000", "-o", "o.png"], None, "size"),
    ("render zero aa", ["render", FORMULA, "--aa", "0", "-o", "o.png"], None, "--aa"),
    ("missing formula file", ["render", "@missing.formula", "-o", "o.png"], None, "missing"),
    ("png without formula", ["render", "junk.png", "-o", "o.png"], files, "junk.png"),
    ("random zero n", ["random", "--n", "0", "-o", "o.png"], None, "--n"),
    ("random zero size", ["random", "--size", "0", "-o", "o.png"], None, "--size"),
    ("classify missing image", ["classify", "missing.png"], None, "missing.png"),
    ("classify junk image", ["classify", "junk.png"], files, "junk.png"),
    ("classify empty image", ["classify", "empty.png"], files, "empty.png"),
    ("classify truncated image", ["classify", "truncated.png"], files, "truncated.png"),
    ("classes unknown", ["classes", "wxyzzy"], None, "wxyzzy"),
    ("layers unknown model", ["layers", "--model", "nonet"], None, "nonet"),
    ("dream missing image", ["dream", "missing.png", "-o", "o.png"], None, "missing.png"),
    ("dream truncated image", ["dream", "truncated.png", "-o", "o.png"], files, "truncated.png"),
    ("dream zero steps", ["dream", "noise", "--steps", "0", "-o", "o.png"], None, "--steps"),
    ("dream unknown layer", ["dream", "noise", "--layer", "blocks.99", "-o", "o.png"], None,
     "blocks.99"),
    ("dream huge size", ["dream", FORMULA, "--size", "100000", "-o", "o.png"], None, "size"),
    ("resume missing folder", ["resume", "nowhere"], None, "nowhere"),
    ("resume not a run", ["resume", "notarun"], files, "notarun"),
    ("resume corrupt config", ["resume", "bad"], corrupt("evolve/config.json", "{oops"),
     "config.json"),
    ("resume truncated checkpoint", ["resume", "bad"],
     corrupt("evolve/checkpoint.json", '{"version": 1, "gener'), "checkpoint.json"),
    ("resume junk log", ["resume", "bad"],
     corrupt("evolve/log.jsonl", "not json\n{}\n"), "log.jsonl"),
    ("resume explore corrupt archive", ["resume", "bad"],
     corrupt("explore/archive.json", "[1, 2"), "archive.json"),
    ("resume explore missing archive", ["resume", "bad"],
     corrupt("explore/archive.json", None), "archive.json"),
    ("resume zero minutes", ["resume", "bad", "--minutes", "0"],
     corrupt("evolve/log.jsonl", '{"generation": 0}\n'), "--minutes"),
    ("resume changes the population", ["resume", "bad", "--pop", "6"],
     corrupt("evolve/log.jsonl", '{"generation": 0}\n'), "--pop"),
    ("resume changes the start form", ["resume", "bad", "--start", "sines"],
     corrupt("evolve/log.jsonl", '{"generation": 0}\n'), "--start"),
    ("resume explore changes the emitter", ["resume", "bad", "--emit-share", "0.5"],
     corrupt("explore/log.jsonl", '{"generation": 0}\n'), "--emit-share"),
    ("audit corrupt config", ["audit", "bad"], corrupt("evolve/config.json", "]"),
     "config.json"),
    ("audit not a run", ["audit", "notarun"], files, "notarun"),
    ("audit zero best", ["audit", "bad", "--best", "0"],
     corrupt("evolve/log.jsonl", '{"generation": 0}\n'), "--best"),
    ("audit confidence over 1", ["audit", "bad", "--min-confidence", "1.5"],
     corrupt("evolve/log.jsonl", '{"generation": 0}\n'), "--min-confidence"),
    ("audit negative crops", ["audit", "bad", "--crops", "-1"],
     corrupt("evolve/log.jsonl", '{"generation": 0}\n'), "--crops"),
    ("gallery corrupt config", ["gallery", "bad"], corrupt("evolve/config.json", "nope"),
     "config.json"),
    ("gallery corrupt log", ["gallery", "bad"], corrupt("evolve/log.jsonl", "{{\n{}\n"),
     "log.jsonl"),
    ("polish not a run", ["polish", "notarun"], files, "notarun"),
    ("polish corrupt config", ["polish", "bad"], corrupt("evolve/config.json", "[]"),
     "config.json"),
    ("polish zero top", ["polish", "bad", "--top", "0"],
     corrupt("evolve/log.jsonl", '{"generation": 0}\n'), "--top"),
    ("polish huge size", ["polish", "bad", "--size", "99999"],
     corrupt("evolve/log.jsonl", '{"generation": 0}\n'), "--size"),
    ("dream zero gif size", ["dream", "noise", "--zoom-frames", "2", "--gif-size", "0",
                             "-o", "frames"], None, "--gif-size"),
    ("ray with workers but local", ["evolve", "crab", *RUN, "--workers", "2", "--out", "o"],
     None, "--backend ray"),
    ("bench bad device", ["bench", "--device", "tpu"], None, "tpu"),
    # issue 19's cases
    ("dream negative jitter", ["dream", "noise", "--jitter", "-1", "-o", "o.png"], None,
     "--jitter"),
    ("dream zero zoom", ["dream", "noise", "--zoom", "0", "--zoom-frames", "2", "-o", "frames"],
     None, "--zoom"),
    ("evolve nan frequency", ["evolve", "crab", "--sine-frequency", "nan", *RUN, "--out", "o"],
     None, "--sine-frequency"),
    ("dream sweep with class", ["dream", "noise", "--sweep", "--class", "crab", "-o", "o.png"],
     None, "--class"),
    ("dream sweep with channels", ["dream", "noise", "--sweep", "3", "--channels", "1,2",
                                   "-o", "o.png"], None, "--channels"),
    ("dream sweep with guide", ["dream", "noise", "--sweep", "--guide", "good.png",
                                "-o", "o.png"], files, "--guide"),
    ("dream gif size without zoom", ["dream", "noise", "--gif-size", "64", "-o", "o.png"], None,
     "--gif-size"),
    ("evolve fooling with views", ["evolve", "crab", "--fooling", "--views", "2", *RUN,
                                   "--out", "o"], None, "--views"),
    ("evolve fooling with models", ["evolve", "crab", "--fooling", "--models",
                                    "efficientnet-lite1", *RUN, "--out", "o"], None, "--models"),
    ("explore views without robust", ["explore", "--views", "2", *SEARCH, "--out", "o"], None,
     "--robust"),
    ("elites not below pop", ["evolve", "crab", *RUN, "--elites", "4", "--out", "o"], None,
     "--elites"),
    ("more parents than pop", ["evolve", "crab", *RUN, "--generations", "0", "--from", "x",
                               "y", "r", "add(x, y)", "mul(x, y)", "--out", "o"], None, "--from"),
    *[(f"config {name}", ["evolve", *(["crab"] if name != "target_list" else []), "--config",
                          f"{name}.toml", *SEARCH, "--generations", "0", "--out", "o"],
       files, words)
      for name, (_, words) in TOML_FILES.items()],
    ("explore config emit lr zero", ["explore", "--config", "emit_lr_zero.toml", *SEARCH,
                                     "--out", "o"], files, "--emit-lr"),
]


@pytest.mark.parametrize("argv, setup, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_is_refused_before_anything_is_written(argv, setup, words, runs, tmp_path,
                                                         capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    if setup:
        setup(tmp_path, runs)
    before = snapshot(tmp_path)
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("genart: error: "), err
    assert words in lines[0], lines[0]
    assert "Traceback" not in err
    assert snapshot(tmp_path) == before
    assert not (tmp_path / "runs").exists() or os.listdir(tmp_path / "runs") == []


def placeholder_line(command: str, parser) -> list[str]:
    """The command with every required word filled in (run, image, formula, -o …)."""
    words = [command]
    for action in parser._actions:
        if not action.option_strings and action.nargs in (None, "+") and action.dest != "help":
            words.append("noise" if command == "dream" else "crab")
        elif action.option_strings and action.required:
            words += [action.option_strings[-1], "o.png"]
    return words


def numeric_flag_cases() -> list:
    """For every numeric flag of every command, the values it must refuse: NaN, infinity, and
    −1 and 0 where its range excludes them (every numeric flag must declare a range)."""
    from evolve.cli import build_parser
    cases, unbounded = [], []
    for command, parser in sorted(build_parser().commands.items()):
        for action in parser._actions:
            kind = getattr(action.type, "kind", action.type)
            if kind not in (int, float) or not action.option_strings:
                continue
            low, above = getattr(action.type, "low", None), getattr(action.type, "above", None)
            if low is None and above is None:
                unbounded.append(f"{command} {action.option_strings[0]}")
            refused = ["nan", "inf", "-inf"] + [
                text for text, value in (("-1", -1), ("0", 0))
                if (low is not None and value < low) or (above is not None and value <= above)]
            flag = action.option_strings[-1]
            line = placeholder_line(command, parser)
            out = ["--out", "o"] if "--out" in parser._option_string_actions else []
            cases += [pytest.param(line + [f"{flag}={text}", *out], flag,
                                   id=f"{command} {flag} {text}") for text in refused]
    return cases, unbounded


def test_every_numeric_flag_declares_a_range():
    """A setting's `low`/`high`/`above` (or search.ranges' types): −inf for a signed one."""
    assert not numeric_flag_cases()[1], "numeric flags without a range (search.ranges)"


@pytest.mark.parametrize("argv, flag", numeric_flag_cases()[0])
def test_every_numeric_flag_refuses_nan_inf_and_meaningless_values(argv, flag, tmp_path,
                                                                   capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("genart: error: "), err
    assert flag in lines[0], lines[0]
    assert list(tmp_path.iterdir()) == []
