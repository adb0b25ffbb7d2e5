"""`genart render` and `genart random`: formulas to PNG files, and a sheet of random formulas."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from genart import contact_sheet, parse, random_genomes, read_formula, render_batch, save_png
from evolve.cli.arguments import int_in
from evolve.search.settings import resolve_device

MAX_RENDER = 16384        # side of a `genart render`; bigger renders go in row bands below it
MAX_ANTIALIAS = 8

def formula_text(source: str) -> str:
    """FORMULA text, @file.formula, or a PNG written by genart."""
    if source.startswith("@"):
        path = Path(source[1:])
        if not path.is_file():
            raise FileNotFoundError(f"no such formula file: {path}")
        return path.read_text(encoding="utf-8", errors="replace").strip()
    if source.lower().endswith(".png"):
        return read_formula(source)
    return source


def run_render(args) -> int:
    genome = parse(formula_text(args.formula))
    device = resolve_device(args.device)
    image = render_batch([genome], args.size, device, antialias=args.aa)[0]
    save_png(args.output, image, formula=str(genome),
             meta={"size": args.size, "antialias": args.aa})
    print(f"wrote {args.output} ({args.size}x{args.size}, antialias {args.aa})")
    return 0


def run_random(args) -> int:
    genomes = random_genomes(args.n, args.seed)
    images = render_batch(genomes, args.size, resolve_device(args.device))
    sheet = contact_sheet(images, [str(g) for g in genomes])
    pixels = torch.from_numpy(np.asarray(sheet).copy()).permute(2, 0, 1).float() / 255
    save_png(args.output, pixels, meta={"formulas": "\n".join(str(g) for g in genomes),
                                        "tile_size": args.size, "seed": args.seed})
    print(f"wrote {args.output}: {args.n} random formulas (seed {args.seed})")
    return 0


def register(sub) -> None:
    render = sub.add_parser("render", help="render a formula (text, @file or genart PNG) to PNG")
    render.add_argument("formula", help="formula text, @file.formula, or a PNG made by genart")
    render.add_argument("--size", type=int_in(1, MAX_RENDER), default=1024,
                        help=f"output side in pixels (up to {MAX_RENDER})")
    render.add_argument("--aa", type=int_in(1, MAX_ANTIALIAS), default=3,
                        help="supersampling factor (1 = off)")
    render.add_argument("--device", default="auto", help="auto, cpu or cuda")
    render.add_argument("-o", "--output", required=True, help="output PNG path")
    render.set_defaults(func=run_render)

    random = sub.add_parser("random", help="a labelled contact sheet of random formulas")
    random.add_argument("--n", type=int_in(1, 1024), default=16, help="how many formulas")
    random.add_argument("--seed", type=int_in(0, 2**63 - 1), default=1)
    random.add_argument("--size", type=int_in(8, 1024), default=128, help="tile side in pixels")
    random.add_argument("--device", default="auto", help="auto, cpu or cuda")
    random.add_argument("-o", "--output", required=True, help="output PNG path")
    random.set_defaults(func=run_random)
