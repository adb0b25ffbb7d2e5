"""DeepDream on the real EfficientNet-Lite0: ascent raises the objective, tiles agree, any size,
and the result matches a plain deepdream-notebook loop written here as the reference."""
import random

import pytest
import skimage.data
import torch
import torch.nn.functional as F
from torch import nn

from scorers import ClassObjective, LayerObjective, ScorerError
from scorers.dream import (DEFAULT_DREAM_LAYER, MixObjective, GuideObjective, dream,
                           dream_layers, relu6_passthrough, tiled_gradient, total_variation)


def photo(size: int) -> torch.Tensor:
    """skimage's astronaut, (3, size, size) in [0, 1]."""
    image = torch.from_numpy(skimage.data.astronaut()).permute(2, 0, 1).float() / 255
    return F.interpolate(image[None], size=(size, size), mode="bilinear", antialias=True)[0]


@pytest.mark.parametrize("make", [
    lambda m: LayerObjective(m, "blocks.5", reduce="l2"),
    lambda m: LayerObjective(m, "blocks.8", channels=[3, 17, 40], reduce="l2"),
    lambda m: ClassObjective(m, "crab", log=True),
], ids=["layer", "channels", "class"])
def test_objective_rises_and_output_in_range(lite0, make):
    objective, image = make(lite0), photo(96)
    out = dream(image, objective, octaves=2, steps=3, step_size=0.02, jitter=8, seed=3)
    with torch.no_grad():
        before, after = objective(image[None]).item(), objective(out[None]).item()
    assert after > before + 0.05 * abs(before) + 1e-3, (before, after)
    assert out.shape == image.shape and out.min() >= 0 and out.max() <= 1


def test_same_seed_same_dream(lite0):
    objective, image = LayerObjective(lite0, "blocks.5", reduce="l2"), photo(96)
    first = dream(image, objective, octaves=2, steps=3, jitter=8, seed=3)
    assert torch.equal(first, dream(image, objective, octaves=2, steps=3, jitter=8, seed=3))
    assert not torch.equal(first, dream(image, objective, octaves=2, steps=3, jitter=8, seed=4))


def test_tiled_gradient_matches_untiled_on_512(lite0):
    """Tile 256 vs whole 512² image, L2 objective. At blocks.3 (receptive field < 32 px) the
    gradient is the same away from seams (rel. L2 2e-5 farther than 32 px, asserted < 1e-3) and
    0.22 overall (seam padding); at blocks.8 seams reach farther: correlation 0.93, asserted
    > 0.9."""
    image = photo(512)[None]
    whole = tiled_gradient(image, LayerObjective(lite0, "blocks.3", reduce="l2"), None)
    tiled = tiled_gradient(image, LayerObjective(lite0, "blocks.3", reduce="l2"), 256)
    far = torch.ones(512, 512, dtype=torch.bool)
    far[224:288, :] = False
    far[:, 224:288] = False
    assert ((tiled - whole)[..., far].norm() / whole[..., far].norm()) < 1e-3
    assert ((tiled - whole).norm() / whole.norm()) < 0.25
    whole = tiled_gradient(image, LayerObjective(lite0, "blocks.8", reduce="l2"), None)
    tiled = tiled_gradient(image, LayerObjective(lite0, "blocks.8", reduce="l2"), 256)
    assert torch.corrcoef(torch.stack([whole.flatten(), tiled.flatten()]))[0, 1] > 0.9


def test_2048_dream_completes_on_cpu(lite0):
    image = photo(2048)
    steps = []
    out = dream(image, LayerObjective(lite0, "blocks.0", reduce="l2"), octaves=1, steps=1,
                tile=512, progress=lambda done, total: steps.append((done, total)))
    assert out.shape == (3, 2048, 2048) and 0 <= out.min() and out.max() <= 1
    assert (out - image).abs().mean() > 1e-3 and steps == [(1, 1)]


def test_mix_guide_and_smoothness(lite0):
    image, guide = photo(96), photo(64).flip(-1)
    layer = LayerObjective(lite0, "blocks.4", reduce="l2")
    mix = MixObjective([(1.0, layer), (0.5, ClassObjective(lite0, "crab", log=True))])
    with torch.no_grad():
        assert torch.allclose(mix(image[None]), layer(image[None]) + 0.5 * mix.terms[1][1](image[None]))
    matched = GuideObjective(lambda x: lite0.activations(x, "blocks.4"), guide)
    out = dream(image, layer, guide=guide, octaves=1, steps=4, step_size=0.02, jitter=4)
    with torch.no_grad():
        assert matched(out[None]) > matched(image[None])
    rough = dream(image, layer, octaves=1, steps=4, step_size=0.02, jitter=4)
    smooth = dream(image, layer, octaves=1, steps=4, step_size=0.02, jitter=4, smoothness=0.7)
    assert total_variation(smooth[None]) < total_variation(rough[None])


