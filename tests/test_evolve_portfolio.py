"""The portfolio: niches by descriptors on hand-made images, one elite per niche, stall restarts,
and a real run whose portfolio and look records survive kill -9 and resume identically."""
import json
import re

import pytest
import torch

from evolve.search.portfolio import STUCK_ROUNDS, Portfolio, formula_key
from evolve.search.settings import RunConfig
from genart import parse, render_batch
from runs import comparable, finished, genart, kill_at_generation
from scorers.descriptors import (DETAIL_NAMES, HUE_NAMES, NICHES, detail_level, dominant_hue,
                                 niche_name, niche_of)

SIDE = 64
CPU = torch.device("cpu")
# a real run that fills looks (bar far below any fitness) and restarts after one flat generation
RUN = ["crab", "--pop", "8", "--size", "64", "--record-size", "0", "--tune-steps", "2",
       "--tune-share", "0.1", "--views", "1", "--judge", "none", "--seed", "5", "--device",
       "cpu", "--quiet", "--portfolio-bar", "-100", "--stall-generations", "1",
       "--restart-mode", "blend"]
GENERATIONS = 4


def flat(r, g, b) -> torch.Tensor:
    return torch.tensor([r, g, b]).view(1, 3, 1, 1).expand(1, 3, SIDE, SIDE)


