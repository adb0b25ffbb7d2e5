"""Gradient emitter (each cell climbs its own class) and CMA-MAE archive thresholds (issue 13)."""
import json
import random

import pytest
import torch

from scorers import Naturalness, draw_views

from evolve.errors import RunError
from evolve.search import operators
from evolve.search.emitter import CellViewsObjective, choose_cells, due, passes
from evolve.search.archive import Archive, Elite
from evolve.search.explore import ExploreConfig
from evolve.search.loop import Evaluator
from evolve.search.thresholds import anneal

from test_evolve_explore import finished, genart, killed_explore  # the CLI helpers

CELLS = [118, 723, 906, 946]                         # Dungeness crab, pinwheel, Windsor tie, …


def sine_genomes(n: int, seed: int):
    random.seed(seed)
    return operators.initial_population(n, operators.Start(share=1.0, terms=12))


def test_one_emitter_step_raises_each_chosen_cells_own_class(lite0):
    evaluator = Evaluator(None, Naturalness(weight=0.1, lam=0.0, tau=0.03), size=32,
                          device=torch.device("cpu"), model=lite0)
    genomes = sine_genomes(len(CELLS), seed=1)
    rows = torch.arange(len(CELLS))
    before, _ = evaluator.probabilities(genomes)                          # (B, 1000)
    trajectory = evaluator.climb(genomes, CELLS, steps=3, lr=0.05, views=2, kind="log", seed=7)
    assert len(trajectory) == 3 * len(CELLS)            # every step's constants, step-major
    climbed = trajectory[-len(CELLS):]                  # after the last step
    assert [str(g) != str(h) for g, h in zip(genomes, climbed)] == [True] * len(CELLS)
    after, _ = evaluator.probabilities(climbed)
    # every row rose on its own cell's class (whole image, not only the views it climbed on)
    assert (after[rows, CELLS] > before[rows, CELLS]).all(), (before[rows, CELLS],
                                                                after[rows, CELLS])
    # and on fixed views it never saw
    held = CellViewsObjective(lite0, CELLS, draw_views(4, 12345), "log")
    with torch.no_grad():
        assert (held(evaluator.render(climbed)) > held(evaluator.render(genomes))).all()
    assert passes(len(CELLS), steps=3, views=2) == (4 * 2 * 3, 4 * 2 * 3)


def test_thresholds_only_rise_and_admit_near_elites():
    torch.manual_seed(0)
    archive = Archive([3, 7, 9], alpha=0.3)
    history = []
    for generation in range(30):
        probs = torch.rand(4, 10) ** 3
        archive.offer([f"f{generation}_{i}" for i in range(4)], probs, probs[:, [3, 7, 9]],
                      torch.zeros(4), generation)
        history.append(dict(archive.thresholds))
        for c in archive.classes:      # the threshold never passes the elitist best
            assert archive.thresholds[c] <= archive.cells[c].fitness + 1e-9
    for old, new in zip(history, history[1:]):
        assert all(new[c] >= old[c] for c in old)
    assert any(history[-1][c] > history[0][c] for c in archive.classes)
    # the frontier admits an occupant below the elite (annealing); the elitist cells stay best
    assert any(archive.frontier[c].fitness < archive.cells[c].fitness for c in archive.classes)
    assert archive.parent(3) is archive.frontier[3]
    again = Archive.from_json(json.loads(json.dumps(archive.to_json())))
    assert again.alpha == 0.3 and again.thresholds == archive.thresholds
    assert {c: e.formula for c, e in again.frontier.items()} == \
        {c: e.formula for c, e in archive.frontier.items()}
    # an archive saved before thresholds loads as the plain elitist archive
    plain = Archive([3])
    plain.cells[3] = Elite("x", 0.5, 0.5, 0.0, 1)
    old = plain.to_json()
    assert "thresholds" not in old
    loaded = Archive.from_json(old)
    assert loaded.alpha is None and loaded.thresholds == {} and loaded.parent(3).formula == "x"


def test_anneal_is_cma_mae_update():
    t = torch.tensor([float("-inf"), 0.5, 0.5])
    admitted, new = anneal(t, torch.tensor([0.1, 0.9, 0.4]), alpha=0.25)
    assert admitted.tolist() == [True, True, False]
    assert new.tolist() == pytest.approx([0.1, 0.6, 0.5])


