"""A night's crabs: the robust bar on the real networks (in-run as the audit), any member at it
harvested, a harvest apart from every earlier one, and a new lineage may be bred from the
harvested pictures (stepping stones), on real renders."""
import dataclasses
import difflib
import json
import random
import re
from pathlib import Path

import pytest
import torch

from evolve.search import operators
from evolve.search.loop import make_variation
from evolve.search.parents import first_population, lineage_population
from evolve.search.portfolio import Portfolio
from evolve.search.rng import seed_everything
from evolve.search.settings import RunConfig
from genart import constants_of, parse, render_batch, with_constants
from genart.regularity import mirrored_formula

CPU = torch.device("cpu")
CRAB = parse((Path(__file__).parent / "data" / "edge_crab.formula").read_text())
CONFIG = RunConfig(target="crab", template="crab", start_form="figure", symmetry="mirror",
                   restart_mode="lineage", stall_generations=8, harvest=True, harvest_breed=0.5)


def skeleton(text: str) -> str:
    """A formula's text with every number one letter: its tree, whatever its constants."""
    return re.sub(r"-?\d+(\.\d+)?(e-?\d+)?", "c", text)


def nudged(genome, scale: float):
    """The genome with every constant multiplied by `scale` (a twin when scale is near 1)."""
    return with_constants(genome, [v * scale for v in constants_of(genome)])


def test_a_picture_is_apart_only_from_pictures_it_differs_from_by_pixels():
    """Apart: a mean |Δ| of the 64-px renders above --harvest-apart, whatever that is set to."""
    portfolio = Portfolio(CONFIG, CPU)
    flat_blue = parse("rgb(-0.9, -0.9, 0.9)")
    assert portfolio.apart(CRAB)                                  # nothing harvested yet
    portfolio.harvest(str(mirrored_formula(CRAB)))                # harvests are kept as drawn
    twin, other = nudged(CRAB, 1.002), flat_blue
    images = render_batch([mirrored_formula(g) for g in (CRAB, twin, other)], 64, CPU)
    gaps = [float((images[0] - i).abs().mean()) for i in images[1:]]
    assert gaps[0] <= CONFIG.harvest_apart < gaps[1]              # the rule, computed here
    assert [portfolio.apart(g) for g in (CRAB, twin, other)] == [False, False, True]
    for apart, other_is_new in ((gaps[1] - 0.01, True), (gaps[1] + 0.01, False)):
        strict = Portfolio(dataclasses.replace(CONFIG, harvest_apart=apart), CPU)
        strict.restore(portfolio.to_json(), 0)
        assert strict.apart_all([twin, other]) == [False, other_is_new]
    restored = Portfolio(CONFIG, CPU)
    restored.restore(portfolio.to_json(), 0)
    assert not restored.apart(twin) and restored.apart(other)     # renders rebuilt on resume
    portfolio.harvest(str(mirrored_formula(other)))
    assert portfolio.apart_all([twin, other]) == [False, False]
    assert portfolio.apart_all([twin, other], besides=0) == [True, False]   # its own harvest
    assert portfolio.apart_all([twin, other], besides=1) == [False, True]


def bred(config: RunConfig, harvested: list[str], seed: int = 3):
    variation = make_variation(config)
    toolbox = operators.make_toolbox(variation)
    portfolio = Portfolio(config, CPU)
    for text in harvested:
        portfolio.harvest(text)
    seed_everything(seed)
    plain = first_population(config, toolbox, variation, as_drawn=False)
    seed_everything(seed)
    return plain, lineage_population(config, toolbox, variation, harvested, portfolio.apart), \
        portfolio


def test_a_new_lineage_is_half_bred_from_the_harvests_each_child_apart_from_them():
    harvested = [str(mirrored_formula(CRAB))]
    plain, population, portfolio = bred(CONFIG, harvested)
    k = round(CONFIG.harvest_breed * CONFIG.population)
    assert [str(g) for g in population[k:]] == [str(g) for g in plain[k:]]   # template copies kept
    children = population[:k]
    assert all(str(c) not in harvested and portfolio.apart(c) for c in children)
    kin = [difflib.SequenceMatcher(None, skeleton(harvested[0]), skeleton(str(g)),
                                   autojunk=False).ratio() for g in population]
    assert min(kin[:k]) > 0.8 and max(kin[k:-2]) < 0.2     # the crab's trees; start forms not
    assert all(not c.parts and not c.fitness.valid for c in children)
    for config, parents in ((CONFIG, []), (RunConfig(**{**CONFIG.to_json(),
                                                         "harvest_breed": 0.0}), harvested)):
        plain, population, _ = bred(config, parents)           # nothing to breed, or no share
        assert [str(g) for g in population] == [str(g) for g in plain]


