"""`genart render` and `genart random` write PNGs whose stored formulas re-render identically."""
import subprocess
import sys

import torch
from PIL import Image

from evolve.cli import main
from genart import parse, read_formula, read_png, render_batch


def as_uint8(image):
    return (image.clamp(0, 1) * 255).round().to(torch.uint8)


def test_render_writes_a_png_that_re_renders(tmp_path, capsys):
    formula = "hsv(noise(x, y), r, mul(theta, 0.5))"
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    assert main(["render", formula, "--size", "48", "--aa", "2", "--device", "cpu",
                 "-o", str(first)]) == 0
    assert read_formula(first) == formula
    image, text = read_png(first)
    assert image.shape == (3, 48, 48) and text["genart_version"]
    again = render_batch([parse(read_formula(first))], 48, "cpu", antialias=2)[0]
    assert torch.equal(as_uint8(image), as_uint8(again))
    source = tmp_path / "f.formula"
    source.write_text(formula + "\n")
    assert main(["render", f"@{source}", "--size", "48", "--aa", "2", "--device", "cpu",
                 "-o", str(second)]) == 0
    assert main(["render", str(first), "--size", "48", "--aa", "2", "--device", "cpu",
                 "-o", str(second)]) == 0
    assert torch.equal(read_png(second)[0], image)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_random_sheet_carries_its_formulas(tmp_path):
    out = tmp_path / "sheet.png"
    assert main(["random", "--n", "4", "--seed", "1", "--size", "32", "--device", "cpu",
                 "-o", str(out)]) == 0
    sheet, text = read_png(out)
    formulas = text["formulas"].splitlines()
    assert len(formulas) == 4 and sheet.shape == (3, 2 * (32 + 14), 64)
    tile = render_batch([parse(formulas[0])], 32, "cpu")[0]
    assert torch.equal(as_uint8(sheet[:, :32, :32]), as_uint8(tile))


def test_bad_formula_from_the_shell_is_one_line_and_exit_2(tmp_path):
    result = subprocess.run([sys.executable, "-m", "evolve", "render", "add(x, nope)",
                             "-o", str(tmp_path / "o.png")], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("genart: error: bad formula at character 7: unknown name")
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "o.png").exists()


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    plain = tmp_path / "plain.png"
    Image.new("RGB", (4, 4)).save(plain)
    cases = {"add(x, sin(y)": "formula ends early", str(tmp_path / "missing.png"): "no such",
             str(plain): "no formula", f"@{tmp_path / 'missing.formula'}": "no such"}
    for source, message in cases.items():
        assert main(["render", source, "--device", "cpu", "-o", str(tmp_path / "o.png")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("genart: error: ") and message in err and err.count("\n") == 1
    assert main(["render", "x", "--size", "90000", "--device", "cpu", "-o", "o.png"]) == 2
    assert "--size" in capsys.readouterr().err
