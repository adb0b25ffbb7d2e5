"""Objectives: gradients flow and ascend; population scores agree with the differentiable path."""
import pytest
import torch

from scorers import (AugmentedObjective, ClassObjective, LayerObjective, Naturalness,
                     ScorerError, fitness_of, make_objective, score_population)


def start_images(n=2, size=96, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (0.5 + 0.1 * torch.randn(n, 3, size, size, generator=g)).clamp(0, 1)


OBJECTIVES = {
    "class": lambda m: ClassObjective(m, [118, 119, 120, 121, 125]),
    "log class": lambda m: ClassObjective(m, "crab", log=True),
    "layer": lambda m: LayerObjective(m, "blocks.5"),
    "channels": lambda m: LayerObjective(m, "blocks.8", channels=[3, 17]),
    "augmented": lambda m: AugmentedObjective(ClassObjective(m, [963], log=True), crops=3),
}


@pytest.mark.parametrize("kind", OBJECTIVES)
def test_gradient_is_finite_nonzero_and_ascent_raises_the_objective(lite0, kind):
    objective = OBJECTIVES[kind](lite0)
    images = start_images()
    before = objective(images).detach()
    assert before.shape == (2,)
    for step in range(2):
        images.requires_grad_(True)
        value = objective(images)
        grad, = torch.autograd.grad(value.sum(), images)
        if step == 0:
            assert torch.isfinite(grad).all() and grad.abs().sum() > 0
        images = (images.detach() + 0.004 * grad.sign()).clamp(0, 1)   # signed-gradient step
    after = objective(images).detach()
    assert (after > before).all(), (before, after)


def test_make_objective_parses_targets(lite0):
    crab = make_objective("crab", lite0)
    assert isinstance(crab, ClassObjective) and crab.classes == [118, 119, 120, 121, 125]
    layer = make_objective("layer:blocks.3:1,5", lite0, crops=2, seed=3)
    assert isinstance(layer, AugmentedObjective) and layer.objective.channels == [1, 5]
    with pytest.raises(ScorerError, match="no layer 'nope'"):
        make_objective("layer:nope", lite0)
    with pytest.raises(ScorerError, match="channel list"):
        make_objective("layer:blocks.3:a,b", lite0)


def test_augmented_views_are_seeded_and_shared_across_the_batch(lite0):
    images = start_images(3, 64)
    a = AugmentedObjective(LayerObjective(lite0, "stem"), crops=4, seed=7)
    b = AugmentedObjective(LayerObjective(lite0, "stem"), crops=4, seed=7)
    assert torch.equal(a.views(images), b.views(images))
    views = a.views(images)                                    # (K·N, 3, H, W)
    assert views.shape == (12, 3, 64, 64)
    one = a.views(images[1:2])                                 # image 1 alone: same crops
    assert torch.equal(views[1::3], one)


@pytest.mark.parametrize("target", ["crab", "layer:blocks.5"])
def test_population_scores_match_fitness_of_and_chunking(lite0, target):
    images = torch.cat([start_images(3, 224), torch.rand(1, 3, 224, 224)])
    objective = make_objective(target, lite0)
    nat = Naturalness(lam=2.0, tau=0.02)
    whole = score_population(images, objective, nat, chunk_size=4)
    chunks = score_population(images, objective, nat, chunk_size=3)
    for field in ("fitness", "objective", "residual", "top_prob"):
        assert torch.allclose(getattr(whole, field), getattr(chunks, field), atol=1e-5)
    assert torch.allclose(whole.fitness, fitness_of(images, objective, nat).detach(), atol=1e-5)
    by_hand = 2.0 * (whole.residual - 0.02).clamp(min=0)     # λ·max(0, residual − τ)
    assert by_hand[3] > 0.01                                  # the noise image is penalised
    assert torch.allclose(whole.penalty, by_hand, atol=1e-6)
    assert torch.allclose(whole.fitness, whole.objective - by_hand, atol=1e-6)
    with torch.inference_mode():
        top = lite0.logits(images).softmax(1).max(1)
    assert torch.equal(whole.top_class, top.indices)
    assert whole.residual[3:].min() > whole.residual[:3].max()  # uniform noise is less natural


def test_gate_zeroes_unnatural_images(lite0):
    images = torch.cat([start_images(1, 224) * 0 + 0.5, torch.rand(1, 3, 224, 224)])
    scores = score_population(images, make_objective("crab", lite0),
                              Naturalness(weight=0.2, tau=0.05, gate=True))
    assert scores.fitness[1] == 0 and scores.fitness[0] == scores.objective[0] > 0
