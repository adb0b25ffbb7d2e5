"""The renderer against hand-computed grids and the one-pixel Python reference semantics."""
import math

import pytest
import torch
import torch.nn.functional as F
from deap import gp

from genart import (PSET, GenartError, constants_of, parse, random_genomes, render_batch,
                    with_constants)
from genart.plan import sharing


def squash(v):
    return 0.5 + 0.5 * torch.tanh(torch.as_tensor(v, dtype=torch.float64))


def render(text, size, **kw):
    return render_batch([parse(text)], size, "cpu", **kw)[0].double()


def test_add_x_y_on_a_non_square_grid():
    # 2 rows x 3 columns: the shorter side (2 rows) spans [-1, 1]; pixel centres; y points up.
    x = torch.tensor([-1.0, 0.0, 1.0]).view(1, 3)
    y = torch.tensor([0.5, -0.5]).view(2, 1)
    image = render("add(x, y)", (2, 3))
    assert image.shape == (3, 2, 3)
    for c in range(3):
        torch.testing.assert_close(image[c], squash(x + y).expand(2, 3), atol=1e-6, rtol=0)


def test_terminals_and_constants_by_hand():
    xs = torch.tensor([-0.75, -0.25, 0.25, 0.75])                 # 4 x 4 pixel centres
    x, y = xs.view(1, 4).expand(4, 4), xs.flip(0).view(4, 1).expand(4, 4)
    cases = {"r": torch.sqrt(x * x + y * y), "theta": torch.atan2(y, x),
             "mul(x, 2.0)": 2 * x, "sub(y, abs(x))": y - x.abs(),
             "div(x, 0.0)": x, "if_pos(x, 1.0, -1.0)": torch.where(x > 0, 1.0, -1.0)}
    for text, want in cases.items():
        torch.testing.assert_close(render(text, 4)[0], squash(want), atol=1e-6, rtol=0,
                                   msg=text)
    colour = render("colour(1.0, 0.0, -1.0)", 4)
    assert torch.allclose(colour[:, 0, 0], squash([1.0, 0.0, -1.0]), atol=1e-6)
    tall = render("y", (4, 2))                                     # width 2 spans [-1, 1]
    assert torch.allclose(tall[0, :, 0], squash([1.5, 0.5, -0.5, -1.5]), atol=1e-6)


REFERENCE_FORMULAS = [
    "hsv(mul(x, 3.0), y, r)", "noise(mul(x, 2.0), add(y, 0.3))",
    "rgb(sin(mul(x, 5.0)), cos(theta), log(r))", "sqrt(sub(y, x))",
    "max(tanh(mul(x, y)), min(x, colour(0.2, -0.4, 0.9)))",
    "noise(rgb(x, y, r), colour(0.5, 0.25, -0.125))", "noise(add(x, 72.2), mul(y, -72.24))",
    # colour sub-trees read on one channel (computed on that channel alone)
    "rgb(sin(add(x, colour(0.1, 0.5, 0.9))), hsv(y, colour(0.2, 0.4, 0.6), r), noise(rgb(x, y, r), y))",
    "hsv(rgb(x, add(y, colour(0.3, -0.2, 0.5)), r), if_pos(x, colour(1.0, 0.5, 0.0), y), tanh(r))",
    "mod(div(x, sub(y, colour(0.13, 0.021, -0.11))), max(r, colour(0.05, 0.37, 2.0)))",
]


@pytest.mark.parametrize("text", REFERENCE_FORMULAS)
def test_renderer_matches_per_pixel_reference(text):
    """The one-pixel Python functions (what DEAP's gp.compile runs) are the reference."""
    size, image = 9, render(text, 9)
    func = gp.compile(parse(text), PSET)
    for i in range(size):
        for j in range(size):
            x, y = (2 * j + 1 - size) / size, (size - 2 * i - 1) / size
            value = func(x, y, math.hypot(x, y), math.atan2(y, x))
            value = value if isinstance(value, tuple) else (value,) * 3
            torch.testing.assert_close(image[:, i, j], squash(value), atol=1e-4, rtol=0)


def test_many_random_genomes_are_finite_in_range_and_round_trip():
    genomes = random_genomes(2000, seed=11, min_depth=1, max_depth=8)
    for start in range(0, 2000, 250):
        batch = genomes[start:start + 250]
        images = render_batch(batch, 16, "cpu")
        assert images.shape == (len(batch), 3, 16, 16) and images.dtype == torch.float32
        assert torch.isfinite(images).all()
        assert images.min() >= 0 and images.max() <= 1
        again = [parse(str(g)) for g in batch]
        assert [str(g) for g in again] == [str(g) for g in batch]
        assert torch.equal(render_batch(again, 16, "cpu"), images)


def test_shared_subtrees_render_like_separate_calls():
    genomes = [parse("sin(mul(x, 3.0))"), parse("add(sin(mul(x, 3.0)), y)"),
               parse("sin(mul(x, 3.0))")]
    together = render_batch(genomes, 8, "cpu")
    alone = torch.cat([render_batch([g], 8, "cpu") for g in genomes])
    assert torch.equal(together, alone)
    assert sharing(genomes) == (3, 7)          # mul, sin, add computed once each


