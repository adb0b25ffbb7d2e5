"""`genart dream` (any image or formula; zoom frames; layer sweeps) and `genart polish` (a run's
best records at high resolution). Library code reports progress; the bars live here."""
from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from genart import save_png
from evolve.cli.arguments import float_in, int_in, number
from evolve.errors import RunError
from evolve.search.settings import resolve_device
from evolve.runfolder.constant_polish import (POLISH_LR, POLISH_STEPS, POLISH_TUNE_SIZE,
                                              constant_polish_lines, polish_constants,
                                              tunes_constants)
from evolve.runfolder.polish import (DEFAULT_LAYER, DreamSpec, dream_objective, load_source, parse_channels, polish_run,
                           polished_summary, sweep_sheet, write_zoom)
from scorers import load_model
from scorers.dream import dream
from scorers.dream_zoom import dream_zoom, layer_sweep, noise_image, spread

MAX_DREAM = 16384        # side of a dream or polish render (tiles keep memory bounded)


class Bar:
    """A tqdm bar driven by `progress(done, total)` callbacks; restarts when `done` falls back."""

    def __init__(self, desc: str, unit: str = "step"):
        self.desc, self.unit, self.bar, self.last = desc, unit, None, 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None or done < self.last:
            self.close()
            self.bar, self.last = tqdm(total=total, desc=self.desc, unit=self.unit, leave=False), 0
        self.bar.update(done - self.last)
        self.last = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def dream_options(args) -> dict:
    """Keyword arguments for scorers.dream from the shared options (their flags' types
    checked every range)."""
    return {"octaves": args.octaves, "octave_scale": args.octave_scale, "steps": args.steps,
            "step_size": args.step_size, "jitter": args.jitter, "tile": args.tile or None,
            "smoothness": args.smoothness, "seed": args.seed,
            "passthrough": args.relu6_passthrough}


def spec_of(args) -> DreamSpec:
    return DreamSpec(layers=tuple(args.layer or ()), channels=parse_channels(args.channels),
                     target_class=args.target_class, class_weight=args.class_weight,
                     objective=args.objective)


def refuse_ignored(args) -> None:
    """A flag the chosen dream ignores is refused in one line, not silently dropped."""
    if args.sweep:
        ignored = [flag for flag, value in (("--class", args.target_class),
                                            ("--channels", args.channels),
                                            ("--guide", args.guide),
                                            ("--zoom-frames", args.zoom_frames)) if value]
        if ignored:
            raise RunError(f"{ignored[0]} is ignored by --sweep (each layer is dreamed alone, "
                           f"on its whole output); drop one of them")
    elif args.zoom_frames == 0 and args.gif_size is not None:
        raise RunError("--gif-size is ignored without --zoom-frames; drop it or add "
                       "--zoom-frames N")


def run_dream(args) -> int:
    refuse_ignored(args)
    device = resolve_device(args.device)
    options = dream_options(args)
    if args.source == "noise":
        image, formula = noise_image(args.size or 512, args.seed, device=device), None
    else:
        image, formula = load_source(args.source, args.size, device)
    model = load_model(args.model, device)
    spec = spec_of(args)
    out = Path(args.output)
    meta = {"source": args.source if formula is None else "formula", **options}
    if args.sweep:
        return _sweep(args, model, image, spec, options, out)
    objective = dream_objective(model, spec)
    if args.guide:
        guide, _ = load_source(args.guide, None, device)
        options["guide"] = guide
    meta["objective"] = (spec.describe()
                         or DreamSpec(layers=(DEFAULT_LAYER,), objective=spec.objective).describe())
    if args.zoom_frames:
        bar = Bar("zoom", "frame")
        frames = dream_zoom(image, objective, frames=args.zoom_frames, zoom=args.zoom,
                            progress=bar, **options)
        bar.close()
        paths, gif = write_zoom(frames, out, gif_side=args.gif_size, meta=meta)
        print(f"wrote {len(paths)} frames and {gif}")
        return 0
    bar = Bar("dream")
    result = dream(image, objective, progress=bar, **options)
    bar.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    save_png(out, result, formula=formula, meta=meta)
    h, w = result.shape[-2:]
    print(f"wrote {out} ({w}x{h}, {meta['objective']})")
    return 0


