"""Population part: a whole population of default formulas per render (issue 11).

Default genomes are the first population of a default run built entirely of its start form
(`shape_of` names it: today CPPN-style nets of 12 hidden units, ~270 nodes). Per size and
population: the structure-batched renderer (its plan built by the first render of a population,
reused by the next ones, as constant tuning does), the per-node reference
(render_batch(batched=False)) and DEAP's gp.compile lambda over numpy coordinate arrays
(float64 as np.linspace makes them, and float32), timed in interleaved rounds (this VM's speed
drifts 1.5x); tensor operations per render are counted by a dispatch mode. The reference and
the numpy lambdas cost the same per image whatever the population, so they run on the first
few genomes only.
"""
from __future__ import annotations

import dataclasses
import random
import statistics

import numpy as np
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from evolve.bench.timing import seconds_of


class OpCounter(TorchDispatchMode):
    """Counts the tensor operations that reach torch's dispatcher (a CPU render's numpy sin,
    cos and tanh calls, one per group or node like the op they replace, are not seen)."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.count += 1
        return func(*args, **(kwargs or {}))


def numpy_pset():
    """Our primitives over numpy arrays (a colour is (3, 1, 1)): what a DEAP user compiles for
    vectorised evaluation; gp.compile evals our own trees, never user text."""
    from deap import gp

    from genart import primitives as p

    def channel(a, k):
        return a[k] if np.ndim(a) == 3 else a

    def safe(b):
        return np.where(np.abs(b) <= p.EPS_DIV, 1.0, b)

    def lattice(i, j):
        def permute(n):
            return np.mod((34.0 * n + 1.0) * n, 289.0)
        return permute(permute(np.mod(i, 289.0)) + np.mod(j, 289.0)) / 144.5 - 1.0

    def noise(a, b):
        u = np.clip(np.nan_to_num(a) * p.NOISE_FREQ, -1e6, 1e6)
        v = np.clip(np.nan_to_num(b) * p.NOISE_FREQ, -1e6, 1e6)
        i, j = np.floor(u), np.floor(v)
        su, sv = (u - i) ** 2 * (3 - 2 * (u - i)), (v - j) ** 2 * (3 - 2 * (v - j))
        top = lattice(i, j) + su * (lattice(i + 1, j) - lattice(i, j))
        bottom = lattice(i, j + 1) + su * (lattice(i + 1, j + 1) - lattice(i, j + 1))
        return top + sv * (bottom - top)

    def hsv(h, s, v):
        h, s, v = channel(h, 0), channel(s, 1), channel(v, 2)
        sat, val = np.clip((s + 1) / 2, 0, 1), np.clip((v + 1) / 2, 0, 1)
        k = [np.mod(n + 3.0 * h, 6.0) for n in (5.0, 3.0, 1.0)]
        ramps = [np.clip(np.minimum(kn, 4 - kn), 0, 1) for kn in k]
        return np.stack(np.broadcast_arrays(*[2 * (val - val * sat * r) - 1 for r in ramps]))

    functions = {
        "add": np.add, "sub": np.subtract, "mul": np.multiply,
        "div": lambda a, b: a / safe(b), "mod": lambda a, b: np.mod(a, safe(b)),
        "sin": np.sin, "cos": np.cos, "tanh": np.tanh, "abs": np.abs,
        "sqrt": lambda a: np.sqrt(np.abs(a) + p.EPS_SQRT),
        "log": lambda a: np.log(np.abs(a) + p.EPS_LOG),
        "min": np.minimum, "max": np.maximum, "if_pos": lambda a, b, c: np.where(a > 0, b, c),
        "rgb": lambda a, b, c: np.stack(np.broadcast_arrays(channel(a, 0), channel(b, 1),
                                                            channel(c, 2))),
        "hsv": hsv, "noise": noise}
    pset = gp.PrimitiveSet("numpy", len(p.TERMINALS))
    pset.renameArguments(**{f"ARG{i}": name for i, name in enumerate(p.TERMINALS)})
    for name, function in functions.items():
        pset.addPrimitive(function, p.PRIMITIVES[name][1], name=name)
    pset.context["colour"] = lambda *v: np.array(v).reshape(3, 1, 1)
    return pset


def numpy_images(functions, size: int, dtype) -> list:
    """Each compiled lambda evaluated once on the coordinate arrays, squashed to (3, H, W)."""
    centres = (2 * (np.arange(size) + 0.5) - size) / size
    x, y = centres.astype(dtype).reshape(1, -1), -centres.astype(dtype).reshape(-1, 1)
    r, theta = np.sqrt(x * x + y * y), np.arctan2(y, x)
    with np.errstate(all="ignore"):
        return [np.broadcast_to(0.5 + 0.5 * np.tanh(np.nan_to_num(f(x, y, r, theta), nan=0.0)),
                                (3, size, size)) for f in functions]


def default_genomes(n: int, seed: int) -> list:
    """n capacity-rich start formulas (the default --start form), as a default run draws them."""
    from evolve.search.operators import initial_population
    from evolve.search.settings import RunConfig

    c = RunConfig(target="crab")
    state = random.getstate()
    random.seed(seed)
    try:
        return initial_population(n, dataclasses.replace(c.start(), share=1.0))
    finally:
        random.setstate(state)


def shape_of(genomes) -> str:
    """What the rendered formulas are: the default start form, its size and node counts."""
    from evolve.search.settings import RunConfig

    start = RunConfig(target="crab").start()
    unit = "hidden units" if start.form == "cppn" else "sines per channel"
    nodes = [len(g) for g in genomes]
    return (f"default start formulas ({start.form} form, {start.terms} {unit}; "
            f"{statistics.mean(nodes):.0f} nodes, {min(nodes)}–{max(nodes)})")


def rate_of(work, images: int, device, least: float = 0.05) -> float:
    """Images per second of work() repeated for at least `least` seconds (a sub-millisecond
    render timed once is mostly noise)."""
    calls, seconds = 0, 0.0
    while seconds < least:
        seconds += seconds_of(work, device)
        calls += 1
    return images * calls / seconds


def population_bench(report, *, device: torch.device, sizes=(8, 128, 224),
                     counts=(16, 256, 1024), seed: int = 0, rounds: int = 3,
                     reference_genomes: int = 64, numpy_genomes: int = 16) -> None:
    """report(line) for every (size, population); see the module docstring."""
    from deap import gp

    from genart import Genome, render_batch

    genomes = default_genomes(max(counts), seed)
    report(f"population: {shape_of(genomes)}, device={device}, "
           f"medians of {rounds} interleaved rounds (ratios: of each round's pair); reference "
           f"on {min(reference_genomes, len(genomes))} genomes, numpy on {numpy_genomes}")
    few, pset = genomes[:numpy_genomes], numpy_pset()
    functions = [gp.compile(g, pset) for g in few]                  # compiled once, untimed
    sub = genomes[:reference_genomes]

    def counted(work) -> int:
        with OpCounter() as counter:
            work()
        return counter.count

    for size in sizes:
        cold, ops = {}, {}
        for n in counts:                                               # first renders, op counts
            fresh = [Genome(g) for g in genomes[:n]]                   # new objects: no plan yet
            cold[n] = n / seconds_of(lambda: render_batch(fresh, size, device), device)
            ops[n] = counted(lambda: render_batch(genomes[:n], size, device))
        reference_ops = counted(lambda: render_batch(few, size, device, batched=False))
        rounds_seen = []
        for _ in range(rounds):                 # every rate of a round sees one machine speed
            rate = {n: rate_of(lambda: render_batch(genomes[:n], size, device), n, device)
                    for n in counts}
            rate["reference"] = rate_of(lambda: render_batch(sub, size, device, batched=False),
                                        len(sub), device)
            for dtype in (np.float64, np.float32):
                rate[np.dtype(dtype).name] = rate_of(
                    lambda: numpy_images(functions, size, dtype), len(few), device)
            rounds_seen.append(rate)

        def median(key, over=None):
            return statistics.median(r[key] / (r[over] if over else 1) for r in rounds_seen)
        report(f"  {size}x{size}: reference (per-node) {median('reference'):.0f} img/s; DEAP "
               f"gp.compile lambda on numpy arrays: float64 {median('float64'):.0f} img/s, "
               f"float32 {median('float32'):.0f} img/s")
        for n in counts:
            report(f"    N={n:5d}: batched {median(n):8.0f} img/s (first render, planning "
                   f"included: {cold[n]:.0f}) = {median(n, 'reference'):.1f}x reference, "
                   f"{median(n, 'float64'):.1f}x numpy float64, {median(n, 'float32'):.2f}x "
                   f"float32; tensor ops per render {ops[n]} vs reference "
                   f"~{reference_ops * n // len(few)}")
    tuning_step(report, device=device, genomes=genomes[:8], size=128, rounds=rounds)


def tuning_step(report, *, device, genomes, size: int, rounds: int) -> None:
    """One Adam step's render and backward with the constants as leaves, both paths."""
    from genart import constants_of, render_batch

    params = [torch.tensor(constants_of(g), device=device, requires_grad=True) for g in genomes]

    def step(batched: bool):
        images = render_batch(genomes, size, device, constants=params, batched=batched)
        images.mean().backward()

    step(True)
    times = {True: [], False: []}
    for _ in range(rounds):
        for batched in (True, False):
            times[batched].append(seconds_of(lambda: step(batched), device))
    new, old = (statistics.median(times[b]) for b in (True, False))
    report(f"  tuning step (render with constants + backward), {len(genomes)} genomes at "
           f"{size}x{size}: batched {new * 1e3:.0f} ms, reference {old * 1e3:.0f} ms "
           f"= {old / new:.1f}x")


def population_part(device: torch.device, seed: int) -> list[str]:
    """`genart bench --parts population`."""
    lines: list[str] = []
    population_bench(lines.append, device=device, seed=seed)
    return lines