def test_breeding_draws_only_from_the_seeded_random_state():
    harvested = [str(mirrored_formula(CRAB)), str(mirrored_formula(nudged(CRAB, 0.5)))]
    first = [str(g) for g in bred(CONFIG, harvested, seed=11)[1]]
    random.seed(0)
    assert [str(g) for g in bred(CONFIG, harvested, seed=11)[1]] == first


def test_selection_shuns_twins_of_a_harvest_on_the_real_networks():
    """Scored by the real ensemble under the same views, a twin of a harvested crab loses
    TWIN_COST of fitness and a picture apart from it loses nothing."""
    from evolve.runfolder.session import build_evolution
    from evolve.search.portfolio import TWIN_COST

    config = RunConfig(**{**CONFIG.to_json(), "population": 4, "size": 48, "views": 2,
                          "device": "cpu"})
    evolution, _ = build_evolution(config)
    evolution.evaluator.use_views(5)
    flat_blue = parse("rgb(-0.9, -0.9, 0.9)")
    pair = lambda: [nudged(CRAB, 1.002), parse(str(flat_blue))]        # noqa: E731
    before = pair()
    evolution._tell(before, known={})
    evolution.portfolio.harvest(str(mirrored_formula(CRAB)))
    after = pair()
    evolution._tell(after, known={})
    drop = [b.parts["fitness"] - a.parts["fitness"] for b, a in zip(before, after)]
    assert drop[0] == pytest.approx(TWIN_COST, abs=1e-3) and drop[1] == pytest.approx(0, abs=1e-3)
    assert [g.fitness.values[0] for g in after] == [g.parts["fitness"] for g in after]
    assert evolution.best.parts["fitness"] == max(g.parts["fitness"] for g in before)


def test_the_robust_bar_holds_for_the_showcase_crab_and_not_for_a_flat_colour():
    """On the real networks: README's robust crab meets the bar on the audit's 64 views (as
    `genart audit` found: Lite0 98 %, Lite2 rank 1); a flat red field does not."""
    from evolve.runfolder.judge import make_judge, robust_bar
    from genart import read_formula

    config = RunConfig(target="crab")
    judge = make_judge(config, CPU)
    shown = Path(__file__).parents[1] / "runs" / "showcase" / "robust_crab.png"
    crab, flat_red = parse(read_formula(shown)), parse("rgb(0.9, -0.9, -0.9)")
    assert [robust_bar(judge, config, g, CPU) for g in (crab, flat_red)] == [True, False]
    assert robust_bar(None, config, crab, CPU) is None                  # no judge: not checked


def test_the_in_run_bar_is_the_audits_on_a_crab_at_its_edge():
    """A crab a run harvested when its bar rendered at Lite0's own 224 px (crab top-1 on ≥ 90 %
    of the 64 views there) that `genart audit`, rendering once at 260, fails: the bar now
    renders as the audit does, and agrees with it."""
    from evolve.runfolder.audit import audit_rows
    from evolve.runfolder.judge import judged, make_judge, meets_bar, robust_bar
    from scorers import AUDIT_VIEWS, JUDGE_SEED, Naturalness, draw_views, load_model

    config = RunConfig(target="crab")
    judge = make_judge(config, CPU)
    edge = CRAB                                        # tests/data/edge_crab.formula
    lite0, views = load_model("efficientnet-lite0", CPU), draw_views(AUDIT_VIEWS, JUDGE_SEED)
    assert judged(edge, lite0, judge.classes, views)["top1_rate"] >= 0.9        # at 224 px
    item = {"key": "edge", "image": "", "formula": str(edge), "classes": judge.classes,
            "class_name": "crab"}
    row = audit_rows([item], [lite0, judge.model], views, Naturalness(), config.size)[0]
    audited = meets_bar(*(row["models"][m.name] for m in (lite0, judge.model)))
    assert audited is False and robust_bar(judge, config, edge, CPU) is audited


