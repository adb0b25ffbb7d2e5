"""`genart dream` and `genart polish` end to end: real renders, real files, real run folders."""
import json

from PIL import Image

from evolve.cli import main
from evolve.runfolder.rundir import RunDir, write_json
from evolve.search.settings import RunConfig
from genart import read_png

FORMULA = "add(sin(mul(x, 3.1)), mul(r, y))"
SMALL = ["--octaves", "1", "--steps", "2", "--layer", "blocks.3", "--device", "cpu"]


def test_dream_formula_writes_png(tmp_path):
    out = tmp_path / "dream.png"
    assert main(["dream", FORMULA, "--size", "64", "-o", str(out), *SMALL]) == 0
    image, text = read_png(out)
    assert image.shape == (3, 64, 64) and text["formula"] == FORMULA
    assert "blocks.3" in text["objective"]


def test_objective_flag_is_recorded_and_changes_the_dream(tmp_path):
    """Default: the layer's mean square (DeepDream's L2); --objective mean: its plain mean."""
    l2, mean = tmp_path / "l2.png", tmp_path / "mean.png"
    assert main(["dream", FORMULA, "--size", "64", "-o", str(l2), *SMALL]) == 0
    assert main(["dream", FORMULA, "--size", "64", "--objective", "mean", "-o", str(mean),
                 *SMALL]) == 0
    (a, text_l2), (b, text_mean) = read_png(l2), read_png(mean)
    assert text_l2["objective"] == "layer blocks.3 (mean square)"
    assert text_mean["objective"] == "layer blocks.3 (mean)"
    assert (a - b).abs().mean() > 1e-3


def test_layers_marks_the_layers_that_dream_well(capsys):
    assert main(["layers"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[1:]}
    assert "*" in rows["blocks.10"] and "default" in rows["blocks.10"]
    assert "*" not in rows["blocks.15"] and "*" not in rows["stem"]


def test_zoom_writes_frames_and_gif(tmp_path):
    out = tmp_path / "zoom"
    assert main(["dream", "noise", "--size", "48", "--zoom-frames", "8", "--zoom", "1.1",
                 "-o", str(out), *SMALL]) == 0
    assert len(sorted(out.glob("frame_*.png"))) == 8
    with Image.open(out / "zoom.gif") as gif:
        assert gif.n_frames == 8


def test_sweep_writes_labelled_sheet(tmp_path):
    out = tmp_path / "sweep.png"
    assert main(["dream", FORMULA, "--size", "48", "--sweep", "3", "--sheet-tile", "48",
                 "--octaves", "1", "--steps", "1", "--device", "cpu", "-o", str(out)]) == 0
    sheet, text = read_png(out)
    assert text["layers"] == "blocks.0,blocks.8,blocks.15"
    assert sheet.shape[-1] == 2 * 48 and sheet.shape[-2] == 2 * (48 + 14)   # 4 tiles, 2x2


def test_bad_input_is_one_line_exit_2(tmp_path, capsys):
    assert main(["dream", str(tmp_path / "missing.png"), "-o", str(tmp_path / "o.png")]) == 2
    assert main(["dream", FORMULA, "--size", "32", "--layer", "blocks.99", "--device", "cpu",
                 "-o", str(tmp_path / "o.png")]) == 2
    assert main(["dream", FORMULA, "--steps", "0", "-o", str(tmp_path / "o.png")]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 3 and all(e.startswith("genart: error: ") for e in errors)
    assert "missing.png" in errors[0] and "blocks.99" in errors[1] and "--steps" in errors[2]


def test_polish_dreams_best_records_into_the_gallery(tmp_path):
    run = RunDir.create(tmp_path / "run", RunConfig(target="crab", generations=1))
    for stem, fitness, formula in [("0000", 0.1, "mul(x, y)"), ("0001", 0.3, FORMULA)]:
        (run.records / f"{stem}.formula").write_text(formula)
        write_json(run.records / f"{stem}.json", {"fitness": fitness, "generation": 0})
    assert main(["polish", str(run.path), "--top", "1", "--size", "64", "--dream", *SMALL]) == 0
    assert sorted(p.name for p in (run.path / "polished").iterdir()) == ["0001.json", "0001.png"]
    scores = json.loads((run.path / "polished" / "0001.json").read_text())
    assert {"prob_before", "prob_after", "residual_before", "residual_after"} <= set(scores)
    assert scores["residual_after"] != scores["residual_before"]
    assert "polished/0001.png" in (run.path / "index.html").read_text()
