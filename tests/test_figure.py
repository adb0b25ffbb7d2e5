"""Figure/ground genomes (issue 20): RGBA renders, mirror symmetry, the composite over seeded
backgrounds, the coverage band on the real Lite0, the figure start form, the crab template and
the frequency clamp of tuning."""
import random

import pytest
import torch
from skimage import data

from evolve.search import operators
from evolve.search.operators import Variation, figure_formula, make_toolbox, mutate
from evolve.search.templates import FORMS, crab_formula, lineage_form, template_population
from evolve.search.tuning import tune_constants
from genart import (GenartError, constants_of, figure_parts, is_figure, parse, random_genomes,
                    render_batch)
from genart.regularity import coordinate_coefficients, mirrored_formula
from scorers import (CoverageBand, EnsembleObjective, composite, coverage, draw_backgrounds,
                     draw_views)


def figures(n: int, seed: int, units: int = 4) -> list:
    random.seed(seed)
    return [parse(figure_formula(units)) for _ in range(n)]


def test_figure_form_round_trips_and_only_roots_hold_figure():
    for genome in figures(3, 0):
        assert is_figure(genome) and str(parse(str(genome))) == str(genome)
        colour, alpha = figure_parts(genome)
        assert len(colour) + len(alpha) + 1 == len(genome)
    with pytest.raises(GenartError, match="whole formula"):
        parse("add(figure(x, y), x)")


def test_batched_equals_reference_for_figures_with_and_without_mirror():
    batch = figures(3, 1) + random_genomes(2, seed=3)
    for mirror in (False, True):
        fast = render_batch(batch, 40, "cpu", alpha=True, mirror=mirror)
        slow = render_batch(batch, 40, "cpu", alpha=True, mirror=mirror, batched=False)
        assert fast.shape == (5, 4, 40, 40)
        assert (fast - slow).abs().max() <= 1e-6
        assert torch.all(fast[3:, 3] == 1)                      # plain genomes: opaque
        assert fast[:3, 3].mean() < 0.9                         # figures: bounded
    plain = render_batch(batch[:1], 40, "cpu")                  # over white: colour·α + 1 − α
    rgba = render_batch(batch[:1], 40, "cpu", alpha=True)
    assert torch.allclose(plain, rgba[:, :3] * rgba[:, 3:] + 1 - rgba[:, 3:], atol=1e-6)


def test_mirror_renders_exactly_symmetric_images_and_the_formula_text_keeps_it():
    batch = random_genomes(6, seed=5) + figures(2, 2)
    for size, aa in ((33, 1), (48, 3)):
        images = render_batch(batch, size, "cpu", antialias=aa, mirror=True, alpha=True)
        assert torch.equal(images, images.flip(-1))
    plain = render_batch(batch, 48, "cpu")
    assert (plain - plain.flip(-1)).abs().max() > 0.1              # without it: not symmetric
    written = render_batch([mirrored_formula(g) for g in batch], 48, "cpu")
    assert (written - render_batch(batch, 48, "cpu", mirror=True)).abs().max() < 1e-4


def test_gradients_reach_colour_and_alpha_constants_through_the_composite():
    genome = figures(1, 4)[0]
    params = torch.tensor(constants_of(genome), requires_grad=True)
    rgba = render_batch([genome], 24, "cpu", constants=[params], alpha=True, mirror=True)
    ground = draw_backgrounds(1, 24, seed=7)
    (composite(rgba, ground).mean() + coverage(rgba).sum()).backward()
    cut = len(constants_of(figure_parts(genome)[0]))
    assert params.grad[:cut].abs().sum() > 0 and params.grad[cut:].abs().sum() > 0


def test_backgrounds_are_seeded():
    a, b = draw_backgrounds(6, (20, 30), seed=1), draw_backgrounds(6, (20, 30), seed=1)
    assert a.shape == (6, 3, 20, 30) and torch.equal(a, b)
    assert not torch.equal(a, draw_backgrounds(6, (20, 30), seed=2))
    assert 0 <= a.min() and a.max() <= 1


@pytest.fixture(scope="module")
def cat() -> torch.Tensor:
    image = torch.from_numpy(data.chelsea().copy()).permute(2, 0, 1).float()[None] / 255
    return torch.nn.functional.interpolate(image, size=(128, 128), antialias=True,
                                           mode="bilinear")