def test_a_member_at_the_bar_is_harvested_and_recorded_when_the_best_and_leader_are_not(
        tmp_path):
    """The best ever is a lucky draw (a flat red field scored high) and so is this generation's
    leader (flat blue); a lower member, README's robust crab, meets the real bar on the real
    networks: it is harvested, written as a record that says so, the best's record mark stays,
    and none of the three is held against the bar a second time; its twin is not harvested."""
    from evolve.runfolder.session import harvest_at_bar, start_run
    from genart import read_formula

    config = RunConfig(target="crab", population=4, size=48, record_size=0, views=1,
                       tune_steps=2, judge_views=4, seed=7, device="cpu",
                       restart_mode="lineage", harvest=True, generations=1)
    session = start_run(tmp_path / "run", config)
    evolution = session.evolution
    shown = Path(__file__).parents[1] / "runs" / "showcase" / "robust_crab.png"
    crab, flat_red = parse(read_formula(shown)), parse("rgb(0.9, -0.9, -0.9)")
    flat_blue = parse("rgb(-0.9, -0.9, 0.9)")
    crab.parts = dict(evolution.population[0].parts, fitness=50.0)
    flat_red.parts, flat_blue.parts = dict(crab.parts, fitness=90.0), dict(crab.parts, fitness=60.0)
    evolution.population[:2], evolution.best = [crab, flat_blue], flat_red
    before, marks = session.records, (session.last_record, session.last_formula)
    harvest_at_bar(session)
    assert (session.last_record, session.last_formula) == marks   # the best's record mark
    assert evolution.portfolio.harvested == [str(crab)]
    assert session.records == before + 1
    meta = json.loads((tmp_path / "run" / "records" / f"{before:04d}.json").read_text())
    assert meta["robust_bar"] is True
    assert (tmp_path / "run" / "records" / f"{before:04d}.formula").read_text().strip() == str(crab)
    assert all(evolution.portfolio.checked_before(str(g)) for g in (crab, flat_red, flat_blue))
    assert evolution.portfolio.new_lineage(1)
    twin = with_constants(crab, [v * 1.002 for v in constants_of(crab)])   # at the bar as well
    twin.parts = dict(crab.parts)
    evolution.population[:1] = [twin]
    harvest_at_bar(session)
    assert evolution.portfolio.harvested == [str(crab)]       # a twin of a harvest is no new crab
    session.run._lock_file.close()


def test_lineage_k_starts_from_the_templates_form_k_mod_template_forms():
    from evolve.search.templates import FORMS, crab_formula
    config = RunConfig(**{**CONFIG.to_json(), "harvest_breed": 0.0, "template_forms": 3})
    variation = make_variation(config)
    toolbox = operators.make_toolbox(variation)
    forms = render_batch([parse(crab_formula(f)) for f in FORMS[:3]], 64, CPU)

    def nearest_forms(config: RunConfig, lineage: int) -> list[int]:
        """The form each of the lineage's two template copies (its last slots) renders nearest."""
        seed_everything(1)
        population = lineage_population(config, toolbox, variation, [], lambda g: True, lineage)
        copies = render_batch(population[-2:], 64, CPU)
        return (copies[:, None] - forms[None]).abs().mean(dim=(2, 3, 4)).argmin(dim=1).tolist()

    for lineage in range(5):
        assert nearest_forms(config, lineage) == [lineage % 3] * 2
    one = RunConfig(**{**config.to_json(), "template_forms": 1})
    assert nearest_forms(one, 2) == [0, 0]                        # one form: the shore crab
    drawn = RunConfig(**{**config.to_json(), "template_forms": 0})
    assert nearest_forms(drawn, 0) == [0, 0]                      # lineage 0: the shore crab
    seed_everything(1)                                            # later ones: a drawn form
    copies = lineage_population(drawn, toolbox, variation, [], lambda g: True, 2)[-2:]
    assert (render_batch(copies, 64, CPU)[:, None] - forms[None]).abs().mean(
        dim=(2, 3, 4)).min() > 0.07         # a jittered form's copies lie 0.03–0.06 off
    assert [str(g) for g in copies] != [str(g) for g in lineage_population(
        drawn, toolbox, variation, [], lambda g: True, 3)[-2:]]


