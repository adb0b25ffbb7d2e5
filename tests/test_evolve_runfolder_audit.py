"""`genart audit` on a real small evolve run: fixed seeded views on every network at its native
size, the natural-photo control, audit.json against the scorers' own numbers, the gallery."""
import json
import math
import statistics

import pytest
import torch

import evolve.runfolder.audit as audit
from evolve.cli import main
from genart import parse, render_batch
from scorers import JUDGE_SEED, draw_views, resolve_classes

ROW = {"key", "image", "class_name", "classes", "confidence", "residual", "slope", "models",
       "figure", "coverage"}
NUMBERS = {"probability", "top1_rate", "median_rank", "margin", "top_class", "grey"}


@pytest.fixture(scope="module")
def evolve_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("audit") / "crab"
    assert main(["evolve", "crab", "--fooling", "--start", "sines", "--judge", "none", "--pop", "6",
                 "--size", "64", "--record-size", "0", "--tune-steps", "1", "--generations", "2", "--seed", "2",
                 "--device", "cpu", "--out", str(out), "--quiet"]) == 0
    return out


def test_audit_scores_every_network_on_fixed_views_and_updates_gallery(evolve_run, lite0,
                                                                       monkeypatch, capsys):
    monkeypatch.setattr(audit, "available_models",          # only lite0: no second model
                        lambda: [("efficientnet-lite0", True, "embedded weights")])
    assert main(["audit", str(evolve_run), "--views", "3", "--no-control",
                 "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "no second model usable offline; install '.[lite]'" in out
    result = json.loads((evolve_run / "audit.json").read_text())
    records = sorted(p.stem for p in (evolve_run / "records").glob("[0-9]*.json"))
    assert [row["key"] for row in result["items"]] == records and records
    assert result["models"] == ["efficientnet-lite0"] and result["views"] == 3
    assert result["seed"] == JUDGE_SEED and result["control"] == []
    crab = resolve_classes("crab", lite0.class_names)
    for row in result["items"]:
        assert set(row) == ROW and row["classes"] == crab and row["residual"] >= 0
        numbers = row["models"]["efficientnet-lite0"]
        assert set(numbers) == NUMBERS and 0 <= numbers["top1_rate"] <= 1
    # reference: the formula at the model's native size under the same seeded views
    row = result["items"][-1]
    formula = (evolve_run / "records" / f"{row['key']}.formula").read_text().strip()
    image = render_batch([parse(formula)], 224, "cpu")
    expected = plain_view_scores(image, lite0, crab, draw_views(3, JUDGE_SEED).matrices)
    got = row["models"]["efficientnet-lite0"]
    for name in ("probability", "top1_rate", "median_rank", "margin"):
        assert got[name] == pytest.approx(expected[name], rel=1e-3, abs=1e-4), name
    with torch.inference_mode():
        plain = lite0.logits(render_batch([parse(formula)], 64, "cpu")).softmax(1)[0, crab].sum()
    assert row["confidence"] == pytest.approx(plain.item(), abs=2e-3)
    page = (evolve_run / "index.html").read_text()
    assert page.count("card-audit") == len(records) and "lite0 top-1" in page


def plain_view_scores(image, model, classes, matrices) -> dict:
    """The audit's numbers for one square image at the model's size, re-implemented plainly,
    view by view: the test's own reference (not scorers.judge_scores)."""
    size = image.shape[-1]
    per_view = []
    with torch.inference_mode():
        for matrix in matrices:
            grid = torch.nn.functional.affine_grid(matrix[None], [1, 3, size, size],
                                                   align_corners=False)
            view = torch.nn.functional.grid_sample(image, grid, mode="bilinear",
                                                   padding_mode="reflection", align_corners=False)
            logits = model.net((view - model.mean) / model.std)[0].float()
            p = logits.softmax(0)[classes].sum().item()
            rank = 1 + int((logits > logits[classes].max()).sum())
            per_view.append((p, rank, math.log(p / (1 - p))))
    p, rank, margin = zip(*per_view)
    return {"probability": statistics.fmean(p), "top1_rate": statistics.fmean(r == 1 for r in rank),
            "median_rank": statistics.median(rank), "margin": statistics.fmean(margin)}


def test_audit_on_the_yardstick_with_the_natural_photo_control(evolve_run, capsys):
    assert main(["audit", str(evolve_run), "--views", "4", "--device", "cpu"]) == 0
    result = json.loads((evolve_run / "audit.json").read_text())
    assert result["models"] == ["efficientnet-lite0", "efficientnet-lite1", "efficientnet-lite2"]
    control = {row["key"]: row for row in result["control"]}
    assert set(control) == set(audit.PHOTOS)
    cat = control["chelsea"]["models"]
    assert all(r["median_rank"] <= 2 and "cat" in r["top_class"] for r in cat.values())
    assert all(-1.6 < row["slope"] < -1.0 for row in control.values())
    out = capsys.readouterr().out
    assert "natural-photo control" in out and "chelsea" in out
    judged = [row["models"]["efficientnet-lite2"]["median_rank"] for row in result["items"]]
    assert (f"efficientnet-lite2: {sum(r <= 5 for r in judged)} of {len(judged)} items in its "
            "top 5 on the median view") in out


def test_audit_best_keeps_only_the_fittest_records(evolve_run):
    entries = [json.loads(p.read_text()) | {"stem": p.stem}
               for p in (evolve_run / "records").glob("[0-9]*.json")]
    assert len(entries) >= 2
    fittest = max(entries, key=lambda e: e["fitness"])["stem"]
    assert main(["audit", str(evolve_run), "--views", "2", "--best", "1", "--no-control",
                 "--model", "efficientnet-lite0", "--device", "cpu"]) == 0
    result = json.loads((evolve_run / "audit.json").read_text())
    assert [row["key"] for row in result["items"]] == [fittest] and result["best"] == 1


# --- issue 20: grey survival, coverage and other grounds, against a plain computation ---------

def test_survival_columns_on_a_real_photo_match_a_plain_computation(lite0):
    """A real photo made a figure (an ellipse of alpha): coverage, grey and other-ground
    numbers against the test's own view-by-view computation (plain_view_scores)."""
    from skimage import data

    from scorers import draw_backgrounds

    photo = torch.from_numpy(data.chelsea().copy()).permute(2, 0, 1).float()[None] / 255
    photo = torch.nn.functional.interpolate(photo, size=(224, 224), mode="bilinear",
                                            antialias=True, align_corners=False)
    v, u = torch.meshgrid(torch.linspace(-1, 1, 224), torch.linspace(-1, 1, 224), indexing="ij")
    alpha = ((u / 0.8) ** 2 + (v / 0.6) ** 2 < 1).float()[None, None]      # the cat's middle
    rgba = torch.cat([photo, alpha], 1)
    with torch.inference_mode():
        own = [int(lite0.logits(photo).argmax())]                          # tabby or kin
    matrices = draw_views(2, JUDGE_SEED).matrices
    rows = audit.survival_rows(torch.cat([rgba, torch.cat([photo, torch.ones_like(alpha)], 1)]),
                               [lite0], [own, own], draw_views(2, JUDGE_SEED), [True, False])
    figure, plain_photo = (row["models"]["efficientnet-lite0"] for row in rows)
    assert rows[0]["figure"] and not rows[1]["figure"] and "swap" not in plain_photo
    assert rows[0]["coverage"] == pytest.approx(alpha.mean().item(), abs=1e-6)
    assert rows[1]["coverage"] == 1.0
    on_white = photo * alpha + (1 - alpha)
    grey = 0.299 * photo[:, :1] + 0.587 * photo[:, 1:2] + 0.114 * photo[:, 2:]
    grey = grey.expand(1, 3, -1, -1)
    checks = [(figure, plain_view_scores(on_white, lite0, own, matrices)),
              (plain_photo, plain_view_scores(photo, lite0, own, matrices)),
              (plain_photo["grey"], plain_view_scores(grey, lite0, own, matrices))]
    for got, expected in checks:
        for name in ("probability", "top1_rate", "median_rank"):
            assert got[name] == pytest.approx(expected[name], rel=1e-3, abs=1e-4), name
    grounds = [plain_view_scores(photo * alpha + ground[None] * (1 - alpha), lite0, own, matrices)
               for ground in draw_backgrounds(audit.SWAP_GROUNDS, (224, 224), audit.SWAP_SEED)]
    rates = [g["top1_rate"] for g in grounds]
    assert figure["swap"]["top1_rate"] == pytest.approx(statistics.fmean(rates), abs=1e-6)
    assert figure["swap"]["worst_top1_rate"] == pytest.approx(min(rates), abs=1e-6)
    assert figure["swap"]["probability"] == pytest.approx(
        statistics.fmean(g["probability"] for g in grounds), rel=1e-3, abs=1e-4)
    assert plain_photo["grey"]["probability"] < plain_photo["probability"]   # colour mattered


def test_audit_of_a_figure_run_shows_coverage_and_other_grounds(tmp_path, capsys):
    out = tmp_path / "figure"
    assert main(["evolve", "crab", "--start", "figure", "--models", "efficientnet-lite0",
                 "--judge", "none", "--pop", "4", "--size", "32", "--record-size", "0",
                 "--tune-steps", "1", "--views", "1", "--generations", "1", "--seed", "4",
                 "--device", "cpu", "--out", str(out), "--quiet"]) == 0
    assert main(["audit", str(out), "--views", "2", "--best", "1", "--no-control",
                 "--model", "efficientnet-lite0", "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    row = json.loads((out / "audit.json").read_text())["items"][0]
    genome = parse((out / "records" / f"{row['key']}.formula").read_text().strip())
    alpha = render_batch([genome], 224, "cpu", alpha=True)[0, 3]
    assert row["figure"] and row["coverage"] == pytest.approx(alpha.mean().item(), abs=1e-5)
    numbers = row["models"]["efficientnet-lite0"]
    assert set(numbers["swap"]) == {"probability", "top1_rate", "worst_top1_rate"}
    assert f"coverage {row['coverage']:.2f}" in printed and "grounds" in printed