def test_colour_subtrees_read_on_one_channel_render_like_whole_ones():
    shared = "sin(add(mul(x, 3.0), colour(0.1, 0.5, 0.9)))"
    genomes = [parse(f"rgb({shared}, y, r)"), parse(shared),
               parse(f"rgb(x, hsv(y, {shared}, r), cos(r))")]
    together = render_batch(genomes, 8, "cpu")
    alone = torch.cat([render_batch([g], 8, "cpu") for g in genomes])
    torch.testing.assert_close(together, alone, atol=1e-6, rtol=0)
    # the inner rgb is read on red only: its green and blue arguments are never computed
    assert sharing([parse("rgb(rgb(x, sin(y), cos(y)), y, r)")]) == (2, 4)


def test_noise_is_resolution_independent():
    # Point-sampled 64^2 vs 1024^2 box-filtered down: mean |diff| < 0.005, max < 0.06 (measured
    # 0.0014 / 0.047; a noise cell is 8 px at 64^2). With --aa 4: mean < 5e-4, max < 0.005.
    text = "hsv(noise(x, y), noise(y, add(x, 3.0)), noise(mul(x, 0.5), r))"
    small = render(text, 64)
    big = F.avg_pool2d(render(text, 1024).unsqueeze(0), 16)[0]
    difference = (big - small).abs()
    assert difference.mean() < 0.005 and difference.max() < 0.06
    difference = (big - render(text, 64, antialias=4)).abs()
    assert difference.mean() < 5e-4 and difference.max() < 0.005


def test_antialias_shape_range_and_effect():
    text = "if_pos(sin(mul(x, 40.0)), 1.0, -1.0)"                  # hard stripes alias badly
    plain, smooth = render(text, 32), render(text, 32, antialias=4)
    assert smooth.shape == (3, 32, 32) and 0 <= smooth.min() and smooth.max() <= 1
    assert len(torch.unique(smooth)) > len(torch.unique(plain))


def test_row_bands_match_one_pass():
    genomes = random_genomes(6, seed=2)
    whole = render_batch(genomes, 48, "cpu", antialias=2)
    banded = render_batch(genomes, 48, "cpu", antialias=2, budget_bytes=2 * 2**20)
    torch.testing.assert_close(banded, whole, atol=1e-6, rtol=0)   # SIMD tails may differ


def test_memory_guard_refuses_before_allocating():
    with pytest.raises(GenartError, match=r"needs .* GiB, budget 4.0 GiB; use a smaller"):
        render_batch(random_genomes(4, seed=0), 60_000, "cpu", antialias=4)
    with pytest.raises(GenartError, match="size"):
        render_batch(random_genomes(1, seed=0), 0, "cpu")
    with pytest.raises(GenartError, match="antialias"):
        render_batch(random_genomes(1, seed=0), 8, "cpu", antialias=0)


def test_gradients_reach_the_constants_and_write_back():
    genomes = [parse("hsv(mul(x, 2.0), sin(add(mul(y, 3.0), 0.5)), noise(x, mul(y, 1.5)))"),
               parse("mul(colour(0.2, 0.4, 0.6), div(x, 0.7))")]
    values = [torch.tensor(constants_of(g), requires_grad=True) for g in genomes]
    images = render_batch(genomes, 16, "cpu", constants=values)
    images.mean().backward()
    for v in values:
        assert torch.isfinite(v.grad).all() and v.grad.abs().sum() > 0
    assert torch.equal(images.detach(), render_batch(genomes, 16, "cpu"))
    same = [with_constants(g, constants_of(g)) for g in genomes]
    assert torch.equal(render_batch(same, 16, "cpu"), render_batch(genomes, 16, "cpu"))
    tuned = with_constants(genomes[1], [0.5, 0.5, 0.5, 2.0])
    assert str(tuned) == "mul(colour(0.5, 0.5, 0.5), div(x, 2.0))"
    with pytest.raises(GenartError):
        with_constants(genomes[1], [1.0])


def test_gradients_finite_on_random_genomes():
    genomes = random_genomes(40, seed=5, max_depth=6)
    values = [torch.tensor(constants_of(g), requires_grad=True) for g in genomes]
    render_batch(genomes, 12, "cpu", constants=values).sum().backward()
    for v in values:
        assert v.grad is None or torch.isfinite(v.grad).all()


@pytest.mark.gpu
def test_cuda_matches_cpu(cuda_device):
    genomes = random_genomes(16, seed=4)
    on_gpu = render_batch(genomes, 32, cuda_device, antialias=2)
    assert on_gpu.device.type == "cuda"
    difference = (on_gpu.cpu() - render_batch(genomes, 32, "cpu", antialias=2)).abs()
    assert (difference > 1e-3).float().mean() < 0.01     # mod / if_pos edges may flip


def test_gradient_render_after_an_inference_mode_render():
    """Cached lattice tables built under inference_mode must not poison later autograd."""
    genome = parse("noise(mul(x, 2.5), hsv(y, 0.5, r))")
    with torch.inference_mode():
        render_batch([genome], 16, "cpu")
    constants = torch.tensor(constants_of(genome), requires_grad=True)
    render_batch([genome], 16, "cpu", constants=[constants]).mean().backward()
    assert torch.isfinite(constants.grad).all() and constants.grad.abs().sum() > 0
