"""`genart polish` of a robust run (issue 20 item 5): a tiny real run's best record tuned through
its own constants under the run's networks and views, the held-out judge before and after."""
import dataclasses
import json

import pytest
import torch

import evolve.runfolder.constant_polish as constant_polish
from evolve.cli import main
from evolve.runfolder.rundir import RunDir
from evolve.search.robust import build_objective
from evolve.search.templates import crab_formula
from genart import constants_of, parse, read_png, render_batch
from scorers import (JUDGE_SEED, EnsembleObjective, draw_views, judge_scores, load_model,
                     resolve_classes)


@pytest.fixture(scope="module")
def robust_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("polish") / "crab"
    assert main(["evolve", "crab", "--models", "efficientnet-lite0", "--judge",
                 "efficientnet-lite2", "--judge-views", "2", "--views", "2", "--view-grey", "0.5",
                 "--view-blur", "0.5", "--pop", "4", "--size", "32", "--record-size", "0",
                 "--tune-steps", "1", "--tune-min-constants", "0", "--generations", "1",
                 "--seed", "5", "--device", "cpu", "--out", str(out), "--quiet"]) == 0
    return out


def test_the_run_trains_on_its_view_chances(robust_run):
    config = RunDir.open(robust_run).read_config()
    assert (config.view_grey, config.view_blur, config.view_jitter) == (0.5, 0.5, 0.0)
    objective, _ = build_objective(config, torch.device("cpu"))
    assert objective.views.chances == (0.5, 0.0, 0.5, 0.0)
    assert objective.redrawn(7).views.chances == (0.5, 0.0, 0.5, 0.0)