def test_relu6_passthrough_restores_the_model(lite0):
    net, image = lite0.net, photo(64)[None]
    before = lite0.logits(image)
    with relu6_passthrough(net) as swapped:
        assert swapped == sum(type(m).__name__ == "PassThroughReLU6" for m in net.modules()) > 0
        assert torch.equal(lite0.logits(image), before)      # same forward
    assert not any(type(m).__name__ == "PassThroughReLU6" for m in net.modules())
    assert sum(type(m) is nn.ReLU6 for m in net.modules()) == swapped


def notebook_dream(model, layer, image, *, octaves=4, scale=1.4, steps=10, step=0.01, jitter=32,
                   seed=0):
    """The deepdream notebook's loop, written plainly: maximise the mean square of the layer's
    activations; octaves by successive bilinear downscaling, detail carried up; each step a
    random roll, a gradient step normalised by mean |gradient|, the roll undone, a clip.
    Rolls are drawn as `dream` draws them (dy then dx from random.Random(seed)), so the two
    runs are paired: with the notebook's own numpy draws the ratio below varies 0.92-1.04 by
    seed (one roll sequence against another), paired it stays within 0.98-1.03."""
    rng = random.Random(seed)
    pyramid = [image[None]]                                          # (1, 3, H, W), largest first
    for _ in range(octaves - 1):
        h, w = pyramid[-1].shape[-2:]
        pyramid.append(F.interpolate(pyramid[-1], size=(round(h / scale), round(w / scale)),
                                     mode="bilinear", align_corners=False))
    detail = torch.zeros_like(pyramid[-1])
    for base in pyramid[::-1]:
        detail = F.interpolate(detail, size=base.shape[-2:], mode="bilinear", align_corners=False)
        x = base + detail
        for _ in range(steps):
            dy, dx = rng.randint(-jitter, jitter), rng.randint(-jitter, jitter)
            x = torch.roll(x, (dy, dx), (-2, -1)).detach().requires_grad_(True)
            (g,) = torch.autograd.grad(model.activations(x, layer).pow(2).mean(), x)
            x = torch.roll(x.detach() + step / g.abs().mean() * g, (-dy, -dx), (-2, -1))
            x = x.clamp(0, 1)
        detail = x - base
    return x[0]


def mean_abs_laplacian(image: torch.Tensor) -> float:
    """High-frequency energy of (3, H, W): mean |4-neighbour Laplacian|."""
    kernel = torch.tensor([[0.0, 1, 0], [1, -4, 1], [0, 1, 0]]).expand(3, 1, 3, 3)
    return float(F.conv2d(image[None], kernel, groups=3).abs().mean())


def test_one_unjittered_step_is_the_notebook_step(lite0):
    image = photo(128)
    ours = dream(image, LayerObjective(lite0, "blocks.8", reduce="l2"), octaves=1, steps=1,
                 jitter=0)
    assert torch.allclose(ours, notebook_dream(lite0, "blocks.8", image, octaves=1, steps=1,
                                               jitter=0), atol=1e-5)


def test_dream_matches_the_notebook_loop(lite0):
    """Acceptance (issue 15): on Lite0 blocks.8, the astronaut at 512², 4 octaves × 10 steps at
    scale 1.4, step 0.01, roll 32, dream reaches >= 0.9x the notebook loop's mean squared
    activation with <= 1.1x its mean |Laplacian|. Measured (paired rolls, seeds 0-3): 0.98-1.01x,
    Laplacian 1.00x; at 256², seeds 0-5: 0.99-1.03x. The old mean objective: 0.69x."""
    layer, image = "blocks.8", photo(512)
    objective = LayerObjective(lite0, layer, reduce="l2")
    ours = dream(image, objective, octaves=4, octave_scale=1.4, steps=10, step_size=0.01,
                 jitter=32, seed=0)
    theirs = notebook_dream(lite0, layer, image, octaves=4, scale=1.4, steps=10, step=0.01,
                            jitter=32, seed=0)
    with torch.no_grad():
        before, ours_sq, theirs_sq = (float(objective(i[None])) for i in (image, ours, theirs))
    assert theirs_sq > 2 * before, (before, theirs_sq)          # 32.4 -> 74.0
    assert ours_sq >= 0.9 * theirs_sq, (ours_sq, theirs_sq)
    assert mean_abs_laplacian(ours) <= 1.1 * mean_abs_laplacian(theirs)


def test_layer_reductions_and_the_layers_that_dream_well(lite0):
    image = photo(64)[None]
    acts = lite0.activations(image, "blocks.8")[:, [3, 17]].float()
    with torch.no_grad():
        l2 = LayerObjective(lite0, "blocks.8", channels=[3, 17], reduce="l2")(image)
        mean = LayerObjective(lite0, "blocks.8", channels=[3, 17])(image)
    assert torch.allclose(l2, acts.pow(2).mean((1, 2, 3)))
    assert torch.allclose(mean, acts.mean((1, 2, 3)))
    with pytest.raises(ScorerError, match="reduction"):
        LayerObjective(lite0, "blocks.8", reduce="max")
    good = dream_layers(lite0.name)
    assert DEFAULT_DREAM_LAYER in good and set(good) <= set(lite0.layer_names)
    assert dream_layers("resnet50") == {}
