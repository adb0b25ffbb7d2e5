"""MAP-Elites explorer: the archive's claiming rule, a real small run, kill -9 and resume."""
import json
import signal
import time

import pytest
import torch

from evolve.search.archive import Archive, Elite
from runs import finished, genart, kill_at_generation

CLASSES = "crab,723,906,946,506,90"          # 5 crab classes + 5 others: 10 cells
SMALL = ["--classes", CLASSES, "--pop", "16", "--size", "64", "--tune-steps", "1",
         "--naturalness", "0", "--seed", "5", "--device", "cpu", "--quiet"]


def test_one_image_that_beats_two_cells_occupies_both():
    archive = Archive([3, 7, 9])
    archive.cells[3] = Elite("x", 0.2, 0.2, 0.0, 0)
    archive.cells[7] = Elite("y", 0.1, 0.1, 0.0, 0)
    archive.cells[9] = Elite("z", 0.9, 0.9, 0.0, 0)
    probs = torch.zeros(2, 10)
    probs[0, [3, 7, 9]] = torch.tensor([0.5, 0.3, 0.2])   # beats cells 3 and 7, not 9
    probs[1, [3, 7, 9]] = torch.tensor([0.4, 0.05, 0.55])  # second best everywhere
    changed = archive.offer(["a", "b"], probs, probs[:, archive.classes],
                            torch.tensor([0.01, 0.02]), generation=4)
    assert sorted(changed) == [3, 7]
    assert archive.cells[3].formula == archive.cells[7].formula == "a"
    assert (archive.cells[3].confidence, archive.cells[7].confidence) == pytest.approx((0.5, 0.3))
    assert archive.cells[9].formula == "z" and archive.cells[3].generation == 4
    # an empty cell is claimed by the best image; a tie does not replace the elite
    archive = Archive([3, 7])
    archive.offer(["a", "b"], probs, probs[:, [3, 7]], torch.zeros(2), 0)
    assert archive.cells[3].formula == "a" and archive.cells[7].formula == "a"
    assert archive.offer(["c"], probs[:1], probs[:1, [3, 7]], torch.zeros(1), 1) == []
    summary = Archive.from_json(archive.to_json()).summary([str(i) for i in range(10)])
    assert summary["filled"] == 2 and summary["at_least"]["0.5"] == 1


def elites(archive_state: dict) -> dict:
    return {int(k): (archive_state["formulas"][v[0]], v[2]) for k, v in
            archive_state["cells"].items()}


def killed_explore(out, generation: int, *args) -> dict:
    """Start `genart explore ARGS --out OUT`, SIGKILL it once a checkpoint of `generation` is
    on disk, and return that checkpoint."""
    return kill_at_generation(genart("explore", *args, "--out", str(out)), out, generation, 90)


def test_small_explore_writes_archive_and_resumes_after_kill(tmp_path):
    out = tmp_path / "explore"
    state = killed_explore(out, 1, *SMALL, "--generations", "4")
    assert state["generation"] < 4, "killed too late"
    before = elites(state["archive"])
    on_disk = json.loads((out / "archive.json").read_text())["cells"]
    assert len(before) == 10 and len(on_disk) == 10     # generation 0's batch fills every cell
    for cell, entry in on_disk.items():     # written after the checkpoint: never ahead of it
        assert entry["confidence"] <= before[int(cell)][1]

    stdout = finished(genart("resume", str(out), "--quiet"))
    assert "cells filled 10/10" in stdout and "median confidence" in stdout
    after = json.loads((out / "archive.json").read_text())
    assert after["generation"] == 4 and len(after["cells"]) == 10
    for cell, (formula, confidence) in before.items():       # no elite lost or worsened
        assert after["cells"][str(cell)]["confidence"] >= confidence
    for cell, (formula, confidence) in elites(json.loads((out / "checkpoint.json").read_text())
                                               ["archive"]).items():
        assert after["cells"][str(cell)]["formula"] == formula
        assert (out / "cells" / f"{cell:04d}.formula").read_text().strip() == formula
        assert (out / "cells" / f"{cell:04d}.png").is_file()
    report = json.loads((out / "report.json").read_text())
    values = sorted(c["confidence"] for c in after["cells"].values())
    assert report["filled"] == 10 and report["cells"] == 10
    assert report["median_confidence"] == pytest.approx((values[4] + values[5]) / 2)
    assert report["at_least"]["0.5"] == sum(v >= 0.5 for v in values)
    assert report["best"][0]["confidence"] == pytest.approx(values[-1])
    page = (out / "index.html").read_text()
    assert page.count("class='card cell'") == 10
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [e["generation"] for e in log] == list(range(5))


