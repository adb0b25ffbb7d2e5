"""`genart bench`'s render part runs and reports what the issue asks for (figures, not targets)."""
import re

import pytest
import torch

from evolve.bench.render import PAIRS, render_part


def test_render_part_reports_both_rates_the_ratio_and_the_cache():
    lines = render_part(torch.device("cpu"), seed=0)
    text = "\n".join(lines)
    assert "render threads=1" in lines[0]                 # 224^2 bands run on one thread
    baseline = float(re.search(r"lambda:\s+([\d.]+) img/s", text).group(1))
    ours = float(re.search(r"render_batch:\s+([\d.]+) img/s", text).group(1))
    ratio = float(re.search(r"ratio:\s+(\d+)x \(median of (\d+)", text).group(1))
    assert f"median of {PAIRS} back-to-back pairs" in text
    assert baseline > 0 and ours > baseline and ratio > 1
    assert re.search(r"computes \d+/\d+ primitive nodes", text)


def small_robust_config(**changes):
    """A robust generation in miniature: 2 networks, 2 views, 2 genomes tuned 2 steps, a judge."""
    from evolve.search.settings import RunConfig

    settings = dict(target="crab", population=4, size=32, views=2, judge_views=2, tune_steps=2,
                    tune_share=0.5, tune_min_constants=0, elites=1, seed=3, device="cpu",
                    record_size=0)
    return RunConfig(**{**settings, **changes})


def test_generation_pass_counts_match_forward_hooks_on_every_network():
    from evolve.bench.generation import account_generation, generation_lines
    from evolve.runfolder.judge import make_judge
    from evolve.runfolder.session import build_evolution
    from scorers import load_model

    config = small_robust_config()
    evolution, _ = build_evolution(config)
    judge = make_judge(config, torch.device("cpu"))
    evolution.start()
    names = config.model_names() + [config.judge_name()]
    seen = {name: [] for name in names}                  # images per call, by network
    grads = {name: [] for name in names}
    hooks = []
    for name in names:
        net = load_model(name, "cpu").net

        def hook(_module, inputs, _output, name=name):
            seen[name].append(len(inputs[0]))
            if inputs[0].requires_grad:
                grads[name].append(len(inputs[0]))
        hooks.append(net.register_forward_hook(hook))
    try:
        account = account_generation(evolution, judge, torch.device("cpu"))
    finally:
        for handle in hooks:
            handle.remove()
    assert set(account.networks) == set(names)
    for name in names:
        assert account.total("forward", name) == sum(seen[name]) > 0
        assert account.total("grad", name) == sum(grads[name])
    judge_net = config.judge_name()
    assert account.total("grad", judge_net) == 0 and sum(seen[judge_net]) == 2   # 2 views, 1 image
    # tuning: 2 genomes × 2 views per step, 3 scored steps, 2 recording gradients for a backward
    for name in config.model_names():
        assert account.total("grad", name) == 2 * 2 * 2
        assert account.total("backward", name) == 2 * 2 * 2
    stage_images = {label: n for label, n in account.stage_images.items() if n}
    assert stage_images[f"forward+grad {names[0]}"] == account.total("grad", names[0])
    assert stage_images[f"judge forward {judge_net}"] == 2
    assert 0 < sum(account.stages.values()) <= account.seconds * 1.01
    text = "\n".join(generation_lines(config, account, {n: (100.0, 10.0) for n in names},
                                      warm_up=0.0))
    total = sum(account.total(k) for k in ("forward", "backward"))
    assert f"= {total} in" in text and "of the networks' own throughput" in text
    assert "bookkeeping" in text and f"judge forward {judge_net}" in text


def test_the_log_counts_every_network_pass_of_each_generation(tmp_path):
    from evolve.runfolder.session import _passes_mark, drive, start_run
    from scorers import load_model

    config = small_robust_config(generations=2)
    names = config.model_names() + [config.judge_name()]
    seen = []
    hooks = [load_model(name, "cpu").net.register_forward_hook(
        lambda _m, inputs, _o: seen.append(len(inputs[0]))) for name in names]
    backward = []
    hooks += [load_model(name, "cpu").net.register_full_backward_hook(
        lambda _m, grads_in, grads_out: backward.append(len(grads_out[0])))
        for name in config.model_names()]
    try:
        session = start_run(tmp_path / "run", config)
        drive(session, at_end=lambda s: None)
        after_last_line = _passes_mark()[0] - session.passes_mark[0]   # its record's passes
    finally:
        for handle in hooks:
            handle.remove()
    lines = session.run.read_log()
    assert [line["generation"] for line in lines] == [0, 1, 2]
    assert all(line["passes"] > 0 and line["passes_per_s"] > 0 for line in lines)
    assert sum(line["passes"] for line in lines) + after_last_line == sum(seen) + sum(backward)
    tuning = 2 * 2 * (3 + 2) * len(config.model_names())    # 3 forwards + 2 backwards per view
    assert all(line["passes"] >= tuning for line in lines[1:])


@pytest.mark.parametrize("changes, side, views", [({"tune_view_size": 64}, 64, 2),
                                                    ({"tune_views": 1}, 224, 1)])
def test_tuning_levers_change_only_the_tuning_passes(changes, side, views):
    """--tune-view-size shrinks, --tune-views thins out the Adam steps' views; selection keeps
    --views views at each network's native size."""
    from evolve.runfolder.session import build_evolution
    from scorers import load_model

    config = small_robust_config(models="efficientnet-lite0", **changes)
    evolution, _ = build_evolution(config)
    evolution.start()
    sides = []
    hook = load_model("efficientnet-lite0", "cpu").net.register_forward_hook(
        lambda _m, inputs, _o: sides.extend([(inputs[0].shape[-1], inputs[0].requires_grad)]
                                             * len(inputs[0])))              # one per image
    try:
        evolution.step()
    finally:
        hook.remove()
    tuning = [s for s, grad in sides if grad]                       # Adam steps' forwards
    assert set(tuning) == {side} and len(tuning) == 2 * 2 * views   # steps × genomes × views
    scoring = [s for s, grad in sides if not grad]
    last_step = 2 * views                              # the last step scores without a graph
    selection = len(scoring) - last_step               # distinct genomes × --views, native size
    assert selection > 0 and selection % 2 == 0
    assert scoring.count(224) == selection + (last_step if side == 224 else 0)
    assert evolution.tuning_evaluations == 2 * 3


def test_population_part_names_the_start_form_it_renders():
    from evolve.bench.population import default_genomes, shape_of
    from evolve.search.settings import RunConfig

    genomes = default_genomes(8, seed=0)
    text = shape_of(genomes)
    form = RunConfig(target="crab").start_form
    assert f"{form} form" in text and "sine sums" not in text.replace("sines per", "")
    nodes = sorted(len(g) for g in genomes)
    assert f"{nodes[0]}–{nodes[-1]})" in text
