"""Does any cheap picture distance tell the harvests a person calls twins from the rest (issue 21)?
Pairs within one of the groups named on the sheets of seeds 89–94 (docs/measurements.md, waves 26
to 28) are twins; for each distance: the twins' largest, how many other pairs lie below it, and
the AUC (the chance a twin pair lies closer than another pair; 1.0: a threshold splits them).
usage: python docs/measure/twin_metrics.py   (the project on PYTHONPATH, runs in runs/measure)"""
from pathlib import Path

import torch
import torch.nn.functional as F

from evolve.search.portfolio import DESCRIPTOR_SIZE, pixel_gaps
from genart import parse, render_batch
from scorers import load_model
from speed_summary import latest_harvests

RUNS = Path(__file__).resolve().parents[2] / "runs" / "measure"
TWINS = {"hour36-s89": [{5, 9}, {90, 91}, {87, 20}, {89, 28, 55}, {99, 39}, {54, 69, 79, 100},
                        {70, 80}],
         "hour37-s90": [{49, 82, 93}, {96, 68}],
         "hour38-s91": [{24, 71, 30}, {39, 44}],
         "hour39-s92": [{42, 54}],
         "hour40-s93": [{46, 53}, {75, 78, 81}],
         "hour41-s94": [{22, 84}, {32, 88}, {49, 65, 78}, {66, 86}]}


def gaps(images: torch.Tensor) -> torch.Tensor:
    return pixel_gaps(images, images)


def centred(rgba: torch.Tensor, out: int = 48) -> torch.Tensor:
    """Each figure moved to its alpha's centroid and scaled to its alpha's spread."""
    alpha, side = rgba[:, 3], rgba.shape[-1]
    ys = torch.linspace(-1, 1, side)[:, None].expand(side, side)
    xs = ys.T
    mass = alpha.sum(dim=(1, 2))
    cy, cx = (alpha * ys).sum(dim=(1, 2)) / mass, (alpha * xs).sum(dim=(1, 2)) / mass
    spread = ((alpha * ((ys - cy[:, None, None]) ** 2 + (xs - cx[:, None, None]) ** 2))
              .sum(dim=(1, 2)) / mass).sqrt()
    theta = torch.zeros(len(rgba), 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 2 * spread
    theta[:, 0, 2], theta[:, 1, 2] = cx, cy
    grid = F.affine_grid(theta, [len(rgba), 4, out, out], align_corners=False)
    return F.grid_sample(rgba, grid, align_corners=False)


def distances(rgba: torch.Tensor, rgb: torch.Tensor, lite0) -> dict[str, torch.Tensor]:
    alpha = rgba[:, 3:]
    both_in = torch.minimum(alpha[:, None], alpha[None]).sum(dim=(2, 3, 4))
    either = torch.maximum(alpha[:, None], alpha[None]).sum(dim=(2, 3, 4))
    last = [m for m in lite0.net.modules() if isinstance(m, torch.nn.Linear)][-1]
    grabbed = []
    handle = last.register_forward_hook(lambda _m, inputs, _o: grabbed.append(inputs[0]))
    with torch.no_grad():
        lite0.logits(rgb)
    handle.remove()
    features = F.normalize(grabbed[0], dim=1)
    moved = centred(rgba)
    return {"rgb 64 px (the search's)": gaps(rgb), "rgb 16 px": gaps(F.avg_pool2d(rgb, 4)),
            "rgb 8 px": gaps(F.avg_pool2d(rgb, 8)), "alpha 64 px": gaps(alpha),
            "alpha 16 px": gaps(F.avg_pool2d(alpha, 4)), "alpha 1 - IoU": 1 - both_in / either,
            "Lite0 features 1 - cos": 1 - features @ features.T,
            "alpha centred, 12 px": gaps(F.avg_pool2d(moved[:, 3:], 4))}


def main() -> None:
    lite0 = load_model("efficientnet-lite0", "cpu")
    pairs: dict[str, list[tuple[float, bool]]] = {}
    for run, groups in TWINS.items():
        rows = latest_harvests(RUNS / run)
        names = [int(r["number"]) for r in rows]
        genomes = [parse(r["formula"]) for r in rows]
        rgba = render_batch(genomes, DESCRIPTOR_SIZE, torch.device("cpu"), alpha=True)
        rgb = render_batch(genomes, DESCRIPTOR_SIZE, torch.device("cpu"))
        group = {n: k for k, members in enumerate(groups) for n in members}
        for name, matrix in distances(rgba, rgb, lite0).items():
            for i in range(len(names)):
                for j in range(i + 1, len(names)):
                    twin = names[i] in group and group[names[i]] == group.get(names[j])
                    pairs.setdefault(name, []).append((float(matrix[i, j]), twin))
    for name, values in pairs.items():
        twins = [d for d, twin in values if twin]
        others = [d for d, twin in values if not twin]
        auc = sum((t < o) + 0.5 * (t == o) for t in twins for o in others) / (
            len(twins) * len(others))
        print(f"{name:24s} twins {len(twins)}: largest {max(twins):.3f}; others {len(others)}: "
              f"{sum(o < max(twins) for o in others)} below it; AUC {auc:.3f}")


if __name__ == "__main__":
    main()
