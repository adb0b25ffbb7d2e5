"""Random views: seeded, inside their ranges, exact on hand-computed views, differentiable."""
import math
from dataclasses import replace

import pytest
import torch

from scorers import ScorerError, Views, apply_views, draw_views, identity_views, no_views
from scorers.views import grey_images


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


# --- views that take colour and texture away (issue 20 item 3) -------------------------------

ALL_KINDS = {"grey": 0.5, "jitter": 0.5, "blur": 0.5, "thumb": 0.5}


@pytest.mark.parametrize("kind", ["grey", "jitter", "blur", "thumb"])
def test_each_appearance_is_seeded_and_changes_the_view(kind):
    images = images_of(2, 48, 48, seed=1)
    a, b = draw_views(6, 3, **{kind: 1.0}), draw_views(6, 3, **{kind: 1.0})
    other = draw_views(6, 4, **{kind: 1.0})
    seen = apply_views(images, a, 40)
    assert torch.equal(seen, apply_views(images, b, 40))                 # same seed, same tensors
    assert not torch.allclose(seen, apply_views(images, other, 40), atol=1e-3)
    plain = apply_views(images, draw_views(6, 3), 40)                     # the same crops, as is
    assert not torch.allclose(seen, plain, atol=1e-3)
    assert (seen - plain).flatten(1).abs().amax(1).gt(1e-3).all()        # every view changed


def test_appearance_never_moves_the_crops_and_fixed_views_have_none():
    plain, kinds = draw_views(16, 9), draw_views(16, 9, **ALL_KINDS)
    assert torch.equal(plain.matrices, kinds.matrices)
    assert plain.grey is plain.colour is plain.blur is plain.thumb is None
    more = draw_views(16, 9, grey=0.9)                # raising a chance only adds views of it
    assert (kinds.grey <= more.grey).all() and more.grey.sum() > kinds.grey.sum()
    assert 0 < kinds.grey.sum() < 16 and kinds.redraw(9).chances == kinds.chances


def test_grey_views_are_grey_and_luminance():
    images = images_of(3, 40, 56, seed=2)
    views = draw_views(5, 1, grey=1.0, blur=0.5, jitter=0.5)
    seen = apply_views(images, views, 32)
    assert torch.equal(seen[:, 0], seen[:, 1]) and torch.equal(seen[:, 1], seen[:, 2])
    colour = apply_views(images, draw_views(5, 1), 32)                   # luminance, by hand
    luma = 0.299 * colour[:, 0] + 0.587 * colour[:, 1] + 0.114 * colour[:, 2]
    only_grey = apply_views(images, draw_views(5, 1, grey=1.0), 32)
    assert torch.allclose(only_grey[:, 0], luma, atol=1e-5)
    greyed_first = apply_views(grey_images(images), draw_views(5, 1), 32)   # the audit's way
    assert torch.allclose(greyed_first, only_grey, atol=1e-5)


def test_jitter_keeps_grey_pixels_grey_and_moves_colours():
    grey = torch.full((1, 3, 16, 16), 0.4)
    seen = apply_views(grey, draw_views(8, 2, jitter=1.0), 16)           # brightness alone
    assert torch.allclose(seen[:, 0], seen[:, 1], atol=1e-5)
    assert seen[:, 0, 0, 0].std() > 0.01                                 # brightness differs
    red = torch.zeros(1, 3, 16, 16)
    red[:, 0] = 0.8
    hues = apply_views(red, draw_views(8, 2, jitter=1.0), 16)[:, :, 8, 8]   # (8, 3)
    assert (hues[:, 1:] > 0.01).any(1).float().mean() > 0.5              # red turned or paled


def test_blur_and_thumbnail_take_fine_texture_away():
    checks = ((torch.arange(128)[:, None] + torch.arange(128)[None]) % 2).float()
    checks = checks.expand(1, 3, 128, 128).contiguous()                 # 1-px checkerboard
    plain = apply_views(checks, identity_views(), 128)

    def texture(x):   # mean absolute difference of horizontal neighbours
        return (x[..., 1:] - x[..., :-1]).abs().mean().item()
    for kind in ("blur", "thumb"):
        one = draw_views(1, 0, **{kind: 1.0})
        seen = apply_views(checks, replace(one, matrices=identity_views().matrices), 128)
        assert texture(seen) < 0.5 * texture(plain), kind
        assert abs(seen.mean().item() - 0.5) < 0.05, kind               # mean brightness kept
    flat = torch.full((2, 3, 40, 40), 0.3)
    seen = apply_views(flat, draw_views(4, 1, blur=1.0, thumb=1.0), 32)
    assert seen.shape == (8, 3, 32, 32) and torch.allclose(seen, torch.full_like(seen, 0.3))


def test_bad_appearance_chances_are_errors():
    with pytest.raises(ScorerError, match="grey view"):
        draw_views(2, 0, grey=1.5)
    with pytest.raises(ScorerError, match="thumb view"):
        draw_views(2, 0, thumb=-0.1)


def test_gradient_reaches_constants_through_every_kind_and_the_model(lite0):
    from genart import constants_of, parse, render_batch

    genome = parse("rgb(sin(mul(3.0, x)), cos(mul(2.0, y)), sin(add(r, 0.5)))")
    constants = torch.tensor(constants_of(genome), requires_grad=True)
    images = render_batch([genome], 48, torch.device("cpu"), constants=[constants])
    for kind in ("grey", "jitter", "blur", "thumb"):
        constants.grad = None
        views = draw_views(2, 5, **{kind: 1.0})
        images = render_batch([genome], 48, torch.device("cpu"), constants=[constants])
        lite0.logits(apply_views(images, views, 64), resize=False)[:, 118].sum().backward()
        assert constants.grad is not None and constants.grad.abs().sum() > 0, kind
        assert torch.isfinite(constants.grad).all(), kind


def test_the_ensemble_redraws_with_the_same_chances(lite0):
    from scorers import EnsembleObjective

    objective = EnsembleObjective([lite0], "crab", draw_views(4, 1, grey=1.0, blur=0.5))
    again = objective.redrawn(2)
    assert again.views.chances == (1.0, 0.0, 0.5, 0.0) and again.views.grey.all()
    assert not torch.equal(again.views.matrices, objective.views.matrices)
