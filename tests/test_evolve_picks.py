"""Breeding from picks (issue 23): `genart evolve --from` on records of two real runs, the run's
config naming its parents, bad picks refused before anything is written, and the gallery's pick
boxes building the command in a real headless chromium."""
import json
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from evolve.cli import build_parser, main
from evolve.runfolder.rundir import RunDir
from evolve.runfolder.sources import Parent, resolve_sources
from evolve.search.loop import make_variation
from evolve.search.operators import Start, initial_population, make_toolbox
from evolve.search.parents import first_population
from evolve.search.rng import seed_everything
from evolve.search.settings import RunConfig
from genart import Genome, constants_of, parse, random_genomes, read_formula, save_png

TINY = ["--pop", "4", "--size", "32", "--views", "1", "--record-size", "0", "--judge", "none",
        "--tune-steps", "2", "--device", "cpu", "--quiet"]
BRED = 12                                 # the --from run's population
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


# --- descent, checked on the formulas ----------------------------------------------------------
# A genome descends from the parents when it IS a parent; or is a parent with its constants
# moved (the jitter mutation: same shape, every constant within 50 % (jitter's step is 8 %));
# or at least half its nodes lie in subtrees (≥ 2 nodes) that occur verbatim in a parent —
# crossover and the other mutations change one subtree and the path above it, and fresh
# genomes share no verbatim subtree with a ≥ 2-node piece, since their constants are new draws.

def subtrees(genome: Genome):
    """(slice, text) of every subtree with at least two nodes."""
    for i in range(len(genome)):
        span = genome.searchSubtree(i)
        if span.stop - span.start >= 2:
            yield span, str(Genome(genome[span]))


def covered_share(genome: Genome, parent_texts: set[str]) -> float:
    covered = [False] * len(genome)
    for span, text in subtrees(genome):
        if text in parent_texts:
            covered[span] = [True] * (span.stop - span.start)
    return sum(covered) / len(genome)


def jittered(genome: Genome, parent: Genome) -> bool:
    if NUMBER.sub("#", str(genome)) != NUMBER.sub("#", str(parent)):
        return False
    return all(abs(a - b) <= 0.5 * (abs(b) + 0.1)
               for a, b in zip(constants_of(genome), constants_of(parent)))


def descends(genome: Genome, parents: list[Genome]) -> bool:
    texts = {text for p in parents for _, text in subtrees(p)}
    return (str(genome) in {str(p) for p in parents}
            or any(jittered(genome, p) for p in parents)
            or covered_share(genome, texts) >= 0.5)


# --- runs ----------------------------------------------------------------------------------------

