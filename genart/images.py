"""PNG files that carry their formula: float images at the boundary become uint8 RGB."""
from __future__ import annotations

import math
import os
import tempfile
from importlib import metadata
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont, PngImagePlugin

from genart.errors import GenartError

LABEL_HEIGHT = 14     # pixels under each tile of a contact sheet


def _version() -> str:
    try:
        return metadata.version("genart")
    except metadata.PackageNotFoundError:
        return "unknown"


def save_png(path, image: torch.Tensor, formula: str | None = None, meta: dict | None = None):
    """Write image (3, H, W) in [0, 1] as an RGB PNG (or (4, H, W): RGBA, a figure with its
    transparency), atomically (temp file + os.replace).

    The formula, genart's version and every `meta` item (as text) go in PNG tEXt chunks.
    """
    if image.dim() != 3 or image.shape[0] not in (3, 4):
        raise GenartError(f"save_png wants an image (3, H, W) or (4, H, W), "
                          f"got {tuple(image.shape)}")
    pixels = (image.detach().float().clamp(0, 1) * 255).round().to(torch.uint8)
    array = pixels.permute(1, 2, 0).cpu().numpy()                       # (H, W, 3 or 4)
    info = PngImagePlugin.PngInfo()
    info.add_text("genart_version", _version())
    if formula is not None:
        info.add_text("formula", str(formula))
    for key, value in (meta or {}).items():
        info.add_text(str(key), str(value))
    path = Path(path)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp",
                                    dir=path.parent if str(path.parent) else ".")
    try:
        with os.fdopen(handle, "wb") as file:
            Image.fromarray(array, "RGBA" if image.shape[0] == 4 else "RGB").save(file, format="PNG", pnginfo=info)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def read_png(path) -> tuple[torch.Tensor, dict]:
    """An image file as (3, H, W) float32 in [0, 1] plus its text metadata."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such image: {path}")
    try:
        with Image.open(path) as file:
            text = dict(getattr(file, "text", {}) or {})
            array = np.asarray(file.convert("RGB"))                      # (H, W, 3) uint8
    except (OSError, SyntaxError) as error:
        raise GenartError(f"cannot read {path} as an image ({error}); give a PNG or JPEG")
    image = torch.from_numpy(array.copy()).permute(2, 0, 1).float() / 255
    return image, text


def read_formula(path) -> str:
    """The formula stored in a PNG written by genart; GenartError if it has none."""
    _, text = read_png(path)
    if "formula" not in text:
        raise GenartError(f"{path} has no formula in its metadata; was it made by genart?")
    return text["formula"]


def contact_sheet(images: torch.Tensor, labels: list[str]) -> Image.Image:
    """Tiles (N, 3, S, S) in a near-square grid, each with its label underneath."""
    n, _, size, _ = images.shape
    cols = math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    sheet = Image.new("RGB", (cols * size, rows * (size + LABEL_HEIGHT)), "white")
    draw, font = ImageDraw.Draw(sheet), ImageFont.load_default()
    tiles = (images.clamp(0, 1) * 255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu()
    chars = max(4, size // 6)
    for k, (tile, label) in enumerate(zip(tiles, labels)):
        left, top = (k % cols) * size, (k // cols) * (size + LABEL_HEIGHT)
        sheet.paste(Image.fromarray(np.asarray(tile)), (left, top))
        text = label if len(label) <= chars else label[:chars - 1] + "…"
        draw.text((left + 2, top + size + 1), text.replace("…", "~"), fill="black", font=font)
    return sheet