def _sweep(args, model, image, spec: DreamSpec, options: dict, out: Path) -> int:
    """The image dreamed at `--sweep N` layers spread from shallow to deep: one labelled sheet."""
    names = [n for n in model.layer_names if n.startswith("blocks.")] or model.layer_names
    layers = list(spec.layers) if len(spec.layers) > 1 else spread(names, args.sweep)
    objectives = [(name, dream_objective(model, DreamSpec((name,), objective=spec.objective)))
                  for name in layers]
    bar = Bar("layer sweep", "layer")
    dreams = layer_sweep(image, objectives, progress=bar, **options)
    bar.close()
    sheet = sweep_sheet(image, dreams, tile=args.sheet_tile)
    out.parent.mkdir(parents=True, exist_ok=True)
    save_png(out, sheet, meta={"layers": ",".join(layers), "objective": spec.objective,
                               **options})
    print(f"wrote {out}: {len(layers)} layers ({', '.join(layers)})")
    return 0


def run_polish(args) -> int:
    if not args.dream and tunes_constants(Path(args.run)):    # robust runs: keep robustness
        return run_constant_polish(args)
    device = resolve_device(args.device)
    options = dream_options(args)
    model = load_model(args.model, device)
    bar = Bar("dream")
    results = polish_run(Path(args.run), model, top=args.top, size=args.size,
                         dream_options=options, spec=spec_of(args), progress=bar,
                         on_record=lambda stem: tqdm.write(f"polishing record {stem}"))
    bar.close()
    for line in polished_summary(results):
        print(line)
    print(f"gallery: {Path(args.run) / 'index.html'}")
    return 0


def run_constant_polish(args) -> int:
    """`genart polish` of a robust run: its records tuned through their constants under the
    run's own networks and views (evolve/runfolder/constant_polish.py)."""
    results = polish_constants(Path(args.run), top=args.top, size=args.size,
                               steps=args.tune_steps, tune_size=args.tune_size, lr=args.tune_lr,
                               device=resolve_device(args.device),
                               on_record=lambda stem: print(f"polishing record {stem} "
                                                            "through its constants", flush=True))
    for line in constant_polish_lines(results):
        print(line)
    print(f"gallery: {Path(args.run) / 'index.html'}")
    return 0


def add_polish_options(parser: argparse.ArgumentParser) -> None:
    """`polish`'s choice of mode and the constant polish's settings (issue 20 item 5)."""
    group = parser.add_argument_group("polish")
    group.add_argument("--dream", action="store_true",
                       help="DeepDream pixel polish (the default for --fooling and layer runs); "
                            "robust runs are otherwise tuned through their constants under "
                            "their own networks and views")
    group.add_argument("--tune-steps", type=int_in(1, 100000), default=POLISH_STEPS,
                       help=f"Adam steps of the constant polish (default {POLISH_STEPS})")
    group.add_argument("--tune-size", type=int_in(32, 4096), default=POLISH_TUNE_SIZE,
                       help=f"render side while tuning (default {POLISH_TUNE_SIZE})")
    group.add_argument("--tune-lr", type=number(float, high=10.0, above=0.0),
                       default=POLISH_LR,
                       help=f"Adam learning rate of the constant polish (default {POLISH_LR})")


