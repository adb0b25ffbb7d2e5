"""TV naturalness: the torch Chambolle against skimage, the reference."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import data
from skimage.restoration import denoise_tv_chambolle

from scorers import Naturalness, spectral_slope, tv_denoise, tv_residual

PHOTOS = ("astronaut", "camera", "chelsea", "coffee", "coins", "hubble_deep_field",
          "immunohistochemistry", "moon", "rocket", "text", "colorwheel", "grass", "gravel",
          "brick")


def photo(name: str) -> torch.Tensor:
    """(3, H, W) float in [0, 1] from a photo shipped with scikit-image."""
    array = getattr(data, name)()
    if array.ndim == 2:
        array = np.stack([array] * 3, -1)
    return torch.from_numpy(array[..., :3].copy()).permute(2, 0, 1).float() / 255


def formula_images(n: int, size: int, seed: int) -> torch.Tensor:
    """(n, 3, size, size) formula-like renders: sums of sines of x, y, r at random frequencies,
    from smooth to noisy (high frequencies alias into pixel static)."""
    g = torch.Generator().manual_seed(seed)
    y, x = torch.meshgrid(torch.linspace(-1, 1, size), torch.linspace(-1, 1, size),
                          indexing="ij")
    r = (x * x + y * y).sqrt()
    images = []
    for k in range(n):
        top = [2.0, 8.0, 40.0, 200.0][k % 4]           # frequency range: smooth → static
        f = torch.rand(3, 3, generator=g) * top        # (channel, term)
        phase = torch.rand(3, 1, 1, generator=g) * 6.3
        value = (torch.sin(f[:, 0, None, None] * x + phase) + torch.sin(f[:, 1, None, None] * y)
                 + torch.cos(f[:, 2, None, None] * r * 3))
        images.append(torch.sigmoid(value))
    return torch.stack(images)


def dataset(size: int = 96) -> torch.Tensor:
    """≥ 50 test images: photo resizes and crops, formula renders and noise. (N, 3, S, S)."""
    views = []
    for name in PHOTOS:
        image = photo(name)
        views.append(F.interpolate(image[None], size=(size, size), mode="bilinear",
                                   antialias=True)[0])
        views.append(image[:, :size, :size])
        h, w = image.shape[1:]
        views.append(image[:, h // 2 - size // 2:h // 2 + size // 2,
                           w // 2 - size // 2:w // 2 + size // 2])
    g = torch.Generator().manual_seed(1)
    noise = [torch.rand(3, size, size, generator=g) * a for a in (0.05, 0.2, 1.0)]
    return torch.cat([torch.stack(views), formula_images(16, size, 0), torch.stack(noise)])


def test_torch_chambolle_with_skimage_stopping_rule_matches_skimage():
    images = dataset(48)[::9]                                   # (N, 3, 48, 48)
    ours = tv_denoise(images, weight=0.1, iterations=200, eps=2e-4)
    for image, mine in zip(images, ours):
        ref = denoise_tv_chambolle(image.permute(1, 2, 0).numpy(), weight=0.1,
                                   channel_axis=-1)
        assert np.abs(mine.permute(1, 2, 0).numpy() - ref).max() < 1e-5


def test_fast_residual_tracks_exact_on_photos_and_renders():
    images = dataset(96)
    assert len(images) >= 50
    fast = tv_residual(images, 0.1, "fast")
    exact = tv_residual(images, 0.1, "exact")
    correlation = torch.corrcoef(torch.stack([fast, exact]))[0, 1].item()
    print(f"fast vs exact on {len(images)} images: r={correlation:.4f}, "
          f"mean |diff|={(fast - exact).abs().mean():.5f}, exact mean={exact.mean():.4f}")
    assert correlation >= 0.99
    assert exact.min() < 0.01 < 0.1 < exact.max()               # the set spans smooth → static


def test_residual_is_small_for_smooth_and_large_for_noise():
    smooth, = formula_images(1, 64, 3)[None]
    noise = torch.rand(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    residual = tv_residual(torch.cat([smooth, noise]))
    assert residual[0] < 0.01 and residual[1] > 0.1


def test_penalty_soft_and_gate():
    residual = torch.tensor([0.01, 0.05, 0.2])
    objective = torch.tensor([0.9, 0.8, 0.7])
    soft = Naturalness(lam=2.0, tau=0.05)
    assert torch.allclose(soft.penalty(residual), torch.tensor([0.0, 0.0, 0.3]))
    assert torch.allclose(soft.apply(objective, residual), torch.tensor([0.9, 0.8, 0.4]))
    gate = Naturalness(weight=0.2, tau=0.05, gate=True)
    assert torch.equal(gate.apply(objective, residual), torch.tensor([0.9, 0.0, 0.0]))


def test_relative_penalty_scales_a_probability_and_subtracts_from_a_log_score():
    residual = torch.tensor([0.0, 0.3, 0.3, 0.3])
    objective = torch.tensor([0.006, 0.02, -2.0, 0.0])          # flat image first
    soft = Naturalness(lam=2.0, tau=0.05)
    relative = Naturalness(lam=2.0, tau=0.05, relative=True)
    assert soft.apply(objective, residual)[1] < soft.apply(objective, residual)[0]   # the trap
    fitness = relative.apply(objective, residual)
    assert fitness[0] < fitness[1] == pytest.approx(0.02 * math.exp(-0.5))
    assert fitness[2] == pytest.approx(-2.5) and fitness[3] == pytest.approx(-0.5)


def test_fast_residual_has_gradient():
    images = formula_images(2, 32, 5).requires_grad_()
    residual = tv_residual(images)
    residual.sum().backward()
    assert torch.isfinite(images.grad).all() and images.grad.abs().sum() > 0
    with torch.inference_mode():                       # the in-place path gives the same values
        assert torch.allclose(tv_residual(images.detach()), residual.detach(), atol=1e-6)


@pytest.mark.parametrize("gate", [False, True])
def test_penalised_traces_only_the_penalised_images_and_matches_apply(gate):
    """Smooth renders (under τ) and static (over τ): same fitness and same image gradients as
    the full differentiable residual, while a batch all under τ records no TV graph."""
    images = torch.cat([formula_images(4, 48, 2)[:2],
                        torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(3))])
    natural = Naturalness(lam=2.0, tau=0.05, gate=gate)
    objective_of = lambda x: x.mean((1, 2, 3)) * 3                  # noqa: E731
    grads, fitness = [], []
    for traced in (lambda x: natural.apply(objective_of(x), natural.residual(x)),
                   lambda x: natural.penalised(objective_of(x), x)):
        x = images.clone().requires_grad_(True)
        value = traced(x)
        value.sum().backward()
        grads.append(x.grad)
        fitness.append(value.detach())
    residual = tv_residual(images)
    assert (residual[:2] < 0.05).all() and residual[2] > 0.05
    assert torch.allclose(fitness[0], fitness[1], atol=1e-6)
    assert torch.allclose(grads[0], grads[1], atol=1e-6)
    assert not torch.allclose(grads[1][2], torch.full_like(grads[1][2], 3 / images[0].numel()))
    smooth = images[:2].clone().requires_grad_(True)
    assert "SqrtBackward0" in graph_nodes(natural.residual(smooth))   # Chambolle's |∇| ...
    assert "SqrtBackward0" not in graph_nodes(natural.penalised(objective_of(smooth), smooth))


def graph_nodes(value: torch.Tensor) -> set[str]:
    """Names of every autograd node behind value."""
    seen, stack, names = set(), [value.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        names.add(node.name())
        stack += [f for f, _ in node.next_functions]
    return names


def test_unknown_mode_is_an_error():
    with pytest.raises(ValueError, match="fast"):
        tv_residual(torch.rand(1, 3, 8, 8), mode="slow")


NATURAL = ("astronaut", "camera", "chelsea", "coffee", "coins", "immunohistochemistry", "moon",
           "rocket")   # photographs of scenes and objects (not the textures grass, gravel, brick)


def test_spectral_slope_of_photos_is_natural_and_of_noise_is_flat():
    photos = torch.stack([F.interpolate(photo(name)[None], size=(224, 224), mode="bilinear",
                                        antialias=True)[0] for name in NATURAL])
    slopes = spectral_slope(photos)
    assert ((-1.5 <= slopes) & (slopes <= -0.8)).all(), dict(zip(NATURAL, slopes.tolist()))
    noise = torch.rand(4, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    assert spectral_slope(noise).abs().max() < 0.1
    assert spectral_slope(photo("camera")[None]).item() == pytest.approx(slopes[1].item(), abs=0.1)


def test_spectral_slope_ranks_smooth_below_natural_below_static():
    smooth, _, _, static = formula_images(4, 128, 0)      # frequency ranges 2 … 200
    slopes = spectral_slope(torch.stack([smooth, static]))
    assert slopes[0] < -1.5 and slopes[1] > -0.8
    flat = torch.full((1, 3, 32, 32), 0.4)
    assert spectral_slope(flat).item() == 0.0             # no structure, no slope


def test_spectral_slope_ignores_contrast_and_brightness():
    image = F.interpolate(photo("coffee")[None], size=(96, 128), mode="bilinear", antialias=True)
    slopes = spectral_slope(torch.cat([image, 0.5 * image + 0.2]))
    assert slopes[0].item() == pytest.approx(slopes[1].item(), abs=1e-4)
