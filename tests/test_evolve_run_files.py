"""Unreadable run files are named, not swallowed: the gallery shows what it can and says what it
skipped; audit and polish read the same records. Real small runs on disk."""
import json
import logging
import re
import shutil

import pytest

from evolve.cli import main
from evolve.runfolder.gallery import build_gallery
from evolve.runfolder.rundir import RunDir

TINY = ["--pop", "6", "--size", "32", "--seed", "1", "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(evolve run with two or more records, explore run) made once; tests work on copies."""
    root = tmp_path_factory.mktemp("files")
    assert main(["evolve", "crab", "--fooling", *TINY, "--record-size", "0", "--tune-steps", "0",
                 "--generations", "2", "--out", str(root / "evolve")]) == 0
    assert main(["explore", "--classes", "crab,723", *TINY, "--generations", "0",
                 "--out", str(root / "explore")]) == 0
    return root


def copy(runs, name, tmp_path):
    return shutil.copytree(runs / name, tmp_path / name)


def record_cards(page: str) -> list[str]:
    return re.findall(r"id='r(\d{4})'", page)


def test_a_corrupt_record_and_audit_are_named_and_the_rest_is_shown(runs, tmp_path, caplog):
    run = copy(runs, "evolve", tmp_path)
    stems = sorted(p.stem for p in (run / "records").glob("[0-9][0-9][0-9][0-9].json"))
    assert len(stems) >= 2
    (run / "records" / f"{stems[0]}.json").write_text('{"fitness": 0.')      # torn write
    (run / "audit.json").write_text("[1, 2]")                                 # not an audit
    with caplog.at_level(logging.WARNING):
        page = build_gallery(RunDir(run)).read_text()
    assert sorted(record_cards(page)) == stems[1:]                 # every readable record shown
    skipped = re.search(r"<p class='skipped' id='skipped'>(.*?)</p>", page).group(1)
    assert f"{stems[0]}.json (corrupt JSON" in skipped and "audit.json (not a JSON object)" in skipped
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warned) == 2 and any(f"records/{stems[0]}.json" in w for w in warned)
    assert all("\n" not in w for w in warned)
    # the header's best record is the best readable one, labelled as a record's fitness
    best = max(stems[1:], key=lambda s: json.loads((run / "records" / f"{s}.json").read_text())
               ["fitness"])
    assert f"best record #{best}: fitness" in page


def test_records_read_by_audit_and_polish_skip_a_corrupt_one_in_one_warning(runs, tmp_path,
                                                                            caplog):
    run = copy(runs, "evolve", tmp_path)
    first = sorted((run / "records").glob("[0-9][0-9][0-9][0-9].json"))[0]
    first.write_bytes(b"\xff\xfe not utf-8")
    folder = RunDir(run)
    with caplog.at_level(logging.WARNING):
        entries = folder.record_entries()
    assert first.stem not in [e["stem"] for e in entries] and entries
    assert all(e["networks"] == ["efficientnet-lite0"] for e in entries)   # --fooling: --model
    log = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    assert all(e["networks"] == ["efficientnet-lite0"] for e in log)
    assert folder.skipped == [f"{first} (not UTF-8)"]
    assert [r.getMessage() for r in caplog.records] == [
        f"skipped unreadable record {first} (not UTF-8); restore it or delete it"]


def test_explore_gallery_names_a_corrupt_archive_and_report(runs, tmp_path, caplog):
    run = copy(runs, "explore", tmp_path)
    page = build_gallery(RunDir(run)).read_text()
    assert page.count("class='card cell'") == 6 and "id='skipped'" not in page
    assert "images scored by efficientnet-lite0" in page
    (run / "report.json").write_text('{"at_least": 3}')                    # wrong shape
    page = build_gallery(RunDir(run)).read_text()
    assert page.count("class='card cell'") == 6                           # cells still shown
    assert "report.json (figures missing)" in page and "id='figures'" not in page
    (run / "archive.json").write_text("")                                  # empty file
    with caplog.at_level(logging.WARNING):
        page = build_gallery(RunDir(run)).read_text()
    assert "class='card cell'" not in page
    assert re.search(r"archive\.json \(corrupt JSON: Expecting value", page)
    assert any("archive.json" in r.getMessage() for r in caplog.records)
