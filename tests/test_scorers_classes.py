"""Class queries and the scorer CLI commands, through evolve.cli.main."""
import pytest
from PIL import Image
from skimage import data

from evolve.cli import main
from scorers import UnknownClassError, imagenet_classes, resolve_classes

CRABS = {118: "Dungeness crab", 119: "rock crab", 120: "fiddler crab", 121: "king crab",
         125: "hermit crab"}


def test_crab_means_exactly_the_five_crab_classes():
    names = imagenet_classes()
    assert len(names) == 1000
    assert resolve_classes("crab") == sorted(CRABS)
    assert all(names[i] == name for i, name in CRABS.items())


def test_index_exact_name_and_comma_union():
    assert resolve_classes("118") == [118]
    assert resolve_classes("Rock Crab") == [119]
    assert resolve_classes("espresso, 968") == [967, 968]


def test_unknown_class_lists_the_closest_names():
    with pytest.raises(UnknownClassError, match="'crab'"):
        resolve_classes("crabb")
    with pytest.raises(UnknownClassError, match="out of range"):
        resolve_classes("1000")


def test_cli_classes_crab_prints_the_five_lines(capsys):
    assert main(["classes", "crab"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [(int(l.split(None, 1)[0]), l.split(None, 1)[1]) for l in lines] == list(CRABS.items())


def test_cli_classify_a_png_prints_top_classes_and_residual(tmp_path, capsys):
    path = tmp_path / "chelsea.png"
    Image.fromarray(data.chelsea()).save(path)
    assert main(["classify", str(path), "--top", "3", "--device", "cpu"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(str(path)) and "residual" in out[0]
    assert len(out) == 4 and 281 <= int(out[1].split()[0]) <= 285
    assert 0 < float(out[1].split()[-1]) <= 1


@pytest.mark.parametrize("argv, message", [
    (["classify", "/nonexistent/x.png"], "no image file"),
    (["classes", "zzzqqq"], "no ImageNet class"),
    (["layers", "--model", "nope"], "unknown model"),
])
def test_cli_user_errors_are_one_line_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("genart: error: ") and message in err and err.count("\n") == 1


def test_cli_models_and_layers(capsys):
    assert main(["models"]) == 0
    assert "efficientnet-lite0     yes" in capsys.readouterr().out
    assert main(["layers"]) == 0
    out = capsys.readouterr().out
    assert "blocks.15" in out and "1280×7×7" in out