def test_choose_cells_draws_distinct_tunable_cells():
    cells = {c: Elite(f"f{c}" if c % 2 else "x", 0.0, c / 10, 0.0, 0) for c in range(10)}
    chosen = choose_cells(cells, 3, generation=100, tunable=lambda f: f != "x",
                          rng=random.Random(0))
    assert len(chosen) == len(set(chosen)) == 3 and all(c % 2 for c in chosen)
    assert len(choose_cells(cells, 50, 100, lambda f: f != "x")) == 5


def test_the_emitter_runs_while_its_share_of_passes_is_at_most_the_setting():
    assert due(0, 32, 0.5) and due(160, 320, 0.5) and not due(161, 320, 0.5)
    assert not due(0, 32, 0.0) and due(10_000, 10_000, 1.0)


def test_emitter_settings_are_checked():
    with pytest.raises(RunError, match="--threshold-alpha"):
        ExploreConfig(threshold_alpha=1.5)
    with pytest.raises(RunError, match="--emit-share"):
        ExploreConfig(emit_share=-0.1)
    with pytest.raises(RunError, match="--emit-cells"):
        ExploreConfig(emit_cells=0)
    # a config saved before the emitter resumes without it
    old = {k: v for k, v in ExploreConfig().to_json().items() if not k.startswith("emit")}
    assert ExploreConfig.from_json(old).emit_share == 0.0


SMALL = ["--classes", "crab,723,906", "--pop", "8", "--size", "32", "--naturalness", "0",
         "--seed", "3", "--device", "cpu", "--quiet", "--emit-share", "0.5", "--emit-cells", "3",
         "--emit-steps", "2", "--emit-views", "2", "--threshold-alpha", "0.5"]


def test_killed_and_resumed_explore_keeps_every_elite_and_its_thresholds(tmp_path):
    out = tmp_path / "explore"
    checkpoint = out / "checkpoint.json"
    state = killed_explore(out, 2, *SMALL, "--generations", "5")
    assert state["generation"] < 5, "killed too late"
    before = state["archive"]
    assert before["alpha"] == 0.5 and len(before["thresholds"]) == 7
    assert state["emitted"] > 0 and state["backward_passes"] > 0

    finished(genart("resume", str(out), "--quiet"))
    state = json.loads(checkpoint.read_text())
    after = state["archive"]
    assert state["generation"] == 5
    for cell, row in before["cells"].items():         # no elite lost or worsened
        assert after["cells"][cell][1] >= row[1]
    for cell, threshold in before["thresholds"].items():
        assert after["thresholds"][cell] >= threshold
    on_disk = json.loads((out / "archive.json").read_text())
    assert on_disk["threshold_alpha"] == 0.5
    assert {c: e["threshold"] for c, e in on_disk["cells"].items()} == after["thresholds"]
    report = json.loads((out / "report.json").read_text())
    assert report["qd_score"] == pytest.approx(sum(e["confidence"]
                                                   for e in on_disk["cells"].values()))
    assert report["forward_passes"] > report["evaluations"] and report["backward_passes"] > 0
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [e["generation"] for e in log] == list(range(6))
    assert all("qd_score" in e and "at_0.9" in e for e in log)
    assert "id='figures'" in (out / "index.html").read_text()


def test_the_emitter_on_one_ray_worker_ends_with_the_local_checkpoint(tmp_path):
    ray = pytest.importorskip("ray")
    from evolve.cli import main
    from evolve.runfolder.rundir import WALL_CLOCK_FIELDS

    def state(run):
        data = json.loads((run / "checkpoint.json").read_text())
        for name in WALL_CLOCK_FIELDS:
            data.pop(name)
        return data
    command = ["explore", *SMALL, "--generations", "2"]
    assert main([*command, "--out", str(tmp_path / "local")]) == 0
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    try:
        assert main([*command, "--backend", "ray", "--workers", "1",
                     "--out", str(tmp_path / "ray")]) == 0
    finally:
        ray.shutdown()
    local = state(tmp_path / "local")
    assert local["emitted"] > 0 and state(tmp_path / "ray") == local
