"""Every run setting is a flag and a `--config FILE.toml` key: the same values given either way
give the same config, for every field of RunConfig (evolve) and ExploreConfig (explore)."""
import dataclasses
import json
import typing

import pytest

from evolve.cli import main, parse
from evolve.cli.explore import explore_config
from evolve.cli.runs import evolve_config
from evolve.errors import RunError
from evolve.search.explore import ExploreConfig
from evolve.search.settings import NO_FLAG, RunConfig

FORMULA = "add(sin(mul(x, 3.1)), r)"
FREE_TEXT = {"model": "efficientnet-lite1", "models": "efficientnet-lite0", "judge": "none",
             "device": "cpu"}
# settings with no flag of their own, and the flag (key) that sets them
SET_BY_OTHERS = {"target": "TARGET (evolve) or --classes (explore)",
                 "seconds": "--minutes / --hours", "parents": "--from",
                 "parent_sources": "--from", "kind": "the command"}


def other_value(field: dataclasses.Field, kind, default):
    """A value for the setting that is not its default and lies in its declared range."""
    meta = field.metadata
    if type(None) in typing.get_args(kind):              # `int | None`
        kind = next(k for k in typing.get_args(kind) if k is not type(None))
    if kind is bool:
        return not default
    if meta.get("choices"):
        return next(c for c in meta["choices"] if c != default)
    if kind is str:
        assert field.name in FREE_TEXT, f"{field.name}: add a test value to FREE_TEXT"
        return FREE_TEXT[field.name]
    assert kind in (int, float), f"{field.name}: a setting of type {kind} the test can't fill"
    step = 1 if kind is int else 0.05
    start = default if default is not None else (meta.get("low") or meta.get("above") or 0)
    candidates = [start + step, start - step, start + 32 * step, meta.get("high")]
    for value in candidates:                 # the first one its own checks accept
        value = round(value, 6) if kind is float and value is not None else value
        if value is not None and value != default and accepted(field.name, value):
            return value
    raise AssertionError(f"{field.name}: no test value near {default} is accepted")


def accepted(name: str, value) -> bool:
    try:
        ExploreConfig(**{name: value}) if name in {f.name for f in dataclasses.fields(
            ExploreConfig)} - {f.name for f in dataclasses.fields(RunConfig)} \
            else RunConfig(target="crab", **{name: value})
    except RunError:
        return False
    return True


def chosen(cls, robust: bool) -> dict:
    """A non-default value for every flagged setting (the fooling case: only `fooling`)."""
    defaults, hints = cls(target="crab"), typing.get_type_hints(cls)
    values = {}
    for field in dataclasses.fields(cls):
        if field.name in getattr(cls, "IGNORED", ()) or field.name == "target":
            continue                          # target: the command's own words, below
        if field.metadata.get("flag") == NO_FLAG:
            assert field.name in SET_BY_OTHERS, f"{field.name} has no flag and no TOML key"
            continue
        if field.name == "fooling":
            values["fooling"] = not robust
        elif robust:
            values[field.name] = other_value(field, hints[field.name],
                                             getattr(defaults, field.name))
    return values


def flag_words(cls, values: dict) -> list[str]:
    by_name = {f.name: f for f in dataclasses.fields(cls)}
    words = []
    for name, value in values.items():
        flag = "--" + (by_name[name].metadata.get("flag") or name.replace("_", "-"))
        if isinstance(value, bool):
            words.append(flag if value else "--no-" + flag[2:])
        else:
            words += [flag, str(value)]
    return words


def toml_text(cls, values: dict) -> str:
    by_name = {f.name: f for f in dataclasses.fields(cls)}
    lines = []
    for name, value in values.items():
        key = by_name[name].metadata.get("flag") or name     # underscores, as a file may
        lines.append(f"{key} = {json.dumps(value)}")
    return "\n".join(lines) + "\n"


COMMANDS = {"evolve": (RunConfig, evolve_config, ["crab"], 'target = "crab"\n'),
            "explore": (ExploreConfig, explore_config, ["--classes", "crab"],
                        'classes = "crab"\n')}


@pytest.mark.parametrize("robust", [True, False], ids=["robust", "fooling"])
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_setting_reads_the_same_from_flags_and_from_a_toml_file(command, robust,
                                                                       tmp_path):
    cls, build, target, target_key = COMMANDS[command]
    values = chosen(cls, robust)
    extra = ["--from", FORMULA] if command == "evolve" else []
    from_flags = build(parse([command, *target, *flag_words(cls, values), *extra]))
    file = tmp_path / "settings.toml"
    from_key = f'from = ["{FORMULA}"]\n' if command == "evolve" else ""
    file.write_text(target_key + toml_text(cls, values) + from_key)
    from_file = build(parse([command, "--config", str(file)]))
    assert from_flags == from_file
    for name, value in values.items():
        assert getattr(from_flags, name) == value, name
    assert from_flags.target == "crab"
    if command == "evolve":
        assert from_flags.parents == (FORMULA,)