@pytest.mark.parametrize("command", [["explore", *SMALL], ["evolve", "crab", *SMALL[2:]]])
def test_a_running_search_refuses_a_second_writer(tmp_path, command):
    out = tmp_path / "run"
    first = genart(*command, "--generations", "10000", "--out", str(out))
    try:
        deadline = time.monotonic() + 90
        while not (out / "checkpoint.json").is_file() and time.monotonic() < deadline:
            time.sleep(0.05)
        second = genart("resume", str(out), "--quiet")
        _, err = second.communicate(timeout=120)
        assert second.returncode == 2 and "being evolved by another process" in err
        assert first.poll() is None                      # the first writer is untouched
    finally:
        first.send_signal(signal.SIGKILL)
        first.communicate()


def test_robust_explore_cells_hold_the_mean_over_views_and_networks(tmp_path):
    """--robust: a cell's confidence is its class probability averaged over the generation's
    views and both networks, each at its native size (not Lite0's whole-image probability)."""
    from evolve.cli import main
    from evolve.search.robust import view_seed
    from genart import parse, render_batch
    from scorers import draw_views, load_model

    from scorers import passes_counted

    out = tmp_path / "robust"
    before = passes_counted()
    assert main(["explore", "--robust", "--views", "2", "--classes", "crab,723", "--pop", "6",
                 "--size", "48", "--naturalness", "0", "--generations", "0", "--seed", "3",
                 "--device", "cpu", "--out", str(out), "--quiet"]) == 0
    counted = {key: n - before.get(key, 0) for key, n in passes_counted().items()}
    config = json.loads((out / "config.json").read_text())
    assert config["fooling"] is False and config["views"] == 2
    archive = json.loads((out / "archive.json").read_text())
    cells = archive["cells"]
    names = ["efficientnet-lite0", "efficientnet-lite1"]
    models = [load_model(name, "cpu") for name in names]
    formulas = sorted({cell["formula"] for cell in cells.values()})
    images = render_batch([parse(f) for f in formulas], 48, "cpu")
    probs = plain_view_probabilities(images, models, draw_views(2, view_seed(3, 0)).matrices)
    with torch.inference_mode():
        whole = models[0].logits(images).softmax(1)
    assert len(cells) == 6
    for key, cell in cells.items():
        row = formulas.index(cell["formula"])
        assert cell["confidence"] == pytest.approx(float(probs[row, int(key)]), rel=1e-3, abs=1e-6)
        assert cell["confidence"] != pytest.approx(float(whole[row, int(key)]), rel=1e-2)
    # every scored image went through 2 views × 2 networks, as counted where the networks ran
    report = json.loads((out / "report.json").read_text())
    assert archive["networks"] == report["networks"] == names
    assert report["passes_per_image"] == 4 and report["backward_passes"] == 0
    assert report["forward_passes"] == 4 * report["evaluations"] == sum(
        counted.get((name, "forward"), 0) for name in names)
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert log[0]["passes"] == report["network_passes"] and log[0]["networks"] == names


def plain_view_probabilities(images, models, matrices) -> torch.Tensor:
    """Every class's probability averaged over views and networks, re-implemented plainly
    (square renders, no source reduction needed at this size): the test's own reference."""
    rows = []
    with torch.inference_mode():
        for model in models:
            size = model.input_size
            for matrix in matrices:
                grid = torch.nn.functional.affine_grid(
                    matrix.expand(len(images), 2, 3), [len(images), 3, size, size],
                    align_corners=False)
                view = torch.nn.functional.grid_sample(images, grid, mode="bilinear",
                                                       padding_mode="reflection",
                                                       align_corners=False)
                rows.append(model.net((view - model.mean) / model.std).softmax(1))
    return torch.stack(rows).mean(0)