def polishing_session(tmp_path, steps: int):
    """A one-member crab run whose population holds README's robust crab (at the bar) and whose
    harvests are polished through `steps` Adam steps."""
    from evolve.runfolder.session import start_run
    from genart import read_formula

    config = RunConfig(target="crab", population=4, size=64, record_size=0, views=1,
                       tune_steps=2, judge_views=4, seed=7, device="cpu",
                       restart_mode="lineage", harvest=True, generations=1,
                       harvest_polish=steps)
    session = start_run(tmp_path / "run", config)
    shown = Path(__file__).parents[1] / "runs" / "showcase" / "robust_crab.png"
    crab = parse(read_formula(shown))
    crab.parts = dict(session.evolution.population[0].parts, fitness=50.0)
    session.evolution.population[:1], session.evolution.best = [crab], crab
    return session, crab


def harvested_for_rounds(tmp_path, rounds: int):
    """polishing_session's crab harvested unpolished, then the run set to polish later rounds
    (6 steps each, `rounds` in all): (session, crab, portfolio)."""
    from evolve.runfolder.session import harvest_at_bar

    session, crab = polishing_session(tmp_path, steps=0)
    assert harvest_at_bar(session)
    session.config = session.evolution.config = RunConfig(
        **{**session.config.to_json(), "harvest_polish": 6, "harvest_rounds": rounds})
    return session, crab, session.evolution.portfolio


def test_a_harvest_is_polished_through_its_constants_and_recorded_at_the_bar(tmp_path):
    """--harvest-polish: the harvest recorded is the crab with tuned constants (the same tree),
    scored no lower by the run's networks on fixed views, and it meets the real bar itself."""
    from evolve.runfolder.judge import robust_bar
    from evolve.runfolder.session import harvest_at_bar

    session, crab = polishing_session(tmp_path, steps=6)
    before = session.records
    harvest_at_bar(session)
    (harvested,) = session.evolution.portfolio.harvested
    assert harvested != str(crab) and skeleton(harvested) == skeleton(str(crab))
    meta = json.loads((tmp_path / "run" / "records" / f"{before:04d}.json").read_text())
    polish = meta["polish"]
    assert meta["robust_bar"] is True and polish["steps"] == 6
    assert polish["kept"] is True and polish["at_bar"] is True
    assert polish["fixed_fitness_after"] >= polish["fixed_fitness_before"]
    written = (tmp_path / "run" / "records" / f"{before:04d}.formula").read_text().strip()
    assert written == harvested
    assert robust_bar(session.judge, session.config, parse(harvested), CPU)
    assert "polish" not in crab.parts                    # the unpolished best says nothing of it
    session.run._lock_file.close()


def test_a_stop_during_a_harvests_polish_abandons_the_generation_with_nothing_written(tmp_path):
    """The polish looks at the stop request before every Adam step, as a generation's tuning
    does: the generation is abandoned, no record or harvest written."""
    from evolve.runfolder.session import harvest_at_bar
    from evolve.search.stopping import GenerationAbandoned

    session, _ = polishing_session(tmp_path, steps=40)
    records = sorted((tmp_path / "run" / "records").glob("*.json"))
    session.evolution.evaluator.should_stop = lambda: True          # Ctrl-C, or time is up
    with pytest.raises(GenerationAbandoned):              # drive() puts the search back
        harvest_at_bar(session)
    assert sorted((tmp_path / "run" / "records").glob("*.json")) == records
    assert session.records == len(records) and not session.evolution.portfolio.harvested
    session.run._lock_file.close()


def test_a_harvest_is_polished_again_in_later_rounds_recorded_anew_and_restored(tmp_path):
    """--harvest-rounds: on a round's generation the harvest (here harvested unpolished) is
    polished under views of its own; kept at the bar, it is recorded anew (its polish says
    harvest 0, round 2), the harvest's picture is the new one, the rounds survive a
    checkpoint, and a harvest that has had its rounds is left alone."""
    from evolve.runfolder.harvest import ROUND_EVERY, polish_round
    from evolve.runfolder.judge import robust_bar

    session, crab, portfolio = harvested_for_rounds(tmp_path, rounds=2)
    assert [(h.formula, h.form, h.rounds) for h in portfolio.harvests] == \
        [(str(crab), str(crab), 1)]                     # mirror off: drawn as held
    session.evolution.generation = ROUND_EVERY + 1                 # not a round's generation
    records = session.records
    assert not polish_round(session) and session.records == records
    session.evolution.generation = ROUND_EVERY
    assert polish_round(session)
    assert [h.rounds for h in portfolio.harvests] == [2] and session.records == records + 1
    second = portfolio.harvested[0]
    assert second != str(crab) and skeleton(second) == skeleton(str(crab))
    assert [h.form for h in portfolio.harvests] == [second]
    meta = json.loads((tmp_path / "run" / "records" / f"{records:04d}.json").read_text())
    assert (meta["polish"]["harvest"], meta["polish"]["round"]) == (0, 2)
    assert meta["polish"]["kept"] and meta["polish"]["at_bar"] and meta["robust_bar"] is True
    assert meta["polish"]["fixed_fitness_after"] >= meta["polish"]["fixed_fitness_before"]
    assert (tmp_path / "run" / "records" / f"{records:04d}.formula").read_text().strip() == second
    assert robust_bar(session.judge, session.config, parse(second), CPU)
    restored = Portfolio(session.config, CPU)
    restored.restore(portfolio.to_json(), ROUND_EVERY)
    assert [(h.formula, h.form, h.rounds) for h in restored.harvests] == [(second, second, 2)]
    assert restored.due_round(2) is None and restored.due_round(3) == 0
    assert restored.due_round(0) == 0                               # 0: rounds without end
    assert not polish_round(session) and session.records == records + 1   # rounds spent
    session.run._lock_file.close()