def test_a_transparent_figure_scores_no_better_than_an_opaque_one_that_holds_the_class(lite0,
                                                                                         cat):
    band = CoverageBand(0.15, 0.55, 10.0)
    objective = EnsembleObjective([lite0], "tabby", draw_views(2, 11), coverage=band)
    opaque = torch.cat([cat, torch.ones(1, 1, 128, 128)], 1)
    clear = torch.cat([cat, torch.zeros(1, 1, 128, 128)], 1)
    with torch.no_grad():
        scores = objective(torch.cat([opaque, clear]))
        plain = EnsembleObjective([lite0], "tabby", draw_views(2, 11))(cat)
    assert scores[1] < scores[0]
    assert torch.allclose(scores[0], plain[0] - band.charge(torch.tensor([1.0]))[0], atol=1e-4)
    redrawn = objective.redrawn(12)                         # a new draw: a new ground
    assert redrawn.coverage == band
    with torch.no_grad():
        assert not torch.allclose(redrawn(clear), scores[1:])


def test_mutation_and_crossover_keep_the_figure_root():
    random.seed(0)
    toolbox, variation = make_toolbox(Variation()), Variation()
    population = figures(6, 6)
    for _ in range(5):
        population = operators.vary(population, toolbox, variation)
        population = [mutate(toolbox, g, variation) for g in population]
    assert all(is_figure(g) for g in population)
    assert all(str(parse(str(g))) == str(g) for g in population)


def test_crab_template_is_a_bounded_symmetric_figure():
    random.seed(3)
    copies = template_population("crab", 4)
    assert str(copies[0]) == str(parse(crab_formula()))
    assert len({str(c) for c in copies}) == 4
    rgba = render_batch(copies, 64, "cpu", alpha=True)
    assert torch.all((0.1 < coverage(rgba)) & (coverage(rgba) < 0.4))
    assert (rgba - rgba.flip(-1)).abs().max() < 1e-4


def test_every_crab_form_is_a_bounded_symmetric_figure_apart_from_the_others():
    forms = [template_population("crab", 1, form=k)[0] for k in range(len(FORMS))]
    assert [str(f) for f in forms] == [str(parse(crab_formula(form))) for form in FORMS]
    assert str(template_population("crab", 1, form=len(FORMS))[0]) == str(forms[0])  # k mod n
    rgba = render_batch(forms, 64, "cpu", alpha=True)
    assert torch.all((0.1 < coverage(rgba)) & (coverage(rgba) < 0.4))
    assert (rgba - rgba.flip(-1)).abs().max() < 1e-4
    images = render_batch(forms, 64, "cpu")                        # on white, as records are
    pairs = ~torch.eye(len(FORMS), dtype=torch.bool)
    gaps = (images[:, None] - images[None]).abs().mean(dim=(2, 3, 4))
    assert gaps[pairs].min() > 0.05                                # no two alike
    hues = images.mean(dim=(2, 3))                                 # mean colour per form
    assert torch.cdist(hues, hues)[pairs].min() > 0.03


def test_drawn_crab_forms_are_bounded_symmetric_figures_that_differ_by_seed():
    drawn = [lineage_form(k, 0, seed=93) for k in range(1, 13)]
    assert lineage_form(0, 0, seed=93) == FORMS[0]                 # lineage 0: the shore crab
    assert drawn == [lineage_form(k, 0, seed=93) for k in range(1, 13)]   # drawn from the seed
    assert lineage_form(1, 0, seed=94) != drawn[0]
    assert all(3 <= len(form.legs) <= 5 for form in drawn)
    genomes = [parse(crab_formula(form)) for form in drawn]
    rgba = render_batch(genomes, 64, "cpu", alpha=True)
    assert torch.all((0.1 < coverage(rgba)) & (coverage(rgba) < 0.45))
    assert (rgba - rgba.flip(-1)).abs().max() < 1e-4
    images = render_batch(genomes, 64, "cpu")
    pairs = ~torch.eye(len(drawn), dtype=torch.bool)
    assert (images[:, None] - images[None]).abs().mean(dim=(2, 3, 4))[pairs].min() > 0.02


def test_tuning_clamps_coordinate_coefficients_to_max_frequency():
    genome = parse("rgb(sin(mul(2.0, x)), sin(mul(y, 1.5)), mul(0.5, r))")
    assert coordinate_coefficients(genome) == [True, True, True]

    def objective(images):                                  # rewards fine stripes in red
        return (images[:, 0, :, 1:] - images[:, 0, :, :-1]).abs().mean((1, 2)) * 100
    (tuned,), _ = tune_constants([genome], objective, None, size=32, device="cpu", steps=8,
                                 lr=2.0, max_frequency=3.0)
    (free,), _ = tune_constants([genome], objective, None, size=32, device="cpu", steps=8,
                                lr=2.0)
    assert max(abs(v) for v in constants_of(tuned)) <= 3.0 + 1e-6
    assert max(abs(v) for v in constants_of(free)) > 3.0
