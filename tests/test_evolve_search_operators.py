"""Operators and constant tuning on real genomes, the real renderer and the real model."""
import difflib
import random

import torch

from evolve.search.operators import (START_FORMS, Start, Variation, grown, initial_population,
                                     jitter_constants, make_toolbox, sine_sum_formula, vary)
from evolve.search.templates import crab_formula
from evolve.search.tuning import tune_constants
from genart import constants_of, parse, render_batch
from scorers import (EnsembleObjective, Naturalness, draw_views, fitness_of, load_model,
                     make_objective, passes_counted)


def test_sine_sums_carry_many_constants_and_round_trip():
    random.seed(0)
    genome = parse(sine_sum_formula(12))
    assert len(constants_of(genome)) == 12 * 5 * 3
    assert genome.height <= 17 and str(parse(str(genome))) == str(genome)
    population = initial_population(10, Start(share=0.5, terms=4, min_depth=2, max_depth=4))
    assert sum(len(constants_of(g)) == 60 for g in population) == 5


def test_variation_respects_static_limits_and_invalidates_changed_children():
    random.seed(1)
    variation = Variation(crossover_prob=0.9, mutation_prob=0.9, max_height=10, max_nodes=200)
    toolbox = make_toolbox(variation)
    population = initial_population(16, Start(share=0.25, terms=3, min_depth=2, max_depth=5))
    for genome in population:
        genome.fitness.values = (0.0,)
        genome.parts = {"fitness": 0.0}
    for _ in range(15):
        population = vary(population, toolbox, variation)
        for genome in population:
            assert genome.height <= 10 and len(genome) <= 200
            parse(str(genome))
            if not genome.fitness.valid:
                genome.fitness.values = (0.0,)
    changed = vary(population, toolbox, variation)
    assert any(not g.fitness.valid for g in changed)


def test_jitter_moves_every_constant_and_keeps_the_shape():
    random.seed(2)
    genome = parse("add(mul(0.5, x), hsv(y, colour(0.1, 0.2, 0.3), sin(mul(3.0, r))))")
    (moved,) = jitter_constants(genome, sigma=0.1)
    before, after = constants_of(genome), constants_of(moved)
    assert len(before) == len(after) == 5 and all(a != b for a, b in zip(before, after))
    assert [n.name for n in genome if n.arity] == [n.name for n in moved if n.arity]


def test_tuning_raises_fitness_and_the_written_back_formula_rerenders(lite0):
    random.seed(4)
    genomes = [parse(sine_sum_formula(4)) for _ in range(2)]
    objective = make_objective("crab", lite0)
    naturalness = Naturalness(lam=2.0, tau=0.03)
    with torch.no_grad():
        start = fitness_of(render_batch(genomes, 64, "cpu"), objective, naturalness)
    tuned, fitness = tune_constants(genomes, objective, naturalness, size=64,
                                    device=torch.device("cpu"), steps=4, lr=0.05)
    assert all(f > s for f, s in zip(fitness, start.tolist()))
    assert [len(constants_of(g)) for g in tuned] == [60, 60]
    with torch.no_grad():
        again = fitness_of(render_batch([parse(str(g)) for g in tuned], 64, "cpu"),
                           objective, naturalness)
    assert torch.allclose(again, torch.tensor(fitness), rtol=1e-4, atol=1e-6)


def test_tail_mean_returns_the_mean_of_the_last_steps_constants(lite0):
    """tail_mean k: the mean of the constants after each of the last k steps, which are the
    constants a run of each shorter length ends with (tail_mean 1: the last step's)."""
    random.seed(5)
    genome = parse(sine_sum_formula(3))
    objective = make_objective("crab", lite0)

    def tuned(steps, tail):
        (one,), _ = tune_constants([genome], objective, None, size=48, device="cpu",
                                   steps=steps, lr=0.05, tail_mean=tail)
        return torch.tensor(constants_of(one))
    ends = [tuned(steps, 1) for steps in (3, 4, 5)]
    assert not torch.allclose(ends[0], ends[2])                    # the steps did move them
    assert torch.allclose(tuned(5, 3), torch.stack(ends).mean(0), atol=1e-6)
    assert not torch.allclose(tuned(5, 3), ends[2], atol=1e-4)