def test_a_polish_round_that_makes_a_harvest_a_twin_of_another_is_not_kept(tmp_path):
    """Polish must not merge two crabs into one: harvest 0's round, kept at the bar when it is
    alone (the test above), is not kept while harvest 1 holds the same picture — no record, its
    picture unchanged, the round counted as missed."""
    from evolve.runfolder.harvest import ROUND_EVERY, polish_round

    session, crab, portfolio = harvested_for_rounds(tmp_path, rounds=2)
    portfolio.harvest(str(crab), form=str(crab))                   # a twin, harvested as one
    session.evolution.generation, records = ROUND_EVERY, session.records
    assert not polish_round(session) and session.records == records
    assert [(h.formula, h.rounds, h.misses) for h in portfolio.harvests] == \
        [(str(crab), 2, 1), (str(crab), 1, 0)]
    session.run._lock_file.close()


def test_rounds_come_every_generation_once_eight_harvests_are_in_hand(tmp_path):
    """A night's later hours go to its crabs: with few harvests a round is due every third
    generation, with 8 in hand every generation, so generation 7 polishes harvest 0 again."""
    from evolve.runfolder.harvest import polish_round, round_every

    assert [round_every(n) for n in (0, 3, 4, 7, 8, 20)] == [3, 3, 2, 2, 1, 1]
    session, crab, portfolio = harvested_for_rounds(tmp_path, rounds=0)
    session.evolution.generation = 7
    assert not polish_round(session) and [h.rounds for h in portfolio.harvests] == [1]
    for _ in range(7):
        portfolio.harvest(str(crab), form=str(crab))             # twins: each round is lost
    polish_round(session)
    assert [h.rounds for h in portfolio.harvests] == [2] + [1] * 7
    session.run._lock_file.close()


def test_after_a_harvest_the_lineage_looks_for_siblings_sibling_generations_without_a_gain():
    """--sibling-generations shortens the stall clock once a lineage has harvested, and only
    then; the count of the lineage's harvests that decides it survives a checkpoint."""
    config = RunConfig(target="crab", restart_mode="lineage", stall_generations=8, harvest=True,
                       lineage_harvests=3, sibling_generations=4)
    portfolio = Portfolio(config, CPU)
    assert not portfolio.new_lineage(7) and portfolio.new_lineage(8)   # no harvest yet: 8
    portfolio.harvest("a", 10)
    again = Portfolio(config, CPU)
    again.restore(json.loads(json.dumps(portfolio.to_json())), 10)
    assert not again.new_lineage(13) and again.new_lineage(14)        # harvested: 4
    assert again.lineage_harvests == 0 and not again.new_lineage(17)  # new lineage: 8 again
    default = Portfolio(RunConfig(target="crab", restart_mode="lineage", stall_generations=8,
                                  harvest=True, lineage_harvests=3), CPU)
    default.harvest("a", 10)
    assert not default.new_lineage(17) and default.new_lineage(18)    # 0: --stall-generations
    alone = Portfolio(RunConfig(target="crab", restart_mode="lineage", harvest=True,
                                lineage_harvests=3, sibling_generations=4), CPU)
    assert not alone.new_lineage(50)                                  # stall clock off ...
    alone.harvest("a", 10)
    assert not alone.new_lineage(13) and alone.new_lineage(14)        # ... siblings still end