def test_polish_tunes_constants_under_the_runs_objective_and_reports_the_judge(
        robust_run, monkeypatch, capsys):
    seen = []
    real = constant_polish.tune_constants

    def spy(genomes, objective, *args, **kwargs):
        seen.append((objective, kwargs))
        return real(genomes, objective, *args, **kwargs)
    monkeypatch.setattr(constant_polish, "tune_constants", spy)
    assert main(["polish", str(robust_run), "--top", "1", "--size", "48", "--tune-steps", "2",
                 "--tune-size", "64", "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    (objective, kwargs), = seen                          # the run's networks, chances, steps
    assert [m.name for m in objective.models] == ["efficientnet-lite0"]
    assert objective.views.count == 2 and objective.views.chances == (0.5, 0.0, 0.5, 0.0)
    assert kwargs["steps"] == 2 and kwargs["size"] == 64
    assert kwargs["lr"] == constant_polish.POLISH_LR
    assert kwargs["view_seed"](0) != kwargs["view_seed"](1)     # views redrawn every step

    polished = sorted(p.name for p in (robust_run / "polished").iterdir())
    stem = polished[0].split(".")[0]
    assert polished == [f"{stem}.formula", f"{stem}.json", f"{stem}.png"]
    scores = json.loads((robust_run / "polished" / f"{stem}.json").read_text())
    before = parse((robust_run / "records" / f"{stem}.formula").read_text().strip())
    after = parse((robust_run / "polished" / f"{stem}.formula").read_text().strip())
    assert scores["mode"] == "constants" and scores["formula"] == str(after)
    assert len(constants_of(after)) == len(constants_of(before))        # the same tree
    assert [type(n) for n in after] == [type(n) for n in before]
    assert scores["kept"] == (scores["fixed_fitness_after"] >= scores["fixed_fitness_before"]
                              and str(after) != str(before))
    assert len(scores["fixed_networks_before"]) == len(scores["fixed_networks_after"]) == 1
    assert scores["kept"] or str(after) == str(before)
    image, text = read_png(robust_run / "polished" / f"{stem}.png")
    assert image.shape == (3, 48, 48) and text["formula"] == str(after)

    lite2 = load_model("efficientnet-lite2", "cpu")          # the judge, recomputed here
    crab = resolve_classes("crab", lite2.class_names)
    for when, genome in (("before", before), ("after", after)):
        with torch.inference_mode():
            rendered = render_batch([genome], lite2.input_size, "cpu")
        expected = judge_scores(rendered, lite2, crab, draw_views(2, JUDGE_SEED)).row(0)
        got = scores["judge"][when]
        assert got["probability"] == pytest.approx(expected["probability"], rel=1e-4), when
        assert got["median_rank"] == expected["median_rank"], when
    assert scores["judge"]["model"] == "efficientnet-lite2"
    line = next(l for l in printed.splitlines() if l.startswith(str(robust_run / "polished")))
    judge = scores["judge"]
    assert (f"judge efficientnet-lite2: p {judge['before']['probability']:.3f} -> "
            f"{judge['after']['probability']:.3f}") in line


def test_the_keep_check_views_are_the_runs_own_never_the_judges(robust_run):
    config = RunDir.open(robust_run).read_config()
    fixed = constant_polish.ConstantPolisher(config, torch.device("cpu")).fixed.views
    judge = draw_views(constant_polish.FIXED_VIEWS, JUDGE_SEED)
    assert fixed.count == constant_polish.FIXED_VIEWS and fixed.chances == (0.5, 0.0, 0.5, 0.0)
    assert not torch.allclose(fixed.matrices, judge.matrices)     # the judge's crops stay unseen
    other = dataclasses.replace(config, seed=config.seed + 1)    # the run's seed draws them
    again = constant_polish.ConstantPolisher(config, torch.device("cpu")).fixed.views
    moved = constant_polish.ConstantPolisher(other, torch.device("cpu")).fixed.views
    assert torch.equal(again.matrices, fixed.matrices)
    assert not torch.equal(moved.matrices, fixed.matrices)


def test_polish_steps_see_the_polish_view_chances_while_the_check_keeps_the_runs(robust_run,
                                                                                 monkeypatch):
    """--polish-thumb / --polish-blur raise the chances of the polish's step views (never below
    the run's own); the keep check's fixed views stay the run's; thumbnail steps still move the
    constants by gradient."""
    seen = []
    real = constant_polish.tune_constants

    def spy(genomes, objective, *args, **kwargs):
        result = real(genomes, objective, *args, **kwargs)
        seen.append((objective, kwargs["view_seed"], result[0][0]))
        return result
    monkeypatch.setattr(constant_polish, "tune_constants", spy)
    run = RunDir.open(robust_run).read_config()
    assert constant_polish.ConstantPolisher(run, torch.device("cpu")).objective.views.chances == \
        (0.5, 0.0, 0.5, 0.0)                                     # by default: the run's views
    config = dataclasses.replace(run, polish_thumb=1.0, polish_blur=0.25)
    polisher = constant_polish.ConstantPolisher(config, torch.device("cpu"), steps=2,
                                                tune_size=64)
    start = parse(crab_formula())
    polisher.polish(start)
    (objective, view_seed, tuned), = seen
    assert objective.views.chances == (0.5, 0.0, 0.5, 1.0)
    for step in range(3):
        views = objective.redrawn(view_seed(step)).views
        assert views.thumb is not None and bool((views.thumb > 0).all())
    assert polisher.fixed.views.chances == (0.5, 0.0, 0.5, 0.0)
    assert polisher.fixed.views.thumb is None
    assert constants_of(tuned) != constants_of(start)


def test_a_polish_reports_each_networks_own_fixed_view_score_and_keeps_on_fitness(robust_run):
    """Each network's score on the fixed views is its own class score there (recomputed here one
    network at a time); a polish is kept on the run's fitness, even when one network's score
    fell (wave 23: also requiring each network to gain kept fewer rounds, none better)."""
    config = dataclasses.replace(RunDir.open(robust_run).read_config(),
                                 models="efficientnet-lite0,efficientnet-lite1")
    polisher = constant_polish.ConstantPolisher(config, torch.device("cpu"), steps=3,
                                                tune_size=64, lr=0.005)
    start = parse(crab_formula())
    outcomes = [polisher.polish(start, draw=draw) for draw in range(6)]
    for outcome in outcomes:
        assert (outcome.genome is not start) == (outcome.fitness_after >= outcome.fitness_before)
    split = [o for o in outcomes if o.fitness_after >= o.fitness_before
             and min(a - b for a, b in zip(o.networks_after, o.networks_before)) < 0]
    assert split and all(o.genome is not start for o in split)     # kept, one network down

    kept = split[0]
    fixed = polisher.fixed
    with torch.inference_mode():
        images = render_batch([start, kept.genome], 64, torch.device("cpu"), **polisher.options)
        alone = [EnsembleObjective([m], fixed.classes, fixed.views, kind=fixed.kind, cap=fixed.cap)
                 for m in fixed.models]
        each = torch.stack([objective(images) for objective in alone], 1).tolist()
    assert each[0] == pytest.approx(kept.networks_before, abs=1e-4)
    assert each[1] == pytest.approx(kept.networks_after, abs=1e-4)


def test_dream_flag_and_fooling_runs_keep_the_pixel_polish(robust_run, tmp_path):
    assert constant_polish.tunes_constants(robust_run)
    fooling = tmp_path / "fooling"
    assert main(["evolve", "crab", "--fooling", "--judge", "none", "--pop", "4", "--size", "32",
                 "--record-size", "0", "--tune-steps", "1", "--generations", "1",
                 "--device", "cpu", "--out", str(fooling), "--quiet"]) == 0
    assert not constant_polish.tunes_constants(fooling)
    with pytest.raises(Exception, match="--dream"):
        constant_polish.polish_constants(fooling, top=1, size=32, device=torch.device("cpu"))


def test_view_chances_are_refused_under_the_fooling_search(tmp_path, capsys):
    out = tmp_path / "fooling"
    assert main(["evolve", "crab", "--fooling", "--view-thumb", "0.5", "--generations", "1",
                 "--device", "cpu", "--out", str(out)]) == 2
    assert "--view-thumb is ignored here" in capsys.readouterr().err and not out.exists()
    assert main(["evolve", "crab", "--view-blur", "1.5", "--out", str(out)]) == 2
    assert "--view-blur" in capsys.readouterr().err and not out.exists()
    assert main(["evolve", "crab", "--fooling", "--polish-thumb", "0.5", "--generations", "1",
                 "--device", "cpu", "--out", str(out)]) == 2
    assert "--polish-thumb is ignored here" in capsys.readouterr().err and not out.exists()
