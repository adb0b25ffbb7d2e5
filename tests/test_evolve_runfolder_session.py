"""Real runs on disk: folder anatomy, kill -9 and resume, corrupt checkpoints, the gallery."""
import hashlib
import json
import re
import shutil
import subprocess

import pytest

from evolve.cli import main
from evolve.runfolder.session import checkpoint, record_best, start_run
from evolve.search.settings import RunConfig
from genart import parse, read_formula, read_png, render_batch
from runs import comparable, finished, genart, kill_at_generation

SMALL = ["crab", "--pop", "12", "--size", "64", "--record-size", "96", "--tune-steps", "2",
         "--tune-share", "0.1", "--seed", "3", "--device", "cpu", "--quiet"]
GENERATIONS = 4


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
    """An uninterrupted small run, in a subprocess like the interrupted one it is compared to."""
    out = tmp_path_factory.mktemp("runs") / "reference"
    stdout = finished(genart("evolve", *SMALL, "--generations", str(GENERATIONS), "--out", str(out)))
    assert f"gallery: {out / 'index.html'}" in stdout
    return out


def test_small_run_writes_the_whole_folder(reference_run):
    run = reference_run
    for name in ("config.json", "log.jsonl", "checkpoint.json", "index.html", "fitness.png"):
        assert (run / name).is_file(), name
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert [e["generation"] for e in log] == list(range(GENERATIONS + 1))
    assert log[-1]["evaluations"] >= 12 and log[-1]["elapsed"] > 0
    state = json.loads((run / "checkpoint.json").read_text())
    assert state["generation"] == GENERATIONS and len(state["population"]) == 12
    population = [g["parts"]["fitness"] for g in state["population"]]   # the last generation's
    assert log[-1]["best_fitness"] == pytest.approx(max(population), abs=1e-6)
    assert log[-1]["mean_fitness"] == pytest.approx(sum(population) / 12, abs=1e-6)
    assert set(state["rng"]) == {"python", "numpy", "torch"}
    records = sorted(run.glob("records/[0-9][0-9][0-9][0-9].json"))
    assert records and state["records"] == len(records)
    entries = [json.loads(r.read_text()) for r in records]
    fitness = [e["fitness"] for e in entries if not e.get("niche_record")]   # the best's path
    assert fitness == sorted(fitness)                     # best records only ever improve
    assert fitness[-1] == pytest.approx(log[-1]["best_ever_fitness"], abs=1e-6)
    summary = re.search(r"<p class='muted' id='summary'>(.*?)</p>",
                        (run / "index.html").read_text()).group(1)
    assert f"best record #{records[-1].stem}: fitness {fitness[-1]:.4f}" in summary
    for meta_path in records:
        stem = meta_path.with_suffix("")
        meta = json.loads(meta_path.read_text())
        assert len(meta["top5"]) == 5 and "residual" in meta and "generation" in meta
        formula = (stem.parent / f"{stem.name}.formula").read_text().strip()
        assert read_formula(stem.with_suffix(".png")) == formula
        image, _ = read_png(stem.with_suffix(".png"))
        again = render_batch([parse(formula)], 64, "cpu")[0]
        assert (image - again).abs().max() <= 1 / 255 + 1e-6
        hires, _ = read_png(stem.parent / f"{stem.name}_hires.png")
        assert hires.shape == (3, 96, 96)


def test_killed_run_resumes_to_the_same_checkpoint(reference_run, tmp_path):
    out = tmp_path / "killed"
    process = genart("evolve", *SMALL, "--generations", str(GENERATIONS), "--out", str(out))
    assert kill_at_generation(process, out, 2, 90)["generation"] < GENERATIONS, "killed too late"
    finished(genart("resume", str(out), "--quiet"))
    assert comparable(out) == comparable(reference_run)
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [e["generation"] for e in log] == list(range(GENERATIONS + 1))


def folder_digest(path) -> dict:
    return {str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_checkpoint_is_one_line_error_and_changes_nothing(reference_run, tmp_path,
                                                                  capsys, damage):
    run = tmp_path / "copy"
    shutil.copytree(reference_run, run)
    checkpoint = run / "checkpoint.json"
    text = checkpoint.read_bytes()
    checkpoint.write_bytes(text[: len(text) // 2] if damage == "truncate" else b"\x00{]not json")
    before = folder_digest(run)
    assert main(["resume", str(run), "--generations", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("genart: error:") and "checkpoint.json" in err and "\n" not in err
    assert folder_digest(run) == before


def test_out_onto_an_existing_run_refuses(reference_run, capsys):
    before = folder_digest(reference_run)
    assert main(["evolve", "crab", "--generations", "1", "--out", str(reference_run)]) == 2
    err = capsys.readouterr().err
    assert f"genart resume {reference_run}" in err
    assert folder_digest(reference_run) == before


def test_gallery_shows_one_image_per_record_in_chromium(reference_run, tmp_path):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no chromium binary")
    assert main(["gallery", str(reference_run)]) == 0
    page = (reference_run / "index.html").resolve().as_uri()
    dom = subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                          f"--user-data-dir={tmp_path}", "--dump-dom", page],
                         capture_output=True, text=True, timeout=60).stdout
    records = len(list(reference_run.glob("records/[0-9][0-9][0-9][0-9].json")))
    assert records and len(re.findall(r'<img[^>]*src="records/\d{4}\.png"', dom)) == records
    assert "fitness.png" in dom and dom.count("<details>") == records


def test_pareto_run_records_its_front_in_the_gallery(tmp_path):
    out = tmp_path / "pareto"
    assert main(["evolve", *SMALL, "--pop", "8", "--record-size", "0", "--pareto",
                 "--generations", "1", "--out", str(out)]) == 0
    front = json.loads((out / "pareto.json").read_text())
    assert front and all({"formula", "objective", "residual"} <= set(f) for f in front)
    objectives = [f["objective"] for f in front]
    residuals = [f["residual"] for f in front]
    assert objectives == sorted(objectives, reverse=True)
    assert residuals == sorted(residuals, reverse=True)      # non-dominated: better costs more
    page = (out / "index.html").read_text()
    assert page.count("class='card pareto'") == len(front) == len(list(out.glob("pareto/*.png")))


def test_a_run_in_progress_cannot_be_resumed_twice(reference_run, tmp_path, capsys):
    from evolve.runfolder.rundir import RunDir
    run = tmp_path / "locked"
    shutil.copytree(reference_run, run)
    holder = RunDir.open(run)
    holder.lock()
    assert main(["resume", str(run), "--generations", "1"]) == 2
    assert "another process" in capsys.readouterr().err


def test_the_same_best_scored_higher_under_new_views_is_not_recorded_twice(tmp_path):
    config = RunConfig(target="crab", population=4, size=32, record_size=0, views=2,
                       tune=False, judge="none", device="cpu", generations=1)
    session = start_run(tmp_path / "run", config)
    assert session.records == 1                              # generation 0's best
    best = session.evolution.best
    best.parts = {**best.parts, "fitness": best.parts["fitness"] + 1.0}
    record_best(session)
    assert session.records == 1 and session.last_record == best.parts["fitness"]
    other = next(g for g in session.evolution.population if str(g) != str(best))
    other.parts = {**other.parts, "fitness": best.parts["fitness"] + 1.0}
    session.evolution.best = other
    record_best(session)
    assert session.records == 2
    assert (tmp_path / "run" / "records" / "0001.formula").read_text().strip() == str(other)
    checkpoint(session)
    state = json.loads((tmp_path / "run" / "checkpoint.json").read_text())
    assert state["last_formula"] == str(other)