def test_a_time_budget_reads_the_same_from_flags_and_file(tmp_path):
    file = tmp_path / "budget.toml"
    file.write_text('target = "crab"\nminutes = 2.5\n')
    from_flags = evolve_config(parse(["evolve", "crab", "--minutes", "2.5"]))
    assert from_flags == evolve_config(parse(["evolve", "--config", str(file)]))
    assert from_flags.seconds == 150.0 and from_flags.generations is None
    hours = evolve_config(parse(["evolve", "crab", "--hours", "0.5"]))
    assert hours.seconds == 1800.0


def test_old_setting_names_still_work_as_flags_keys_and_in_config_json(tmp_path):
    old = evolve_config(parse(["evolve", "crab", "--sine-share", "0.7",
                               "--sine-frequency", "6"]))
    assert (old.start_share, old.start_frequency) == (0.7, 6.0)
    file = tmp_path / "old.toml"
    file.write_text('target = "crab"\nsine_share = 0.7\nsine-frequency = 6\n')
    assert evolve_config(parse(["evolve", "--config", str(file)])) == old
    saved = {**RunConfig(target="crab").to_json(), "sine_share": 0.2, "sine_terms": 5}
    del saved["start_share"], saved["start_terms"]
    restored = RunConfig.from_json(saved)
    assert (restored.start_share, restored.start_terms) == (0.2, 5)


def test_config_file_sets_the_run_and_flags_override_it(tmp_path):
    settings = tmp_path / "night.toml"
    settings.write_text('target = "crab"\npop = 6\nsize = 24\ntune-steps = 1\n'
                        'record_size = 0\nminutes = 30\ndevice = "cpu"\nseed = 5\nviews = 1\n')
    out = tmp_path / "run"
    assert main(["evolve", "--config", str(settings), "--pop", "4", "--generations", "1",
                 "--quiet", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["target"] == "crab" and config["size"] == 24 and config["tune_steps"] == 1
    assert config["seed"] == 5
    assert config["generations"] == 1 and config["seconds"] is None   # the line's budget won
    assert config["population"] == 4                       # the flag beat the file's 6
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [entry["generation"] for entry in log] == [0, 1]


def test_resume_changes_output_settings_and_refuses_search_settings(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["evolve", "crab", "--pop", "4", "--size", "16", "--no-tune", "--views", "1",
                 "--device", "cpu", "--record-size", "0", "--generations", "1", "--quiet",
                 "--out", str(out)]) == 0
    before = (out / "config.json").read_text()
    capsys.readouterr()
    assert main(["resume", str(out), "--pop", "6", "--generations", "1"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--pop" in err[0] and err[0].startswith("genart: error:"), err
    assert (out / "config.json").read_text() == before
    assert main(["resume", str(out), "--generations", "1", "--record-size", "32",
                 "--checkpoint-minutes", "1.5", "--quiet"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["record_size"] == 32 and config["checkpoint_minutes"] == 1.5
    assert config["population"] == 4 and config["generations"] == 2


CROSS = "add(x, y)"                 # a picked parent that is not a figure


def test_a_robust_crab_search_defaults_to_the_form_levers_and_flags_override():
    crab = evolve_config(parse(["evolve", "crab"]))
    assert (crab.start_form, crab.symmetry, crab.template) == ("figure", "mirror", "crab")
    assert (crab.max_frequency, crab.view_grey, crab.size) == (4.0, 0.25, 256)
    assert (crab.harvest, crab.lineage_harvests, crab.sibling_generations, crab.harvest_polish,
            crab.harvest_rounds, crab.harvest_grow) == (True, 3, 4, 40, 0, 3)
    assert (crab.tune_lr, crab.tune_share) == (0.01, 0.125)
    goldfish = evolve_config(parse(["evolve", "goldfish"]))
    assert (goldfish.start_form, goldfish.symmetry, goldfish.template) == \
        ("figure", "mirror", "none")
    assert (goldfish.tune_lr, goldfish.tune_share) == (0.1, 0.25)
    explicit = evolve_config(parse(["evolve", "crab", "--start", "cppn", "--symmetry", "none",
                                    "--template", "none", "--max-frequency", "0",
                                    "--view-grey", "0", "--size", "128",
                                    "--harvest-polish", "0", "--harvest-rounds", "1",
                                    "--harvest-grow", "0",
                                    "--tune-lr", "0.1", "--tune-share", "0.25"]))
    defaults = RunConfig(target="crab")
    for name in ("start_form", "symmetry", "template", "max_frequency", "view_grey", "size",
                 "harvest_polish", "harvest_rounds", "harvest_grow", "tune_lr", "tune_share"):
        assert getattr(explicit, name) == getattr(defaults, name), name


def test_fooling_layer_and_picked_runs_keep_their_own_form():
    defaults = RunConfig(target="crab")
    fooling = evolve_config(parse(["evolve", "crab", "--fooling"]))
    layer = evolve_config(parse(["evolve", "layer:features.4"]))
    for config in (fooling, layer):
        assert (config.start_form, config.symmetry, config.template, config.view_grey,
                config.size) == (defaults.start_form, defaults.symmetry, defaults.template,
                                 defaults.view_grey, defaults.size)
    picked = evolve_config(parse(["evolve", "crab", "--from", CROSS]))
    assert (picked.start_form, picked.template, picked.symmetry) == (defaults.start_form,
                                                                    "none", "none")
    assert picked.view_grey == 0.25 and picked.size == 256 and picked.parents == (CROSS,)
