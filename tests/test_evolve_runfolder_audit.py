"""`genart audit` on a real small evolve run: audit.json columns, values, gallery, no second model."""
import json

import pytest
import torch

import evolve.runfolder.audit as audit
from evolve.cli import main
from genart import read_png
from scorers import AugmentedObjective, ClassObjective, resolve_classes

COLUMNS = {"key", "image", "class_name", "classes", "confidence", "residual", "crop_mean",
           "crop_min", "crop_top1", "other_prob", "other_rank"}


@pytest.fixture(scope="module")
def evolve_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("audit") / "crab"
    assert main(["evolve", "crab", "--pop", "6", "--size", "64", "--record-size", "0",
                 "--tune-steps", "1", "--generations", "2", "--seed", "2", "--device", "cpu",
                 "--out", str(out), "--quiet"]) == 0
    return out


def test_audit_writes_columns_and_updates_gallery(evolve_run, lite0, monkeypatch, capsys):
    monkeypatch.setattr(audit, "available_models",          # only lite0: no second model
                        lambda: [("efficientnet-lite0", True, "embedded weights")])
    assert main(["audit", str(evolve_run), "--crops", "3", "--seed", "1",
                 "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "no second model usable offline; install '.[lite]'" in out
    result = json.loads((evolve_run / "audit.json").read_text())
    records = sorted(p.stem for p in (evolve_run / "records").glob("[0-9]*.json"))
    assert [row["key"] for row in result["items"]] == records and records
    assert result["other_model"] is None and result["crops"] == 3
    crab = resolve_classes("crab", lite0.class_names)
    for row in result["items"]:
        assert set(row) == COLUMNS and row["classes"] == crab
        assert row["other_prob"] is None and 0 <= row["crop_top1"] <= 1
        assert row["crop_min"] <= row["crop_mean"] <= 1 and row["residual"] >= 0
    # reference: the record's own PNG under the same seeded views gives the same numbers
    row = result["items"][-1]
    image, _ = read_png(evolve_run / row["image"])
    views = AugmentedObjective(ClassObjective(lite0, crab), crops=3, seed=1)
    with torch.inference_mode():
        per_view = ClassObjective(lite0, crab)(views.views(image[None]))     # (3,)
        plain = ClassObjective(lite0, crab)(image[None])
    assert row["crop_mean"] == pytest.approx(per_view.mean().item(), abs=2e-3)
    assert row["crop_min"] == pytest.approx(per_view.min().item(), abs=2e-3)
    assert row["confidence"] == pytest.approx(plain.item(), abs=2e-3)
    page = (evolve_run / "index.html").read_text()
    assert page.count("card-audit") == len(records) and "no second model" in page


def test_audit_with_a_second_model_ranks_the_class(evolve_run, capsys):
    assert main(["audit", str(evolve_run), "--model", "efficientnet-lite0", "--crops", "0",
                 "--device", "cpu"]) == 0
    result = json.loads((evolve_run / "audit.json").read_text())
    assert result["other_model"] == "efficientnet-lite0"
    for row in result["items"]:        # the same network as second model: same probability
        assert row["other_prob"] == pytest.approx(row["confidence"], abs=1e-5)
        assert row["other_rank"] >= 1 and row["crop_mean"] is None
    assert "2nd model p" in (evolve_run / "index.html").read_text()
