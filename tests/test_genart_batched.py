"""The structure-batched renderer against the per-node interpreter (render_batch(batched=False))."""
import random

import pytest
import torch
from evolve.bench.population import OpCounter

from evolve.search.operators import (Start, Variation, initial_population, make_toolbox,
                                     sine_sum_formula, vary)
from genart import GenartError, constants_of, parse, random_genomes, render_batch
from genart.nodes import build_nodes, computed_count
from genart.plan import build_plan


def both(genomes, size, **kw):
    return (render_batch(genomes, size, "cpu", batched=False, **kw),
            render_batch(genomes, size, "cpu", **kw))


def assert_same_images(reference, batched):
    assert batched.shape == reference.shape and batched.dtype == torch.float32
    assert torch.isfinite(batched).all() and batched.min() >= 0 and batched.max() <= 1
    torch.testing.assert_close(batched, reference, atol=1e-6, rtol=0)


def default_population(n: int, seed: int, generations: int = 0) -> list:
    """evolve's first population (half 12-sine sums, half ramped random trees), then varied
    `generations` times from random parents (crossover and mutations share sub-trees)."""
    state = random.getstate()
    random.seed(seed)
    try:
        population = initial_population(n, Start(share=0.5, terms=12))
        variation = Variation()
        toolbox = make_toolbox(variation)
        for _ in range(generations):
            population = vary(random.choices(population, k=n), toolbox, variation)
        return population
    finally:
        random.setstate(state)


def sine_sums(n: int, seed: int) -> list:
    state = random.getstate()
    random.seed(seed)
    try:
        return [parse(sine_sum_formula(12, 12.0, 2.5)) for _ in range(n)]
    finally:
        random.setstate(state)


def test_the_seeded_random_genomes_render_as_the_reference():
    genomes = random_genomes(2000, seed=11, min_depth=1, max_depth=8)   # test_genart_render's
    assert_same_images(*both(genomes, 16))


def test_a_default_evolved_population_renders_as_the_reference():
    population = default_population(48, seed=3, generations=2)
    assert max(len(g) for g in population) > 600                         # sine sums are there
    assert_same_images(*both(population, 16))
    assert_same_images(*both(population[:12], (9, 13), antialias=2))     # odd sizes, supersampled


@pytest.mark.parametrize("text", [
    "rgb(rgb(x, sin(y), cos(y)), y, r)", "x", "0.5", "colour(0.1, 0.2, 0.3)", "theta",
    "mul(rgb(x, sin(y), r), rgb(x, y, theta))",                          # aliases of one terminal
    "hsv(rgb(x, add(y, colour(0.3, -0.2, 0.5)), r), if_pos(x, colour(1.0, 0.5, 0.0), y), tanh(r))",
    "rgb(sin(add(x, colour(0.1, 0.5, 0.9))), hsv(y, colour(0.2, 0.4, 0.6), r), "
    "noise(rgb(x, y, r), y))",
    "tanh(mul(sin(mul(x, 9.0)), 40.0))", "noise(add(x, 72.2), mul(y, -72.24))",
])
def test_corner_cases_alone_and_in_one_batch(text):
    genomes = [parse(text), parse("add(x, y)"), parse(text)]              # a duplicate, shared
    assert_same_images(*both(genomes, (5, 7)))
    assert_same_images(*both(genomes[:1], 8))


def test_gradients_agree_with_the_reference():
    genomes = sine_sums(4, seed=1) + random_genomes(40, seed=5, max_depth=6) + [
        parse("hsv(mul(x, 2.0), sin(add(mul(y, 3.0), 0.5)), noise(x, mul(y, 1.5)))"),
        parse("rgb(tanh(mul(x, colour(0.2, 0.4, 0.6))), div(y, 0.7), mod(r, 0.3))")]
    weights = torch.rand(len(genomes), 3, 12, 12, generator=torch.Generator().manual_seed(0))
    grads, images = [], []
    for batched in (False, True):
        values = [torch.tensor(constants_of(g), requires_grad=True) for g in genomes]
        rendered = render_batch(genomes, 12, "cpu", constants=values, batched=batched)
        (rendered * weights).sum().backward()
        images.append(rendered.detach())
        grads.append(torch.cat([v.grad if v.grad is not None else torch.zeros_like(v)
                                for v in values]))
    assert_same_images(*images)
    assert grads[1].abs().max() > 0 and torch.isfinite(grads[1]).all()
    torch.testing.assert_close(grads[1], grads[0], atol=1e-5, rtol=1e-5)


