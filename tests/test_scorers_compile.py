"""load_model(compile=True): the same scores and gradients as eager on the real network, each
image counted where the network is called, and one warning line where compiling fails."""
import logging

import pytest
import torch
import torch.nn.functional as F
from skimage import data

from scorers import load_model, passes_counted
from scorers.models import CompiledForward


def photos() -> torch.Tensor:
    """Two real photographs at Lite0's input size, (2, 3, 224, 224) in [0, 1]."""
    images = [torch.from_numpy(getattr(data, n)()).permute(2, 0, 1)[None].float() / 255
              for n in ("chelsea", "coffee")]
    return torch.cat([F.interpolate(x, size=(224, 224), mode="bilinear", antialias=True)
                      for x in images])


def crab_margin_and_gradient(model, images):
    """Crab logit (class 118) minus the mean logit per image, and its gradient on the pixels."""
    x = images.clone().requires_grad_(True)
    logits = model.logits(x)
    score = logits[:, 118] - logits.mean(1)
    score.sum().backward()
    return score.detach(), x.grad


@pytest.mark.slow
def test_compiled_lite0_scores_and_gradients_match_eager():
    """One compile (the forward+backward graph at one shape): 20–100 s on a shared 2-core CPU."""
    eager = load_model("efficientnet-lite0", "cpu")
    fast = load_model("efficientnet-lite0", "cpu", compile=True)
    assert fast.fast is not None and fast.net is eager.net and eager.fast is None
    images = photos()
    want_score, want_grad = crab_margin_and_gradient(eager, images)
    got_score, got_grad = crab_margin_and_gradient(fast, images)
    assert fast.fast.compiled is not None                      # it ran compiled, no fallback
    assert torch.allclose(got_score, want_score, atol=1e-4, rtol=0)
    assert want_grad.abs().max() > 1e-3                        # a gradient worth comparing
    relative = (got_grad - want_grad).norm() / want_grad.norm()
    assert relative < 1e-2          # measured 2.8e-3: fused kernels reorder fp32 sums (ReLU6 edges)
    cosine = F.cosine_similarity(got_grad.flatten(), want_grad.flatten(), dim=0)
    assert cosine > 0.9999


def test_every_image_through_a_network_is_counted_where_it_is_called(lite0):
    before = passes_counted()
    calls = []
    hook = lite0.net.register_forward_hook(lambda _m, inputs, _o: calls.append(len(inputs[0])))
    try:
        with torch.inference_mode():
            lite0.logits(torch.rand(3, 3, 64, 64))
        x = torch.rand(2, 3, 64, 64, requires_grad=True)
        lite0.logits(x).sum().backward()
        lite0.logits(torch.rand(4, 3, 64, 64, requires_grad=True))      # no backward
    finally:
        hook.remove()
    after = passes_counted()

    def grew(kind):
        key = ("efficientnet-lite0", kind)
        return after.get(key, 0) - before.get(key, 0)
    assert calls == [3, 2, 4]
    assert (grew("forward"), grew("grad"), grew("backward")) == (sum(calls), 6, 2)


def test_a_compile_that_raises_falls_back_to_eager_with_one_warning(lite0, monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise RuntimeError("no C++ compiler here\nsecond line of detail")
    monkeypatch.setattr(torch, "compile", broken)
    images = torch.rand(2, 3, 224, 224)
    with caplog.at_level(logging.WARNING, logger="scorers.models"):
        forward = CompiledForward(lite0.net, lite0.name, lite0.device)
        with torch.inference_mode():
            got, again = forward(lite0.preprocess(images)), forward(lite0.preprocess(images))
            want = lite0.logits(images)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "\n" not in warnings[0].getMessage()
    assert "efficientnet-lite0" in warnings[0].getMessage()
    assert "no C++ compiler here" in warnings[0].getMessage()
    assert torch.equal(got, want) and torch.equal(again, want)


def test_a_compiled_forward_that_fails_when_run_falls_back_once(lite0, monkeypatch, caplog):
    calls = []

    def compiled_but_failing(net, **kwargs):
        def run(x):
            calls.append(len(x))
            raise RuntimeError("inductor: backend compiler failed")
        return run
    monkeypatch.setattr(torch, "compile", compiled_but_failing)
    images = torch.rand(2, 3, 224, 224)
    with caplog.at_level(logging.WARNING, logger="scorers.models"):
        forward = CompiledForward(lite0.net, lite0.name, lite0.device)
        with torch.inference_mode():
            outputs = [forward(lite0.preprocess(images)) for _ in range(3)]
            want = lite0.logits(images)
    assert calls == [2]                                  # tried once, then eager for good
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    assert all(torch.equal(out, want) for out in outputs)
