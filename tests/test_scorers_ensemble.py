"""Ensemble objective and judge on the real EfficientNet-Lite0/1/2, against hand computations."""
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from skimage import data

from scorers import (ClassObjective, EnsembleObjective, Naturalness, ScorerError, apply_views,
                     audit_scores, class_score, draw_views, fitness_of, judge_scores, load_model,
                     no_views, resolve_classes, score_population, view_logits)


@pytest.fixture(scope="module")
def lite1():
    return load_model("efficientnet-lite1", "cpu")


@pytest.fixture(scope="module")
def lite2():
    return load_model("efficientnet-lite2", "cpu")


@pytest.fixture(scope="module")
def cat() -> torch.Tensor:
    """(1, 3, 150, 225): scikit-image's chelsea, a tabby cat, at half size."""
    image = torch.from_numpy(data.chelsea().copy()).permute(2, 0, 1).float()[None] / 255
    return torch.nn.functional.interpolate(image, scale_factor=0.5, antialias=True,
                                           mode="bilinear")


def images_of(n: int, size: int = 96, seed: int = 0) -> torch.Tensor:
    """Smooth random colour fields (blurred noise), (n, 3, size, size)."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 6, 6, generator=g)
    return torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic").clamp(0, 1)


class InputShapes:
    """Records the input shape of every forward of each network (a forward pre-hook)."""

    def __init__(self, *models):
        self.seen = {m.name: [] for m in models}
        self.handles = [m.net.register_forward_pre_hook(self._hook(m.name)) for m in models]

    def _hook(self, name):
        return lambda _module, inputs: self.seen[name].append(tuple(inputs[0].shape))

    def __enter__(self):
        return self

    def __exit__(self, *_):
        for handle in self.handles:
            handle.remove()


def test_every_model_sees_its_own_native_size(lite0, lite1, lite2):
    objective = EnsembleObjective([lite0, lite1], "crab", draw_views(3, 0))
    with InputShapes(lite0, lite1, lite2) as shapes:
        objective.evaluate(images_of(2, 128))
        judge_scores(images_of(2, 128), lite2, "crab", draw_views(5, 1))
    for model, size, views in ((lite0, 224, 3 * 2), (lite1, 240, 3 * 2), (lite2, 260, 5 * 2)):
        seen = shapes.seen[model.name]
        assert {s[1:] for s in seen} == {(3, size, size)}, (model.name, seen)
        assert sum(s[0] for s in seen) == views          # K views of N images, nothing else


def test_ensemble_score_is_the_mean_margin_over_views_and_models(lite0, lite1):
    images, views = images_of(3), draw_views(2, 5)
    classes = resolve_classes("crab", lite0.class_names)
    objective = EnsembleObjective([lite0, lite1], "crab", views)
    with torch.inference_mode():
        values, probs = objective.evaluate(images)
        margins, mean_probs = [], []
        for model in (lite0, lite1):
            logits = model.logits(apply_views(images, views, model.input_size)).view(2, 3, -1)
            target = logits[..., classes].logsumexp(-1)
            others = logits[..., [c for c in range(1000) if c not in classes]].logsumexp(-1)
            margins.append((target - others).mean(0))
            mean_probs.append(logits.softmax(-1).mean(0))
    assert torch.allclose(values, torch.stack(margins).mean(0), atol=1e-4)
    assert torch.allclose(probs, torch.stack(mean_probs).mean(0), atol=1e-5)
    parts = objective.per_model(images)
    assert [p.name for p in parts] == ["efficientnet-lite0", "efficientnet-lite1"]
    assert torch.allclose(parts[1].probs, mean_probs[1], atol=1e-5)


def test_by_turns_scores_network_step_mod_m_alone_on_the_same_views(lite0, lite1, cat):
    """Tuning by turns: step k's objective is network k mod M's margin over the same views,
    the ensemble itself untouched."""
    objective = EnsembleObjective([lite0, lite1], "crab", draw_views(3, 4))
    with torch.inference_mode():
        turns = [objective.by_turns(step)(cat) for step in range(3)]
        alone = [EnsembleObjective([m], "crab", objective.views)(cat) for m in (lite0, lite1)]
        both = objective(cat)
    assert torch.allclose(turns[0], alone[0]) and torch.allclose(turns[2], alone[0])
    assert torch.allclose(turns[1], alone[1]) and not torch.allclose(alone[0], alone[1])
    assert torch.allclose(both, (alone[0] + alone[1]) / 2, atol=1e-5)
    assert objective.models == [lite0, lite1] and objective.by_turns(1).model is lite1


def test_ensemble_fits_score_population_and_reports_target_mass(lite0, lite1):
    images = images_of(5)
    objective = EnsembleObjective([lite0, lite1], "crab", draw_views(2, 1))
    scores = score_population(images, objective, Naturalness(), chunk_size=2)
    _, probs = objective.evaluate(images)
    assert scores.fitness.shape == scores.target_prob.shape == (5,)
    assert torch.allclose(scores.target_prob, objective.target_mass(probs), atol=1e-5)
    assert torch.allclose(scores.objective, objective(images).detach(), atol=1e-4)
    assert (scores.target_prob <= 1).all() and (scores.objective < 0).all()   # margin, not p


def test_without_views_the_log_score_is_the_single_network_objective(lite0):
    images = images_of(3, 160)
    ensemble = EnsembleObjective([lite0], "crab", no_views(), kind="log")
    reference = ClassObjective(lite0, "crab", log=True)
    with torch.inference_mode():
        assert torch.allclose(ensemble(images), reference(images), atol=1e-5)
    plain = score_population(images, ClassObjective(lite0, "crab"), None)   # p itself
    assert torch.allclose(plain.target_prob, plain.objective, atol=1e-6)


def test_gradient_flows_to_the_pixels_and_views_redraw(lite0, lite1):
    objective = EnsembleObjective([lite0, lite1], "crab", draw_views(2, 0))
    images = images_of(2, 64).requires_grad_()
    fitness_of(images, objective, Naturalness()).sum().backward()
    assert torch.isfinite(images.grad).all() and (images.grad.abs().sum((1, 2, 3)) > 0).all()
    again = objective.redrawn(9)
    assert again.views.count == 2 and again.models[1] is lite1
    assert not torch.allclose(again.views.matrices, objective.views.matrices)
    assert torch.equal(objective.redrawn(9).views.matrices, again.views.matrices)


def test_margin_keeps_rising_where_probability_saturates():
    mask = torch.zeros(10, dtype=torch.bool)
    mask[3] = True
    lift = torch.tensor([10.0, 14.0, 18.0], requires_grad=True)
    logits = torch.nn.functional.one_hot(torch.tensor([3] * 3), 10) * lift[:, None]   # (3, 10)
    margin = class_score(logits, mask, "margin")
    probability = class_score(logits, mask, "log").exp()
    assert (probability[1:] - probability[:-1]).abs().max() < 2e-3      # saturated at p ≈ 1
    assert torch.allclose(margin[1:] - margin[:-1], torch.tensor([4.0, 4.0]), atol=0.01)
    grad_margin, = torch.autograd.grad(margin[2], lift, retain_graph=True)
    grad_probability, = torch.autograd.grad(probability[2], lift)
    assert grad_margin[2] > 0.99 and grad_probability[2] < 1e-5         # still paid for more


def test_judge_matches_a_hand_computed_rank_and_rate(lite2, cat):
    views = draw_views(6, 2)
    crab = resolve_classes("crab", lite2.class_names)
    scores = judge_scores(torch.cat([cat, cat.flip(-1)]), lite2, "crab", views)
    with torch.inference_mode():
        logits = lite2.logits(apply_views(cat, views, 260))            # (6, 1000)
    order = logits.argsort(1, descending=True)
    ranks = torch.tensor([min(order[k].tolist().index(c) for c in crab) + 1 for k in range(6)])
    assert scores.median_rank[0] == ranks.float().quantile(0.5)
    assert scores.top1_rate[0] == 0 and scores.median_rank[0] > 5         # a cat is no crab
    mass = logits.softmax(1)[:, crab].sum(1)
    assert torch.allclose(scores.probability[0], mass.mean(), atol=1e-5)
    assert torch.allclose(scores.margin[0], (mass / (1 - mass)).log().mean(), atol=1e-3)
    row = scores.row(1)
    assert set(row) == {"probability", "top1_rate", "median_rank", "margin", "top_class"}


def test_natural_photo_control_holds_its_own_class(lite0, cat):
    audit = audit_scores(cat, [lite0], None, views=16)
    cat_scores = audit["efficientnet-lite0"]
    assert cat_scores.top1_rate[0] >= 0.5 and cat_scores.median_rank[0] == 1
    assert "cat" in lite0.class_names[int(cat_scores.top_class[0])]
    again = audit_scores(cat, [lite0], None, views=16)["efficientnet-lite0"]
    assert torch.equal(again.probability, cat_scores.probability)        # fixed seeded views


def test_bad_ensembles_are_errors(lite0):
    with pytest.raises(ScorerError, match="at least one model"):
        EnsembleObjective([], "crab", no_views())
    with pytest.raises(ScorerError, match="margin"):
        EnsembleObjective([lite0], "crab", no_views(), kind="probability")


def test_class_score_takes_a_mask_per_row():
    logits = torch.tensor(np.arange(20, dtype=np.float32)).view(2, 10)
    mask = torch.zeros(2, 10, dtype=torch.bool)
    mask[0, 9], mask[1, 0] = True, True
    score = class_score(logits, mask)
    assert score[0] > 0 > score[1]


def test_softmin_lies_between_the_weakest_network_and_the_mean(lite0, lite1):
    images = images_of(3, 96)
    views = draw_views(2, 4)
    mean = EnsembleObjective([lite0, lite1], "crab", views)
    softmin = EnsembleObjective([lite0, lite1], "crab", views, combine="softmin")
    with torch.inference_mode():
        each = torch.stack([p.values for p in mean.per_model(images)])       # (2, N)
        got = softmin(images)
        assert torch.allclose(mean(images), each.mean(0), atol=1e-5)
        assert (got <= each.mean(0) + 1e-5).all() and (got >= each.min(0).values - 1e-5).all()
        assert softmin.redrawn(1).combine == "softmin"
    same = EnsembleObjective([lite0, lite0], "crab", views, combine="softmin")
    with torch.inference_mode():                        # agreeing networks: softmin = mean
        assert torch.allclose(same(images), EnsembleObjective([lite0], "crab", views)(images),
                              atol=1e-4)


def test_judge_scores_take_one_class_list_per_image(lite0):
    images = images_of(3, 96)
    views = draw_views(3, 5)
    own = [[118], [723, 906], [946]]
    together = judge_scores(images, lite0, own, views)
    for i, classes in enumerate(own):
        alone = judge_scores(images[i:i + 1], lite0, classes, views).row(0)
        assert together.row(i) == pytest.approx(alone, rel=1e-3, abs=1e-4)
    with pytest.raises(ScorerError):
        judge_scores(images, lite0, own[:2], views)


def test_a_margin_cap_stops_sure_views_paying_and_their_gradient(lite0):
    """--margin-cap: each view's margin counts at most the cap, so only the views under it move
    the pixels (checked against a hand computation on the showcase crab, real Lite0)."""
    shown = Path(__file__).parents[1] / "runs" / "showcase" / "robust_crab.png"
    image = torch.from_numpy(np.array(Image.open(shown).convert("RGB"))).permute(2, 0, 1)
    image = image[None].float().div(255)
    views = draw_views(6, 3)
    mask = torch.isin(torch.arange(1000), torch.tensor(resolve_classes("crab", lite0.class_names)))
    with torch.inference_mode():
        margins = class_score(view_logits(image, lite0, views).flatten(0, 1), mask)
    cap = float(margins.median())
    assert (margins > cap).any() and (margins < cap).any()     # some views sure, some not
    capped = EnsembleObjective([lite0], "crab", views, cap=cap)
    pixels = image.clone().requires_grad_()
    value = capped(pixels)
    value.sum().backward()
    assert value.item() == pytest.approx(margins.clamp(max=cap).mean().item(), abs=1e-4)
    assert capped.redrawn(4).cap == cap
    under = margins < cap                       # by hand: the mean over views of the unsure ones
    reference = image.clone().requires_grad_()
    logits = view_logits(reference, lite0, views).flatten(0, 1)
    (class_score(logits[under], mask).sum() / len(margins)).backward()
    assert torch.allclose(pixels.grad, reference.grad, atol=1e-6, rtol=1e-3)
    assert pixels.grad.abs().sum() > 0
