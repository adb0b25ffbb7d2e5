"""`genart evolve --config FILE.toml`: the file's settings, with flags on the line winning."""
import json

from evolve.cli import main


def test_config_file_sets_the_run_and_flags_override_it(tmp_path):
    settings = tmp_path / "night.toml"
    settings.write_text('target = "crab"\npop = 6\nsize = 24\ntune-steps = 1\n'
                        'record_size = 0\nminutes = 30\ndevice = "cpu"\nseed = 5\n')
    out = tmp_path / "run"
    assert main(["evolve", "--config", str(settings), "--pop", "4", "--generations", "1", "--quiet",
                 "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["target"] == "crab" and config["size"] == 24 and config["tune_steps"] == 1
    assert config["seed"] == 5
    assert config["generations"] == 1 and config["seconds"] is None   # the line's budget won
    assert config["population"] == 4                       # the flag beat the file's 6
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [entry["generation"] for entry in log] == [0, 1]
