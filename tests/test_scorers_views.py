"""Random views: seeded, inside their ranges, exact on hand-computed views, differentiable."""
import math

import pytest
import torch

from scorers import ScorerError, Views, apply_views, draw_views, identity_views, no_views


def images_of(n: int, h: int, w: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(seed))


def view(side: float, angle: float = 0.0, centre=(0.0, 0.0), mirror: bool = False) -> Views:
    """One hand-made view (the same parametrisation draw_views uses)."""
    m = -1.0 if mirror else 1.0
    c, s = math.cos(angle) * side, math.sin(angle) * side
    return Views(torch.tensor([[[c * m, -s, centre[0]], [s * m, c, centre[1]]]]))


def test_same_seed_same_views_and_other_seeds_differ():
    a, b, c = draw_views(8, 3), draw_views(8, 3), draw_views(8, 4)
    assert a.matrices.shape == (8, 2, 3) and a.count == 8
    assert torch.equal(a.matrices, b.matrices)
    assert not torch.allclose(a.matrices, c.matrices)
    torch.manual_seed(0)                                  # the global RNG is left alone
    draw_views(8, 5)
    after = torch.rand(1)
    torch.manual_seed(0)
    assert torch.equal(torch.rand(1), after)


def test_drawn_views_stay_in_their_ranges():
    views = draw_views(500, 1)
    linear = views.matrices[:, :, :2]                                     # (K, 2, 2)
    side = linear.det().abs().sqrt()
    angle = torch.atan2(linear[:, 1, 0], linear[:, 1, 1])
    assert 0.55 - 1e-6 <= side.min() and side.max() <= 1.0 + 1e-6
    assert side.max() - side.min() > 0.4                                  # the range is used
    assert angle.abs().max() <= math.radians(15) + 1e-6 and angle.abs().max() > math.radians(14)
    mirrored = (linear.det() < 0).float().mean()
    assert 0.4 < mirrored < 0.6
    centre = views.matrices[:, :, 2]
    assert (centre.abs() <= (1 - side[:, None]) + 0.1 + 1e-6).all()       # shift ≤ 5 % of a side
    assert not draw_views(50, 1, flip=False).matrices[:, :, :2].det().lt(0).any()


def test_identity_mirror_and_crop_views_are_exact():
    images = images_of(2, 64, 64)
    assert torch.allclose(apply_views(images, identity_views(), 64), images, atol=2e-5)
    assert torch.allclose(apply_views(images, view(1.0, mirror=True), 64), images.flip(-1),
                          atol=2e-5)
    quadrant = apply_views(images, view(0.5, centre=(-0.5, -0.5)), 32)   # top-left quarter
    assert torch.allclose(quadrant, images[..., :32, :32], atol=2e-5)
    wide = images_of(1, 64, 128)                                          # the central square
    assert torch.allclose(apply_views(wide, identity_views(), 64), wide[..., 32:96], atol=2e-5)


def test_rotation_by_a_quarter_turn_matches_rot90():
    images = images_of(1, 32, 32)
    turned = apply_views(images, view(1.0, angle=math.pi / 2), 32)
    assert torch.allclose(turned, images.rot90(1, (-2, -1)), atol=1e-5)


def test_views_are_view_major_and_at_the_requested_size():
    images = images_of(3, 48, 48)
    views = draw_views(4, 7)
    batch = apply_views(images, views, 40)
    assert batch.shape == (12, 3, 40, 40)
    for k in range(4):
        one = Views(views.matrices[k:k + 1])
        assert torch.allclose(batch[k * 3 + 1], apply_views(images[1:2], one, 40)[0], atol=2e-5)


def test_no_views_is_the_image_resized():
    images = images_of(2, 64, 64)
    assert no_views().per_image == 1
    assert apply_views(images, no_views(), 64) is images
    assert apply_views(images, no_views(), 32).shape == (2, 3, 32, 32)


def test_wide_view_of_a_fine_render_does_not_alias():
    stripes = (torch.arange(512) % 2).float().expand(1, 3, 512, 512).contiguous()  # 1-px stripes
    seen = apply_views(stripes, view(1.0, angle=0.1), 64)
    assert (seen - 0.5).abs().max() < 0.1                                 # grey, not stripes


def test_gradient_reaches_the_pixels():
    images = images_of(2, 32, 32).requires_grad_()
    apply_views(images, draw_views(3, 0), 48).square().mean().backward()
    assert torch.isfinite(images.grad).all() and (images.grad.abs().sum((1, 2, 3)) > 0).all()


def test_gradient_reaches_a_formulas_constants():
    from genart import constants_of, parse, render_batch

    genome = parse("rgb(sin(mul(3.0, x)), cos(mul(2.0, y)), sin(add(r, 0.5)))")
    constants = torch.tensor(constants_of(genome), requires_grad=True)
    images = render_batch([genome], 32, torch.device("cpu"), constants=[constants])
    apply_views(images, draw_views(2, 1), 40)[:, 0].mean().backward()
    assert constants.grad is not None and constants.grad.abs().sum() > 0


def test_bad_view_settings_are_errors():
    with pytest.raises(ScorerError, match="0 or more"):
        draw_views(-1, 0)
    with pytest.raises(ScorerError, match="crop scale"):
        draw_views(2, 0, scale=(0.0, 1.0))