def ops_of(genomes, **kw) -> int:
    with OpCounter() as counter:
        render_batch(genomes, 8, "cpu", **kw)
    return counter.count


def test_tensor_operations_do_not_grow_with_the_population():
    """At 8^2 every group of 256 sine sums fits one CPU cache tile (genart.tiles); a larger
    render adds row bands and genome chunks, each with the same op count."""
    small, large = sine_sums(16, seed=2), sine_sums(256, seed=2)   # same shapes, new constants
    batched = ops_of(small), ops_of(large)
    assert batched[1] <= batched[0]
    reference = ops_of(small, batched=False), ops_of(large, batched=False)
    assert reference[1] > 10 * reference[0]                      # the counter sees every op
    assert batched[0] < reference[0] / 4
    values = [torch.tensor(constants_of(g), requires_grad=True) for g in large]
    assert ops_of(large, constants=values) <= ops_of(small, constants=[
        torch.tensor(constants_of(g), requires_grad=True) for g in small])


def test_vectorised_plan_matches_the_reference_plan():
    for genomes in (random_genomes(300, seed=7, min_depth=1, max_depth=8),
                    default_population(16, seed=4, generations=1)):
        for per_genome in (False, True):
            nodes = build_nodes(genomes, per_genome)
            reference = build_plan(genomes, per_genome_constants=per_genome)
            assert (computed_count(nodes), nodes.total) == (reference.computed,
                                                            reference.internal_total)
            assert nodes.counts.tolist() == [len(constants_of(g)) for g in genomes]
    assert computed_count(build_nodes([parse("rgb(rgb(x, sin(y), cos(y)), y, r)")], False)) == 2


def test_the_plan_is_reused_and_a_genome_changed_in_place_is_planned_again():
    genomes = sine_sums(3, seed=5)
    first = render_batch(genomes, 8, "cpu")
    with OpCounter() as counter:
        again = render_batch(genomes, 8, "cpu")
    assert torch.equal(again, first) and counter.count > 0
    genomes[1][0:len(genomes[1])] = parse("mul(x, y)")            # same list object, new nodes
    changed = render_batch(genomes, 8, "cpu")
    assert torch.equal(changed, render_batch(genomes, 8, "cpu", batched=False))
    assert not torch.equal(changed[1], first[1]) and torch.equal(changed[0], first[0])


def test_bands_memory_guard_and_bad_input():
    genomes = default_population(6, seed=6)
    whole = render_batch(genomes, 48, "cpu", antialias=2)
    banded = render_batch(genomes, 48, "cpu", antialias=2, budget_bytes=2 * 2**20)
    torch.testing.assert_close(banded, whole, atol=1e-6, rtol=0)
    values = [torch.tensor(constants_of(g), requires_grad=True) for g in genomes]
    tuned = render_batch(genomes, 24, "cpu", constants=values, budget_bytes=64 * 2**20)
    tuned.sum().backward()
    assert torch.equal(tuned.detach(), render_batch(genomes, 24, "cpu"))
    with pytest.raises(GenartError, match=r"needs .* GiB, budget 4.0 GiB; use a smaller"):
        render_batch(genomes[:2], 60_000, "cpu", antialias=4)
    with pytest.raises(GenartError, match="constants"):
        render_batch(genomes[:1], 8, "cpu", constants=[torch.zeros(1)])
    with pytest.raises(GenartError, match="complete tree"):
        render_batch([parse("add(x, y)")[:2]], 8, "cpu")
    assert render_batch([], 8, "cpu").shape == (0, 3, 8, 8)


def test_a_schedule_for_another_device_holds_its_indices_there():
    """CUDA renders gather with index tensors on the GPU ('meta' stands in for it here)."""
    from genart.batched import plan_of

    genomes = random_genomes(200, seed=9) + sine_sums(2, seed=9) + [parse("x"), parse("0.5")]
    schedule = plan_of(genomes, False).schedule(16, 2**20, torch.device("meta"))
    tensors = [t for g in schedule.groups for t in [g.hue] + [w for _, w, _ in g.roots]
               + [t for a in g.args for t in [a.index, a.order] + [w for _, _, w, _ in a.pieces]]]
    tensors += [a.index for a, _ in schedule.leaf_roots]
    tensors = [t for t in tensors if isinstance(t, torch.Tensor)]
    assert len(tensors) > 100 and all(t.device.type == "meta" for t in tensors)
    assert render_batch(genomes, 8, "meta").shape == (len(genomes), 3, 8, 8)