def add_dream_options(parser: argparse.ArgumentParser, *, steps: int = 10) -> None:
    """The options `dream`, `polish` and `evolve --polish` share."""
    group = parser.add_argument_group("dream")
    group.add_argument("--layer", action="append", metavar="NAME",
                       help=f"layer to excite (default {DEFAULT_LAYER}; repeat to mix several; "
                            "`genart layers` marks those that dream well)")
    group.add_argument("--objective", choices=("l2", "mean"), default="l2",
                       help="layer objective: l2 = mean square of the activations, DeepDream's "
                            "(default); mean = plain mean activation (rings and moiré)")
    group.add_argument("--channels", help="only these channels of the layer, e.g. 3,17")
    group.add_argument("--class", dest="target_class", metavar="QUERY",
                       help="class to push toward (log probability), e.g. crab or 118")
    group.add_argument("--class-weight", type=float_in(0.0, 1e6), default=1.0,
                       help="weight of --class when mixed with layers (default 1)")
    group.add_argument("--octaves", type=int_in(1, 32), default=5,
                       help="image scales, smallest first (default 5; add ~2 per doubling "
                            "of the size for motifs of the same relative size)")
    group.add_argument("--octave-scale", type=number(float, high=8.0, above=1.0), default=1.4,
                       help="size ratio of one octave to the next (default 1.4)")
    group.add_argument("--steps", type=int_in(1, 100000), default=steps,
                       help="steps per octave")
    group.add_argument("--step-size", type=number(float, high=10.0, above=0.0), default=0.01,
                       help="pixel change per step (mean over the image)")
    group.add_argument("--jitter", type=int_in(0, MAX_DREAM), default=32,
                       help="max random roll in pixels")
    group.add_argument("--tile", type=int_in(0, MAX_DREAM), default=512,
                       help="gradient tile side (0 = whole)")
    group.add_argument("--smoothness", type=float_in(0.0, 1.0), default=0.0,
                       help="share of each step given to reducing total variation, 0..1")
    group.add_argument("--relu6-passthrough", action="store_true",
                       help="let gradient through saturated ReLU6 units while dreaming")
    group.add_argument("--seed", type=int_in(0, 2**63 - 1), default=0)
    group.add_argument("--device", default="auto", help="auto, cpu or cuda")
    group.add_argument("--model", default="efficientnet-lite0")


def register(sub) -> None:
    parser = sub.add_parser("dream", help="DeepDream an image, a formula or noise")
    parser.add_argument("source", metavar="IMAGE|FORMULA",
                        help="image file, genart PNG, formula text, @file.formula, or 'noise'")
    parser.add_argument("--size", type=int_in(8, MAX_DREAM),
                        help="long side in pixels (formulas default to 512)")
    parser.add_argument("--guide", metavar="IMAGE", help="pull features toward this image's")
    parser.add_argument("--zoom-frames", type=int_in(0, 10000), default=0, metavar="N",
                        help="write N zoom frames and a GIF into the folder OUT")
    parser.add_argument("--zoom", type=number(float, high=16.0, above=0.0), default=1.05,
                        help="zoom factor per frame (above 1: in, below: out)")
    parser.add_argument("--gif-size", type=int_in(8, 4096),
                        help="downscale the GIF to this width")
    parser.add_argument("--sweep", type=int_in(0, 256), nargs="?", const=6, default=0,
                        metavar="N", help="dream at N layers from shallow to deep (N 6); OUT is "
                        "a contact sheet; not with --class, --channels, --guide, --zoom-frames")
    parser.add_argument("--sheet-tile", type=int_in(16, 2048), default=256,
                        help="sweep sheet tile side")
    parser.add_argument("-o", "--output", required=True, help="output PNG (a folder for zoom)")
    add_dream_options(parser)
    parser.set_defaults(func=run_dream)

    polish = sub.add_parser("polish", help="a run's best records at high resolution: robust "
                            "runs tuned through their constants, others dreamed")
    polish.add_argument("run", metavar="RUN", help="run folder (runs/NAME)")
    polish.add_argument("--top", type=int_in(1, 10000), default=3,
                        help="how many records, best first")
    polish.add_argument("--size", type=int_in(8, MAX_DREAM), default=2048,
                        help="render side in pixels")
    add_dream_options(polish)
    add_polish_options(polish)
    polish.set_defaults(func=run_polish)


def polish_after_run(run: Path, args) -> int:
    """`genart evolve … --polish K`: polish the run's K best records with the default dream."""
    defaults = argparse.ArgumentParser()
    add_dream_options(defaults)
    add_polish_options(defaults)
    options = defaults.parse_args(["--device", args.device, "--model", args.model,
                                   "--seed", str(args.seed)])
    options.run, options.top, options.size = str(run), args.polish, args.polish_size
    return run_polish(options)