def start_share_flag() -> str:
    """The flag of the start-form share (issue 19 renames --sine-share to --start-share)."""
    flags = build_parser().commands["evolve"]._option_string_actions
    return next(f for f in ("--start-share", "--sine-share") if f in flags)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two real tiny runs (CPPN and sine-sum starts) and a run bred from one record of each:
    A's .formula file and B's PNG, copied alone so only its embedded formula can be read."""
    root = tmp_path_factory.mktemp("picks")
    for name, start, seed in (("A", "cppn", "1"), ("B", "sines", "2")):
        assert main(["evolve", "crab", *TINY, "--generations", "1", start_share_flag(), "1",
                     "--start", start, "--template", "none", "--seed", seed,
                     "--out", str(root / name)]) == 0
    shutil.copy(root / "B" / "records" / "0000.png", root / "picked.png")
    assert main(["evolve", "crab", *TINY, "--pop", str(BRED), "--generations", "0",
                 "--out", str(root / "C"), "--from",
                 str(root / "A" / "records" / "0000.formula"), str(root / "picked.png")]) == 0
    return root


def population(run: Path) -> list[Genome]:
    state = json.loads((run / "checkpoint.json").read_text())
    assert state["generation"] == 0
    return [parse(g["formula"]) for g in state["population"]]


def test_the_first_generation_descends_from_the_picked_records(runs):
    parents = [parse((runs / "A" / "records" / "0000.formula").read_text()),
               parse(read_formula(runs / "picked.png"))]
    members = population(runs / "C")
    assert len(members) == BRED
    assert [str(g) for g in members[:2]] == [str(p) for p in parents]
    bred = [g for g in members if str(g) not in {str(p) for p in parents}]
    assert len({str(g) for g in bred}) >= BRED - 4          # children, mostly distinct
    assert all(descends(g, parents) for g in members), \
        [round(covered_share(g, {t for p in parents for _, t in subtrees(p)}), 2) for g in members]


def test_the_descent_check_refuses_fresh_genomes(runs):
    """The check can fail: start genomes of both forms and random trees are not descendants,
    nor is either parent a descendant of the other alone."""
    parents = [parse((runs / "A" / "records" / "0000.formula").read_text()),
               parse(read_formula(runs / "picked.png"))]
    seed_everything(5)
    fresh = (initial_population(6, Start(share=1.0, form="cppn"))
             + initial_population(6, Start(share=1.0, form="sines")) + random_genomes(6, seed=5))
    assert not any(descends(g, parents) for g in fresh)
    assert not descends(parents[0], parents[1:]) and not descends(parents[1], parents[:1])


def test_the_config_names_the_parents_and_their_sources(runs):
    config = json.loads((runs / "C" / "config.json").read_text())
    assert config["parents"] == [str(parse((runs / "A" / "records" / "0000.formula").read_text())),
                                 str(parse(read_formula(runs / "picked.png")))]
    assert config["parent_sources"] == [str((runs / "A" / "records" / "0000.formula").resolve()),
                                        str((runs / "picked.png").resolve())]
    assert RunDir.open(runs / "C").config.parents == tuple(config["parents"])   # resumable
    plain = json.loads((runs / "A" / "config.json").read_text())
    assert plain["parents"] == [] and plain["parent_sources"] == []


def test_a_run_folder_gives_its_best_records(runs, tmp_path):
    entries = sorted(RunDir(runs / "A").record_entries(), key=lambda e: -e["fitness"])
    formulas = [(runs / "A" / "records" / f"{e['stem']}.formula").read_text() for e in entries]
    distinct = list(dict.fromkeys(str(parse(f)) for f in formulas))
    out = tmp_path / "D"
    assert main(["evolve", "crab", *TINY, "--generations", "0", "--seed", "4", "--out", str(out),
                 "--from", str(runs / "A")]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["parents"] == distinct[:3]                 # the best distinct records
    best = runs / "A" / "records" / f"{entries[0]['stem']}.formula"
    assert config["parent_sources"][0] == str(best)


def test_formula_text_of_any_length_is_a_source(runs):
    """A pasted record formula (thousands of characters: too long for a file name)."""
    text = (runs / "B" / "records" / "0000.formula").read_text()
    assert len(text) > 1000
    assert resolve_sources([text, "add(x, y)"]) == [Parent(str(parse(text)), "formula text"),
                                                   Parent("add(x, y)", "formula text")]


def test_fresh_share_fills_part_of_the_population_with_start_genomes(runs):
    parents = [parse((runs / "A" / "records" / "0000.formula").read_text())]
    config = RunConfig(target="crab", population=10, parents=(str(parents[0]),), fresh_share=0.5)
    variation = make_variation(config)
    seed_everything(0)
    members = first_population(config, make_toolbox(variation), variation)
    assert [descends(g, parents) for g in members].count(False) == 5


# --- bad picks: one line, exit 2, nothing written -------------------------------------------------

def snapshot(root: Path) -> dict:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def empty_run(here: Path, runs: Path) -> str:
    shutil.copytree(runs / "A", here / "empty")
    shutil.rmtree(here / "empty" / "records")
    return str(here / "empty")


def plain_png(here: Path, runs: Path) -> str:
    import torch
    save_png(here / "photo.png", torch.zeros(3, 8, 8))         # no formula in its text
    return str(here / "photo.png")


def bad_formula_file(here: Path, runs: Path) -> str:
    (here / "bad.formula").write_text("add(x, sin(\n")
    return str(here / "bad.formula")


BAD_PICKS = {
    "missing file": (lambda here, runs: str(runs / "A" / "records" / "0099.formula"),
                     "no such file"),
    "png without a formula": (plain_png, "no formula"),
    "formula text that does not parse": (lambda here, runs: "add(x, sin(y)", "bad formula"),
    "formula file that does not parse": (bad_formula_file, "bad formula"),
    "run folder with no records": (empty_run, "has no records"),
    "folder that is not a run": (lambda here, runs: str(here), "not a genart run"),
}


@pytest.mark.parametrize("case", sorted(BAD_PICKS))
def test_a_bad_pick_is_one_line_exit_2_and_nothing_written(case, runs, tmp_path, capsys):
    make, expected = BAD_PICKS[case]
    here = tmp_path / "here"
    here.mkdir()
    source = make(here, runs)
    before = snapshot(tmp_path)
    capsys.readouterr()
    code = main(["evolve", "crab", *TINY, "--generations", "0", "--out", str(tmp_path / "out"),
                 "--from", str(runs / "A" / "records" / "0000.formula"), source])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("genart: error: --from") and expected in err, err
    assert snapshot(tmp_path) == before and not (tmp_path / "out").exists()


def test_more_parents_than_the_population_is_refused(runs, tmp_path, capsys):
    code = main(["evolve", "crab", *TINY, "--pop", "3", "--generations", "0",
                 "--out", str(tmp_path / "out"), "--from", "add(x, y)", "sin(x)", "cos(r)",
                 "r"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "--pop" in err, err
    assert not (tmp_path / "out").exists()


# --- the gallery builds the command for the ticked records ---------------------------------------

def dump_dom(page: Path, query: str, profile: Path) -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium binary")
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                           f"--user-data-dir={profile}", "--dump-dom",
                           page.resolve().as_uri() + query],
                          capture_output=True, text=True, timeout=60).stdout


def picked_command(dom: str) -> tuple[str, str]:
    count = re.search(r'id="pick-count">(\d+)<', dom).group(1)
    return count, re.search(r'<code id="pick-command"[^>]*>([^<]*)</code>', dom).group(1)


def test_the_gallery_builds_the_command_for_ticked_records_in_chromium(runs, tmp_path):
    run = runs / "A"
    stems = sorted(e["stem"] for e in RunDir(run).record_entries())
    assert main(["gallery", str(run)]) == 0
    page = run / "index.html"
    assert picked_command(dump_dom(page, "", tmp_path / "p0")) == \
        ("0", "tick records to build the command")
    ticked = stems[:2]
    dom = dump_dom(page, "?pick=" + ",".join(str(int(s)) for s in ticked), tmp_path / "p1")
    shown = [s for s in reversed(stems) if s in ticked]                  # page order: newest first
    paths = [shlex.quote(str((run / "records" / f"{s}.formula").resolve())) for s in shown]
    assert picked_command(dom) == (str(len(ticked)), "genart evolve crab --from " + " ".join(paths))
    assert len(re.findall(r'<input type="checkbox" class="pick"', dom)) == len(stems)
    for stem in stems:                           # each card: its file and its own command
        source = shlex.quote(str((run / "records" / f"{stem}.formula").resolve()))
        assert f'href="records/{stem}.formula"' in dom
        assert f"genart evolve crab --from {source}</code>" in dom
    pasted = shlex.split(picked_command(dom)[1])               # paste it: a run bred from them
    assert main(pasted[1:] + [*TINY, "--generations", "0", "--out", str(tmp_path / "bred")]) == 0
    config = json.loads((tmp_path / "bred" / "config.json").read_text())
    wanted = {}
    for stem in shown:                                        # one parent per distinct formula
        file = (run / "records" / f"{stem}.formula").resolve()
        wanted.setdefault(str(parse(file.read_text())), str(file))
    assert config["parent_sources"] == list(wanted.values())


def test_the_gallery_of_a_bred_run_links_its_parents(runs):
    page = (runs / "C" / "index.html").read_text()
    assert page.count("class='card parent'") == 2 and "Bred from 2 parents" in page
    links = re.findall(r"<a href='([^']+)'>A/0000</a>", page)
    assert links and (runs / "C" / links[0]).resolve() == \
        (runs / "A" / "records" / "0000.formula").resolve()
    records = page.count("class='card record'")
    assert records and page.count("<a href='#parent-0'>") == records
    assert "<a href='#parent-1'>picked.png</a>" in page
    assert "card parent" not in (runs / "A" / "index.html").read_text()