def test_tuning_by_turns_pays_one_network_per_step_and_steps_on_each(lite0):
    """turns: step k follows network k mod M's gradient alone, so one step by turns is one
    step on the first network, and the second step moves on the second's."""
    random.seed(6)
    genome = parse(sine_sum_formula(3))
    lite1 = load_model("efficientnet-lite1", "cpu")
    views = draw_views(2, 3)
    pair = EnsembleObjective([lite0, lite1], "crab", views)
    first = EnsembleObjective([lite0], "crab", views)

    def tuned(objective, steps, turns):
        before = passes_counted()
        (one,), _ = tune_constants([genome], objective, None, size=48, device="cpu",
                                   steps=steps, lr=0.05, tail_mean=1, turns=turns,
                                   view_seed=lambda step: 7 + step)
        after = passes_counted()
        spent = {m.name: after.get((m.name, "grad"), 0) - before.get((m.name, "grad"), 0)
                 for m in (lite0, lite1)}
        return torch.tensor(constants_of(one)), spent
    one_turn, spent = tuned(pair, 1, True)
    assert torch.allclose(one_turn, tuned(first, 1, False)[0])
    assert spent == {"efficientnet-lite0": 2, "efficientnet-lite1": 0}     # 2 views, 1 step
    two_turns, spent = tuned(pair, 2, True)
    assert spent == {"efficientnet-lite0": 2, "efficientnet-lite1": 2}
    assert not torch.allclose(two_turns, tuned(first, 2, False)[0], atol=1e-5)
    assert not torch.allclose(tuned(pair, 1, False)[0], one_turn, atol=1e-5)   # not both


def test_every_start_form_is_a_capacity_rich_formula_that_renders_and_round_trips():
    random.seed(2)
    for form in START_FORMS:
        population = initial_population(4, Start(share=1.0, form=form, terms=12, frequency=3.0))
        images = render_batch(population, 32, torch.device("cpu"))
        assert torch.isfinite(images).all() and images.std() > 0.01, form
        for genome in population:
            assert len(constants_of(genome)) >= 48 and genome.height <= 17, form
            assert str(parse(str(genome))) == str(genome)


def test_decorrelated_start_is_mostly_luminance():
    """Lucid's colour axes: the channels move together far more than independent sine sums."""
    random.seed(3)

    def channel_correlation(form: str) -> float:
        genomes = initial_population(8, Start(share=1.0, form=form, terms=12, frequency=3.0))
        images = render_batch(genomes, 48, torch.device("cpu")).flatten(2)     # (n, 3, hw)
        r, g = images[:, 0] - images[:, 0].mean(1, keepdim=True), \
            images[:, 1] - images[:, 1].mean(1, keepdim=True)
        return float(((r * g).sum(1) / (r.norm(dim=1) * g.norm(dim=1) + 1e-9)).mean())
    assert channel_correlation("decorrelated") > 0.6 > 0.3 > abs(channel_correlation("sines"))


def test_grown_keeps_the_picture_and_adds_zero_weight_constants_that_tuning_moves(lite0):
    """NEAT-style growth: the same render to the pixel, one colour and two scalar constants
    more (all zero), drawn from the seed alone; a few Adam steps move every new constant."""
    crab = parse(crab_formula())
    bigger = grown(crab, 3, seed=5)
    assert str(grown(crab, 3, seed=5)) == str(bigger) != str(grown(crab, 3, seed=6))
    renders = render_batch([crab, bigger], 64, "cpu")
    assert torch.equal(renders[0], renders[1])
    old, new = constants_of(crab), constants_of(bigger)
    inserted = [i for tag, _, _, j, k in difflib.SequenceMatcher(None, old, new).get_opcodes()
                if tag == "insert" for i in range(j, k)]
    assert len(new) == len(old) + 5 and len(inserted) == 5
    assert all(new[i] == 0.0 for i in inserted)
    (tuned,), _ = tune_constants([bigger], make_objective("crab", lite0), None, size=64,
                                 device=torch.device("cpu"), steps=3, lr=0.05)
    assert all(abs(constants_of(tuned)[i]) > 1e-3 for i in inserted)