def stripes(period: int) -> torch.Tensor:
    """Black and white vertical stripes, `period` pixels per cycle."""
    x = torch.arange(SIDE)
    return ((x % period) < period // 2).float().expand(SIDE, SIDE)[None, None].expand(1, 3, -1, -1)


def gentle_green() -> torch.Tensor:
    """One slow green wave: a smooth image whose colour is green."""
    x = torch.linspace(0, 1, SIDE).expand(SIDE, SIDE)
    return torch.stack([0.1 + 0 * x, 0.5 + 0.4 * torch.sin(3 * x), 0.1 + 0 * x])[None]


def test_hue_of_hand_made_images():
    images = torch.cat([flat(0.9, 0.1, 0.1), flat(0.9, 0.9, 0.1), flat(0.1, 0.8, 0.1),
                        flat(0.1, 0.8, 0.8), flat(0.1, 0.1, 0.9), flat(0.8, 0.1, 0.8),
                        flat(0.5, 0.5, 0.5), stripes(4)])
    names = [HUE_NAMES[h] for h in dominant_hue(images).tolist()]
    assert names == ["red", "yellow", "green", "cyan", "blue", "magenta", "grey", "grey"]


def test_detail_of_hand_made_images():
    images = torch.cat([flat(0.9, 0.1, 0.1), gentle_green(), stripes(4)])
    assert [DETAIL_NAMES[d] for d in detail_level(images).tolist()] == \
        ["smooth", "smooth", "detailed"]


def test_niches_separate_the_hand_made_images_and_name_them():
    images = torch.cat([flat(0.9, 0.1, 0.1), flat(0.1, 0.1, 0.9), gentle_green(), stripes(4)])
    niches = niche_of(images).tolist()
    assert len(set(niches)) == 4 and all(0 <= n < NICHES for n in niches)
    assert [niche_name(n) for n in niches] == ["red, smooth", "blue, smooth", "green, smooth",
                                               "grey, detailed"]


def scored(formula: str, fitness: float):
    genome = parse(formula)
    genome.parts = {"fitness": fitness, "objective": fitness, "residual": 0.01, "penalty": 0.0,
                    "target_prob": 0.5}
    return genome


def test_each_niche_keeps_its_best_by_fitness_from_real_renders():
    portfolio = Portfolio(RunConfig(target="crab"), CPU)
    red, redder, blue = (scored("rgb(0.9, -0.9, -0.9)", 1.0), scored("rgb(0.8, -0.8, -0.9)", 2.0),
                         scored("rgb(-0.9, -0.9, 0.9)", 0.5))
    changed = portfolio.offer([red, blue], 0, red)
    assert sorted(changed) == sorted(portfolio.niches([red, blue]))     # two looks filled
    assert portfolio.offer([redder, blue], 1, redder) == portfolio.niches([redder])
    cells = {niche_name(c): e.formula for c, e in portfolio.archive.cells.items()}
    assert cells == {"red, smooth": str(redder), "blue, smooth": str(blue)}
    assert portfolio.offer([red], 2, redder) == []                      # worse: kept out
    again = Portfolio(RunConfig(target="crab"), CPU)
    again.restore(json.loads(json.dumps(portfolio.to_json())), 2)
    assert again.to_json() == portfolio.to_json()
    assert str(again.elite(portfolio.niches([blue])[0])) == str(blue)


def test_a_stall_restarts_with_portfolio_elites_and_grown_start_forms():
    config = RunConfig(target="crab", population=8, stall_generations=2, restart_share=0.5,
                       restart_units=3, start_terms=5, start_form="cppn")
    portfolio = Portfolio(config, CPU)
    elites = [scored("rgb(0.9, -0.9, -0.9)", 1.0), scored("rgb(-0.9, -0.9, 0.9)", 0.5)]
    portfolio.offer(elites, 0, elites[0])
    assert portfolio.restart(1, 6, []) == []                            # not stalled yet
    restarted = portfolio.restart(2, 6, [elites[0]])
    assert len(restarted) == 4 and portfolio.restarts == 1
    assert str(restarted[0]) == str(elites[1])                          # migrant, not held
    for fresh in restarted[1:]:
        assert str(fresh).count("colour(") == 5 + 3                     # one more size up
    assert portfolio.restart(3, 6, []) == []                            # the clock restarted


def test_a_config_written_before_portfolios_resumes_without_one():
    old = RunConfig(target="crab").to_json()
    for key in ("portfolio", "portfolio_bar", "stall_generations", "restart_mode",
                "restart_share", "restart_units"):
        old.pop(key)
    assert RunConfig.from_json(old).portfolio is False


def test_a_config_written_before_tune_views_tunes_on_every_view_as_it_ran():
    old = RunConfig(target="crab").to_json()
    assert old.pop("tune_views") == 3
    assert RunConfig.from_json(old).tune_views == 0


# --- a real run: records of looks, kill -9 and resume ----------------------------------------


def records(path) -> list[dict]:
    rows = []
    for meta in sorted(path.glob("records/[0-9][0-9][0-9][0-9].json")):
        row = json.loads(meta.read_text())
        row.pop("elapsed")
        row["formula"] = meta.with_suffix(".formula").read_text()
        rows.append(row)
    return rows


def full_run(factory, args: list[str], name: str):
    out = factory.mktemp("runs") / name
    finished(genart("evolve", *args, "--generations", str(GENERATIONS), "--out", str(out)))
    return out


def killed_and_resumed(args: list[str], out) -> dict:
    """The run killed -9 at generation 2, then resumed to the end: the checkpoint it was killed
    at."""
    process = genart("evolve", *args, "--generations", str(GENERATIONS), "--out", str(out))
    killed = kill_at_generation(process, out, 2)
    assert killed["generation"] < GENERATIONS, "killed too late"
    finished(genart("resume", str(out), "--quiet"))
    return killed


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    return full_run(tmp_path_factory, RUN, "portfolio")


def test_records_include_each_looks_gains(reference_run):
    rows = records(reference_run)
    state = json.loads((reference_run / "checkpoint.json").read_text())["portfolio"]
    looks = [r for r in rows if r.get("niche_record")]
    assert looks and any(not r.get("niche_record") for r in rows)      # looks and the best
    for row in looks:
        assert row["look"] == niche_name(row["niche"])
        image = render_batch([parse(row["formula"])], SIDE, CPU)
        assert niche_of(image).item() == row["niche"]                   # its look, re-rendered
    last = {r["niche"]: r["fitness"] for r in looks}
    assert {int(k): v for k, v in state["recorded"].items()} == last
    assert len(state["archive"]["cells"]) >= len(last)
    log = [json.loads(line) for line in (reference_run / "log.jsonl").read_text().splitlines()]
    assert log[-1]["portfolio"] == len(state["archive"]["cells"]) and log[-1]["restarts"] >= 1
    page = (reference_run / "index.html").read_text()
    shown = re.search(r"<h2>Portfolio: (\d+) looks</h2>", page)
    best_look = [r for r in rows if not r.get("niche_record")][-1].get("niche")
    assert shown and int(shown.group(1)) == 1 + len(set(last) - {best_look})


def test_portfolio_survives_kill_and_resumes_identically(reference_run, tmp_path):
    out = tmp_path / "killed"
    killed = killed_and_resumed(RUN, out)
    assert killed["portfolio"]["archive"]["cells"], "killed before the portfolio filled"
    assert comparable(out) == comparable(reference_run)       # every elite, every counter
    assert records(out) == records(reference_run)


# --- lineage restarts: a stalled search starts a new picture, the old one kept on disk --------

LINEAGE_RUN = RUN[:-1] + ["lineage"]


def test_new_template_copies_are_all_jittered():
    from evolve.search.templates import crab_formula, template_population

    drawn = template_population("crab", 3)
    fresh = template_population("crab", 3, as_drawn=False)
    assert str(drawn[0]) == str(parse(crab_formula()))
    assert len(fresh) == 3 and str(parse(crab_formula())) not in {str(g) for g in fresh}


def test_the_progress_line_names_the_lineage_once_there_is_a_second():
    from evolve.cli.progress import Progress

    entry = {"generation": 9, "best_fitness": -1.0, "top_class": "rock crab", "top_prob": 0.4,
             "best_residual": 0.01, "portfolio": 6, "portfolio_robust": 0, "lineage": 0}
    progress = Progress(RunConfig(target="crab"), quiet=True)
    assert "lineage" not in progress.describe(entry)
    assert "looks 6 (0 at bar) lineage 2 residual" in progress.describe({**entry, "lineage": 2})
    assert "lineage 2 robust 1 residual" in progress.describe({**entry, "lineage": 2,
                                                               "harvests": 1})


@pytest.fixture(scope="module")
def lineage_run(tmp_path_factory):
    return full_run(tmp_path_factory, LINEAGE_RUN, "lineage")


def test_each_lineage_is_recorded_from_its_own_start(lineage_run):
    log = [json.loads(line) for line in (lineage_run / "log.jsonl").read_text().splitlines()]
    lineages = [entry["lineage"] for entry in log]
    assert lineages == sorted(lineages) and lineages[-1] >= 1
    assert log[-1]["restarts"] == lineages[-1]
    best_path = [r for r in records(lineage_run) if not r.get("niche_record")]
    assert {r["lineage"] for r in best_path} == set(range(lineages[-1] + 1))
    born = next(e for e in log if e["lineage"] == 1)       # the new lineage's first generation
    assert born["best_ever_fitness"] == born["best_fitness"]             # the old best forgotten
    page = (lineage_run / "index.html").read_text()
    shown = re.search(r"<h3>(\d+) lineages</h3>", page)
    assert shown and int(shown.group(1)) == lineages[-1] + 1
    assert page.count("class='card lineage'") == lineages[-1]    # the best's lineage: on top


def test_a_lineage_run_survives_kill_and_resumes_identically(lineage_run, tmp_path):
    out = tmp_path / "killed"
    killed_and_resumed(LINEAGE_RUN, out)
    assert comparable(out) == comparable(lineage_run)
    assert records(out) == records(lineage_run)


# --- harvest: a lineage ends as soon as its best or a member of its population meets the bar --

def test_a_harvest_starts_a_new_lineage_at_the_next_step_and_is_kept_in_the_state():
    config = RunConfig(target="crab", restart_mode="lineage", stall_generations=8, harvest=True)
    portfolio = Portfolio(config, CPU)
    assert not portfolio.checked_before("a")
    portfolio.mark_checked("a")
    portfolio.mark_checked("a")
    assert portfolio.checked_before("a") and portfolio.checked == [formula_key("a")]
    assert not portfolio.new_lineage(1)                                 # not stalled, no harvest
    portfolio.harvest("a")
    again = Portfolio(config, CPU)
    again.restore(json.loads(json.dumps(portfolio.to_json())), 1)
    assert again.checked_before("a") and again.stats()["harvests"] == 1
    assert again.new_lineage(1) and again.restarts == 1
    assert not again.new_lineage(2)                                     # once per harvest
    older = Portfolio(config, CPU)          # checkpoints that kept formula texts still resume
    older.restore(dict(portfolio.to_json(), checked=["a"]), 1)
    assert older.checked_before("a") and not older.checked_before("b")
    assert len(json.dumps(older.to_json()["checked"])) < 50            # digests, not texts
    blend = Portfolio(RunConfig(target="crab", stall_generations=8, harvest=True), CPU)
    blend.harvest("a")
    assert not blend.new_lineage(1)                    # no lineages to end: counted, no restart


def test_a_lineage_ends_at_its_lineage_harvests_th_harvest_and_its_stall_clock_restarts():
    config = RunConfig(target="crab", restart_mode="lineage", stall_generations=8, harvest=True,
                       lineage_harvests=2)
    portfolio = Portfolio(config, CPU)
    portfolio.harvest("a", 5)
    assert not portfolio.harvest_due and portfolio.climbed_at == 5    # 8 more generations
    assert not portfolio.new_lineage(12) and portfolio.new_lineage(13)  # ... then stalled
    assert portfolio.lineage_harvests == 0
    portfolio.harvest("b", 20)
    again = Portfolio(config, CPU)
    again.restore(json.loads(json.dumps(portfolio.to_json())), 20)
    assert again.lineage_harvests == 1 and not again.new_lineage(21)
    again.harvest("c", 21)
    assert again.harvest_due and again.new_lineage(22) and again.lineage_harvests == 0


def test_later_polish_rounds_take_turns_between_the_fewest_rounds_and_the_fittest():
    """Rounds after the first alternate: the harvest polished least (then the earliest), then
    the fittest on the fixed views; unpolished harvests (no fitness) only by turn; a cap ends
    a harvest's rounds, and fitness survives a checkpoint (older ones: none)."""
    config = RunConfig(target="crab", restart_mode="lineage", harvest=True)
    portfolio = Portfolio(config, CPU)
    for text, fitness in (("a", 1.0), ("b", 3.0), ("c", None)):
        portfolio.harvest(text, form=text, fitness=fitness)
    turns = []
    for _ in range(6):
        index = portfolio.due_round(0)
        turns.append(index)
        portfolio.polished_round(index, portfolio.harvests[index].fitness)
    assert turns == [0, 1, 2, 1, 0, 1]         # fewest (a), fittest (b), fewest (c), fittest ...
    portfolio.polished_round(0, 5.0, "a2", "a2")          # kept: a's new picture, now fittest
    assert portfolio.harvested[0] == "a2" and portfolio.due_round(0) == 0
    assert [h.rounds for h in portfolio.harvests] == [4, 4, 2]
    assert portfolio.due_round(4) == 2                                 # capped
    again = Portfolio(config, CPU)
    again.restore(json.loads(json.dumps(portfolio.to_json())), 1)
    assert [h.fitness for h in again.harvests] == [5.0, 3.0, None] and again.due_round(0) == 0
    older = {k: v for k, v in portfolio.to_json().items() if k != "harvest_fitness"}
    again.restore(older, 1)
    assert [h.fitness for h in again.harvests] == [None] * 3
    assert again.due_round(0) == 2                                     # by turn only


def test_the_fittest_turns_pass_on_from_a_harvest_whose_rounds_keep_being_lost():
    """A harvest whose last STUCK_ROUNDS rounds were not kept (its constants at their optimum)
    no longer takes the fittest's turns: the next fittest does; one kept round (by the fewest's
    turn) gives them back. The misses survive a checkpoint (older ones: none)."""
    config = RunConfig(target="crab", restart_mode="lineage", harvest=True)
    portfolio = Portfolio(config, CPU)
    for text, fitness in (("a", 1.0), ("b", 3.0)):
        portfolio.harvest(text, form=text, fitness=fitness)
    turns = []
    for turn in range(2 * STUCK_ROUNDS + 2):            # a's rounds are kept, b's lost
        index = portfolio.due_round(0)
        turns.append(index)
        kept = f"a{turn}" if index == 0 else None
        portfolio.polished_round(index, portfolio.harvests[index].fitness, kept, kept)
    assert [h.misses for h in portfolio.harvests] == [0, STUCK_ROUNDS]
    assert turns == [0, 1] * STUCK_ROUNDS + [0, 0]      # b's until it lost STUCK_ROUNDS; then a's
    stuck = Portfolio(config, CPU)
    stuck.restore(json.loads(json.dumps(portfolio.to_json())), 1)
    assert [h.misses for h in stuck.harvests] == [h.misses for h in portfolio.harvests]
    portfolio.polished_round(1, 3.5, "b2", "b2")                    # kept: b climbs again
    assert portfolio.harvests[1].misses == 0
    later = sum(h.rounds - 1 for h in portfolio.harvests)
    assert later % 2 == 1 and portfolio.due_round(0) == 1           # the fittest's turn: b
    older = {k: v for k, v in stuck.to_json().items() if k != "harvest_misses"}
    stuck.restore(older, 1)
    assert [h.misses for h in stuck.harvests] == [0, 0]


def harvest_run(folder, stop_at: int | None = None, lineage_harvests: int = 1):
    """A tiny real lineage run with --harvest, new lineages half bred from the harvests, 3
    generations (stop_at: stopped after it)."""
    from evolve.runfolder.session import drive, start_run

    config = RunConfig(target="crab", population=4, size=48, record_size=0, views=1,
                       tune_steps=2, tune_share=0.25, judge_views=2, seed=7, device="cpu",
                       restart_mode="lineage", harvest=True, harvest_breed=0.5, generations=3,
                       lineage_harvests=lineage_harvests)
    session = start_run(folder, config)
    drive(session, should_stop=lambda: stop_at is not None
          and session.evolution.generation >= stop_at)
    session.run._lock_file.close()
    return folder


def test_a_harvested_lineage_restarts_and_resumes_identically(monkeypatch, tmp_path):
    """Every best meets the bar (lowered to nothing): every generation starts a new lineage,
    records say they met it, and a run stopped after generation 1 and resumed ends as the
    uninterrupted one. At the real bar this tiny run harvests nothing."""
    from evolve.runfolder import judge
    from evolve.runfolder.session import drive, resume_run

    monkeypatch.setattr(judge, "AUDIT_VIEWS", 4)
    real = harvest_run(tmp_path / "real-bar")
    log = [json.loads(line) for line in (real / "log.jsonl").read_text().splitlines()]
    assert {e["lineage"] for e in log} == {0} and log[-1]["harvests"] == 0
    assert not any(r["robust_bar"] for r in records(real) if not r.get("niche_record"))
    monkeypatch.setattr(judge, "BAR_TOP1", 0.0)
    monkeypatch.setattr(judge, "BAR_RANK", 1000)
    out = harvest_run(tmp_path / "harvested")
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [e["lineage"] for e in log] == [0, 1, 2, 3]
    assert [e["harvests"] for e in log] == [1, 2, 3, 4]
    best_path = [r for r in records(out) if not r.get("niche_record")]
    assert all(r["robust_bar"] for r in best_path)
    assert {r["lineage"] for r in best_path} == {0, 1, 2, 3}
    stopped = harvest_run(tmp_path / "stopped", stop_at=1)
    assert comparable(stopped)["generation"] == 1
    session = resume_run(stopped)
    drive(session)
    session.run._lock_file.close()
    assert comparable(stopped) == comparable(out)
    assert records(stopped) == records(out)


def test_a_lineage_goes_on_after_a_harvest_until_it_has_made_lineage_harvests(monkeypatch,
                                                                            tmp_path):
    """--lineage-harvests 2, every picture at the (lowered) bar: a lineage's first harvest does
    not end it, its second does; each harvest is a picture apart from all the others (the
    lineage found a sibling, not the twin); stopped after generation 1 and resumed, the run
    ends as the uninterrupted one."""
    from evolve.runfolder import judge
    from evolve.runfolder.session import drive, resume_run

    monkeypatch.setattr(judge, "AUDIT_VIEWS", 4)
    monkeypatch.setattr(judge, "BAR_TOP1", 0.0)
    monkeypatch.setattr(judge, "BAR_RANK", 1000)
    out = harvest_run(tmp_path / "twice", lineage_harvests=2)
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [e["lineage"] for e in log] == [0, 0, 1, 1]
    assert [e["harvests"] for e in log] == [1, 2, 3, 4]
    state = json.loads((out / "checkpoint.json").read_text())
    harvested = [parse(f) for f in state["portfolio"]["harvested"]]
    images = render_batch(harvested, 64, CPU)
    gaps = (images[None] - images[:, None]).abs().mean(dim=(2, 3, 4))
    apart = json.loads((out / "config.json").read_text())["harvest_apart"]
    assert (gaps + torch.eye(len(harvested)) > apart).all()
    stopped = harvest_run(tmp_path / "stopped", stop_at=1, lineage_harvests=2)
    session = resume_run(stopped)
    drive(session)
    session.run._lock_file.close()
    assert comparable(stopped) == comparable(out)
    assert records(stopped) == records(out)
