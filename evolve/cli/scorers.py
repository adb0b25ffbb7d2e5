"""`genart classify | classes | models | layers`: look at what the scoring network sees."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from scorers import (ScorerError, available_models, imagenet_classes, load_model,
                     resolve_classes, tv_residual)
from scorers.dream import dream_layers
from scorers.models import DEFAULT_MODEL
from evolve.cli.arguments import int_in, number


def read_image(path: str) -> torch.Tensor:
    """Any image file → (3, H, W) float32 in [0, 1]; FileNotFoundError / ScorerError if bad."""
    from PIL import Image, UnidentifiedImageError

    if not Path(path).is_file():
        raise FileNotFoundError(f"no image file {path!r}")
    try:
        with Image.open(path) as image:
            array = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0   # (H, W, 3)
    except (UnidentifiedImageError, OSError) as error:
        raise ScorerError(f"cannot read {path!r} as an image ({error}); give a PNG or JPEG") \
            from None
    return torch.from_numpy(array).permute(2, 0, 1).contiguous()


def classify(args) -> int:
    if args.top < 1:
        raise ScorerError(f"--top must be at least 1, not {args.top}")
    images = [read_image(path) for path in args.images]   # fail on a bad path before loading
    model = load_model(args.model, args.device)
    size = model.input_size
    for path, image in zip(args.images, images):
        batch = torch.nn.functional.interpolate(image[None], size=(size, size),
                                                mode="bilinear", antialias=True)
        with torch.inference_mode():
            probs = model.logits(batch).float().softmax(1)[0].cpu()
        residual = float(tv_residual(batch, args.weight, "exact")[0])
        print(f"{path}  (naturalness residual {residual:.4f} at TV weight {args.weight})")
        values, indices = probs.topk(min(args.top, probs.numel()))
        for p, i in zip(values.tolist(), indices.tolist()):
            print(f"  {i:4d}  {model.class_names[i]:<32s} {p:.4f}")
    return 0


def classes(args) -> int:
    names = imagenet_classes()
    for index in resolve_classes(args.query, names):
        print(f"{index:4d}  {names[index]}")
    return 0


def models(args) -> int:
    for name, usable, note in available_models():
        print(f"{name:<22s} {'yes' if usable else 'no ':<4s} {note}")
    return 0


def layers(args) -> int:
    model = load_model(args.model, args.device)
    modules = dict(model.net.named_modules())
    shapes: dict[str, tuple] = {}

    def record(name):
        def hook(_module, _inputs, output):   # returns None: the output stays as it is
            shapes.setdefault(name, tuple(output.shape[1:]))
        return hook

    hooks = [modules[name].register_forward_hook(record(name)) for name in model.layer_names]
    try:
        with torch.inference_mode():
            model.logits(torch.zeros(1, 3, model.input_size, model.input_size))
    finally:
        for hook in hooks:
            hook.remove()
    good = dream_layers(model.name)   # measured per model; {} for the others
    print(f"{model.name}: input 3×{model.input_size}×{model.input_size}; "
          "output shape per layer (C, H, W)" + ("; * dreams well (genart dream --layer NAME)"
                                                if good else ""))
    for name in model.layer_names:
        shape = shapes.get(name)
        mark = f"* {good[name]}" if name in good else ""
        print(f"  {name:<24s} {'×'.join(map(str, shape)) if shape else '(not run)':<14s} "
              f"{mark}".rstrip())
    return 0


def register(sub) -> None:
    p = sub.add_parser("classify", help="top ImageNet classes and naturalness of images")
    p.add_argument("images", nargs="+", metavar="IMAGE")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"default: {DEFAULT_MODEL}")
    p.add_argument("--top", type=int_in(1, 1000), default=5,
                   help="classes shown per image (default 5)")
    p.add_argument("--weight", type=number(float, high=100.0, above=0.0), default=0.1,
                   help="TV denoising weight (default 0.1)")
    p.add_argument("--device", default="auto", help="auto, cpu or cuda (default: auto)")
    p.set_defaults(func=classify)

    p = sub.add_parser("classes", help="ImageNet classes matching a query (word, index, name)")
    p.add_argument("query", metavar="QUERY")
    p.set_defaults(func=classes)

    p = sub.add_parser("models", help="scoring models and whether they work offline now")
    p.set_defaults(func=models)

    p = sub.add_parser("layers", help="layer names of a model, with output shapes")
    p.add_argument("--model", default=DEFAULT_MODEL, help=f"default: {DEFAULT_MODEL}")
    p.add_argument("--device", default="cpu", help="auto, cpu or cuda (default: cpu)")
    p.set_defaults(func=layers)
