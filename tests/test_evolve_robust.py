"""The robust search (issue 10): views per generation, ensemble, held-out judge, fooling mode."""
import dataclasses
import json

import pytest
import torch

from evolve.cli import main
from evolve.search.loop import Evaluator, Evolution, make_naturalness
from evolve.search.operators import initial_population
from evolve.search.parents import template_slots
from evolve.search.robust import build_objective, view_seed
from evolve.search.settings import RunConfig
from evolve.search.templates import crab_formula
from genart import constants_of, parse
from scorers import EnsembleObjective

TINY = ["crab", "--pop", "4", "--size", "32", "--record-size", "0", "--tune-steps", "1",
        "--tune-share", "0.25", "--views", "2", "--judge-views", "2", "--seed", "5",
        "--device", "cpu", "--quiet", "--generations", "2"]


def run(tmp_path, name, *extra) -> object:
    out = tmp_path / name
    tiny = TINY if "--fooling" not in extra else [   # the fooling search has no views
        a for i, a in enumerate(TINY) if "--views" not in TINY[max(i - 1, 0):i + 1]]
    assert main(["evolve", *tiny, *extra, "--out", str(out)]) == 0
    return out


def lines(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def robust_run(tmp_path_factory):
    return run(tmp_path_factory.mktemp("robust"), "judged")


def test_judge_never_influences_selection(robust_run, tmp_path):
    other = run(tmp_path, "other-judge", "--judge", "efficientnet-lite1")
    unjudged = run(tmp_path, "unjudged", "--judge", "none")
    states = [json.loads((p / "checkpoint.json").read_text()) for p in (robust_run, other,
                                                                        unjudged)]
    for state in states[1:]:
        assert state["population"] == states[0]["population"]        # formulas and scores
        assert state["hall_of_fame"] == states[0]["hall_of_fame"]
        assert state["rng"] == states[0]["rng"]
    judged = [e["judge_score"] for e in lines(robust_run / "log.jsonl")]
    by_lite1 = [e["judge_score"] for e in lines(other / "log.jsonl")]
    assert judged != by_lite1                                           # it did judge, apart
    assert "judge_score" not in lines(unjudged / "log.jsonl")[0]


def test_a_robust_run_writes_the_judges_numbers_everywhere(robust_run):
    config = json.loads((robust_run / "config.json").read_text())
    assert not config["fooling"] and config["views"] == 2
    assert config["models"] == "efficientnet-lite0,efficientnet-lite1"
    log = lines(robust_run / "log.jsonl")
    assert [e["generation"] for e in log] == [0, 1, 2]
    for entry in log:
        assert 0 <= entry["judge_score"] <= 1 and 0 <= entry["judge_top1"] <= 1
        assert entry["judge_rank"] >= 1 and 0 <= entry["target_prob"] <= 1
    records = sorted((robust_run / "records").glob("[0-9][0-9][0-9][0-9].json"))
    assert records
    for path in records:
        meta = json.loads(path.read_text())
        assert meta["mode"] == "robust" and meta["judge"]["model"] == "efficientnet-lite2"
        assert meta["judge"]["views"] == 2 and meta["judge"]["median_rank"] >= 1
        assert set(meta["training_views"]) == {"efficientnet-lite0", "efficientnet-lite1"}
        assert isinstance(meta["spectral_slope"], float)
    page = (robust_run / "index.html").read_text()
    assert page.count("card-judge") == len(records)
    assert (robust_run / "fitness.png").stat().st_size > 0


def test_fooling_mode_is_the_single_network_view_free_search(tmp_path):
    out = run(tmp_path, "fooling", "--fooling", "--judge", "none")
    config = json.loads((out / "config.json").read_text())
    assert config["fooling"]
    objective, model = build_objective(RunConfig.from_json(config), torch.device("cpu"))
    assert not isinstance(objective, EnsembleObjective) and model.name == "efficientnet-lite0"
    log = lines(out / "log.jsonl")
    assert all(0 <= e["best_objective"] <= 1 for e in log)             # a probability again
    assert all(e["target_prob"] == pytest.approx(e["best_objective"], abs=1e-6) for e in log)


def test_views_are_redrawn_per_generation_from_the_run_seed():
    seeds = {view_seed(3, g) for g in range(50)} | {view_seed(3, 1, s) for s in range(50)}
    assert len(seeds) == 100 and view_seed(3, 7) == view_seed(3, 7) != view_seed(4, 7)
    config = RunConfig(target="crab", views=3, device="cpu", size=16)
    objective, _ = build_objective(config, torch.device("cpu"))
    evaluator = Evaluator(objective, make_naturalness(config), size=16, device=torch.device("cpu"))
    evaluator.use_views(view_seed(3, 1))
    first = evaluator.objective.views.matrices
    evaluator.use_views(view_seed(3, 2))
    assert evaluator.redraws and not torch.equal(first, evaluator.objective.views.matrices)
    evaluator.use_views(view_seed(3, 1))
    assert torch.equal(first, evaluator.objective.views.matrices)


def test_tuning_goes_to_the_best_genome_that_has_constants_to_tune():
    config = RunConfig(target="crab", fooling=True, population=4, tune_share=0.25,
                       tune_steps=1, device="cpu", size=16, judge="none", tune_min_constants=12)
    objective, _ = build_objective(config, torch.device("cpu"))
    evolution = Evolution(config, Evaluator(objective, make_naturalness(config), size=16,
                                            device=torch.device("cpu")))
    flat = parse("colour(0.5, 0.5, 0.5)")
    rich = parse("rgb(" + ", ".join(f"add(mul({a}, sin(add(mul({b}, x), {d}))), mul({c}, y))"
                                    for a, b, c, d in ((1.0, 2.0, 3.0, 0.1), (0.5, 1.5, 2.5, 0.2),
                                                       (0.2, 0.4, 0.6, 0.3))) + ")")
    flat.parts, rich.parts = {"fitness": 0.5}, {"fitness": 0.1}         # the flat one leads
    tuned = evolution._tune([flat, rich])
    assert len(tuned) == 1 and len(constants_of(tuned[0])) == len(constants_of(rich)) >= 12
    legacy = Evolution(RunConfig.from_json({k: v for k, v in config.to_json().items()
                                            if k not in ("fooling", "tune_min_constants")}),
                       evolution.evaluator)
    assert legacy.config.fooling and legacy.config.tune_min_constants == 0   # as it ran
    assert str(legacy._tune([flat, rich])[0]) == str(flat)


def test_the_first_tuning_goes_to_the_template_even_when_it_scores_last():
    config = RunConfig(target="crab", population=8, template="crab", template_share=0.25,
                       start_form="figure", tune_share=0.25, tune_steps=1, device="cpu", size=16,
                       views=2, judge="none")
    objective, _ = build_objective(config, torch.device("cpu"))
    evolution = Evolution(config, Evaluator(objective, make_naturalness(config), size=16,
                                            device=torch.device("cpu")))
    evolution.start()
    copies = [str(g) for g in evolution.population[-2:]]
    assert copies[0] == str(parse(crab_formula()))
    for rank, genome in enumerate(evolution.population):        # the copies score lowest
        genome.parts = {**genome.parts, "fitness": float(rank - 10 * (str(genome) in copies))}
    order = [str(g) for g in evolution._tuning_order()]
    assert order[:2] == copies[::-1]                             # the better copy first
    assert order[2:] == [str(g) for g in sorted(evolution.population[:-2],
                                                key=lambda g: -g.parts["fitness"])]
    evolution.generation = 1                                     # later: leaders only
    assert str(evolution._tuning_order()[0]) == str(evolution.population[-3])
    none = dataclasses.replace(config, template="none")
    assert template_slots(none) == 0 and template_slots(config) == 2


def test_a_config_from_before_start_forms_resumes_with_sine_sums():
    config = RunConfig(target="crab").to_json()
    assert config["start_form"] == "cppn"                       # today's default
    legacy = RunConfig.from_json({k: v for k, v in config.items() if k != "start_form"})
    assert legacy.start_form == "sines"                         # as it ran
    assert all(str(g).startswith("rgb(") for g in
               initial_population(3, dataclasses.replace(legacy.start(), share=1.0)))
