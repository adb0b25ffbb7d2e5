"""Generation part: one default robust generation, stage by stage, in seconds and network passes,
against the same networks' own batched throughput on the same device.

A pass is one image through one network, forward or backward, counted where the network is
called (scorers.models.PASSES). Stages are timed exclusively (a stage inside another counts once):
render, views, forward per network (inference, and recording gradients for tuning), backward,
naturalness, the judge's own render/views/forward, and bookkeeping (the rest: variation,
selection, Adam updates, softmax, preprocessing).

    evolution, _ = build_evolution(config); judge = make_judge(config, device); evolution.start()
    account = account_generation(evolution, judge, device)     # one step + the judge's look
"""
from __future__ import annotations

import contextlib
import math
import time
from collections import defaultdict
from dataclasses import dataclass, field

import torch

from evolve.bench.timing import seconds_of

JUDGE = "judge"


class Ledger:
    """Wall seconds and images by stage; time inside a nested stage is its own, not its
    parent's. Inside the judge stage every label is prefixed 'judge'."""

    def __init__(self, device: torch.device):
        self.device = device
        self.seconds: dict[str, float] = defaultdict(float)
        self.images: dict[str, int] = defaultdict(int)
        self.stack: list[str] = []
        self.mark = 0.0

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    @contextlib.contextmanager
    def stage(self, label: str, images: int = 0):
        if any(s.startswith(JUDGE) for s in self.stack):
            label = f"{JUDGE} {label}"
        now = self._now()
        if self.stack:
            self.seconds[self.stack[-1]] += now - self.mark
        self.stack.append(label)
        self.images[label] += images
        self.mark = now
        try:
            yield
        finally:
            now = self._now()
            self.seconds[self.stack.pop()] += now - self.mark
            self.mark = now


def _timed(ledger: Ledger, function, label):
    """function, its calls timed under label (a string, or label(*args) -> (label, images))."""
    def wrapper(*args, **kwargs):
        name, images = label(*args) if callable(label) else (label, 0)
        with ledger.stage(name, images):
            return function(*args, **kwargs)
    return wrapper


@contextlib.contextmanager
def instrumented(ledger: Ledger):
    """Route the search's render, views, network forwards, backward and naturalness through
    the ledger for the duration (module attributes patched, restored after)."""
    import evolve.runfolder.judge as judge_module
    import evolve.search.loop as loop_module
    import evolve.search.tuning as tuning_module
    import scorers.ensemble as ensemble_module
    from scorers.models import Classifier
    from scorers.naturalness import Naturalness

    def forward_label(model, x):
        kind = "forward+grad" if torch.is_grad_enabled() and x.requires_grad else "forward"
        return f"{kind} {model.name}", len(x)

    patches = [(module, "render_batch", "render")
               for module in (loop_module, tuning_module, judge_module)]
    patches += [(ensemble_module, "apply_views", "views"), (Classifier, "forward", forward_label),
                (Naturalness, "residual", "naturalness"), (torch.Tensor, "backward", "backward")]
    saved = [(owner, name, getattr(owner, name)) for owner, name, _ in patches]
    try:
        for owner, name, label in patches:
            setattr(owner, name, _timed(ledger, getattr(owner, name), label))
        yield ledger
    finally:
        for owner, name, original in saved:
            setattr(owner, name, original)


@dataclass
class GenerationAccount:
    """One generation's stages and passes; passes[(network, kind)] from scorers.PASSES."""

    seconds: float
    scored: int
    tuned: int                              # tuning evaluations: slots × (steps + 1)
    stages: dict[str, float]
    stage_images: dict[str, int]
    passes: dict[tuple[str, str], int] = field(default_factory=dict)

    def total(self, kind: str, network: str | None = None) -> int:
        return sum(n for (name, k), n in self.passes.items()
                   if k == kind and network in (None, name))

    @property
    def networks(self) -> list[str]:
        return sorted({name for name, _ in self.passes})


def account_generation(evolution, judge, device: torch.device) -> GenerationAccount:
    """One evolution.step() and the judge's score of its leader, stage by stage."""
    from evolve.search.loop import scalar
    from scorers import passes_counted

    ledger, before = Ledger(device), passes_counted()
    tuned_before = evolution.tuning_evaluations
    with instrumented(ledger):
        start = ledger._now()
        with ledger.stage("bookkeeping"):
            scored = evolution.step()
            if judge is not None:
                leader = max(evolution.population, key=scalar)
                with ledger.stage(f"{JUDGE} (other)"):
                    judge.score(leader)
        seconds = ledger._now() - start
    after = passes_counted()
    passes = {key: after[key] - before.get(key, 0) for key in after
              if after[key] - before.get(key, 0) > 0}
    return GenerationAccount(seconds, scored, evolution.tuning_evaluations - tuned_before,
                             dict(ledger.seconds), dict(ledger.images), passes)


def network_rates(model, device: torch.device, *, batch: int, grad_batch: int,
                  repeat: int = 3) -> tuple[float, float]:
    """(forward img/s under inference_mode, forward+backward img/s with the input's gradient)
    of the network alone at its input size, in the batches the generation used, best of
    `repeat`; bf16 autocast on CUDA for the forward, as score_population runs it."""
    size = model.input_size
    images = torch.rand(batch, 3, size, size, device=device)
    grad_images = torch.rand(max(grad_batch, 1), 3, size, size, device=device)

    def forward():
        with torch.inference_mode(), torch.autocast("cuda", torch.bfloat16,
                                                    enabled=device.type == "cuda"):
            model.logits(images)

    def forward_backward():
        x = grad_images.clone().requires_grad_(True)
        model.logits(x).float().sum().backward()

    rates = []
    for work, n in ((forward, batch), (forward_backward, len(grad_images))):
        work()                                                           # warm-up
        rates.append(n / min(seconds_of(work, device) for _ in range(repeat)))
    return rates[0], rates[1]


def alone_seconds(account: GenerationAccount, rates: dict[str, tuple[float, float]]) -> float:
    """Seconds the networks alone take for the generation's passes: inference forwards and
    forwards without a backward at the forward rate, forward+backward pairs at that rate."""
    total = 0.0
    for name in account.networks:
        forward, both = rates[name]
        backward = account.total("backward", name)
        total += (account.total("forward", name) - backward) / forward + backward / both
    return total


def generation_lines(config, account: GenerationAccount, rates, *, warm_up: float) -> list[str]:
    """The generation part's table: stages, passes, and the ratio to the networks alone."""
    forward, backward = account.total("forward"), account.total("backward")
    evals = account.scored + account.tuned
    models = ", ".join(config.model_names())
    lines = [f"generation  one robust generation: pop {config.population} at {config.size}², "
             f"{config.views} views × {models}, tuning {config.tune_steps} Adam steps on "
             f"{_slots(config)} genomes ({config.tune_views or config.views} views at "
             f"{config.tune_view_size or 'native'}), judge "
             f"{config.judge_name()} on {config.judge_views} views, "
             f"compile={'on' if config.compile else 'off'}"
             + (f" (compile/warm-up generation {warm_up:.1f} s, not counted)" if warm_up else ""),
             f"generation  {account.seconds:.2f} s: {account.scored} scored + {account.tuned} "
             f"tuning evaluations = {evals / account.seconds:.2f} evals/s",
             f"generation  {'stage':<52s} {'seconds':>8s} {'share':>6s} {'images':>7s}"]
    for label in sorted(account.stages, key=lambda k: (k == "bookkeeping", k.startswith(JUDGE),
                                                       k)):
        seconds = account.stages[label]
        shown = "bookkeeping (variation, selection, Adam, softmax, …)" if label == "bookkeeping" \
            else label
        images = account.stage_images.get(label, 0)
        lines.append(f"generation  {shown:<52s} {seconds:8.2f} {seconds / account.seconds:6.0%} "
                     f"{images if images else '':>7}")
    for name in account.networks:
        lines.append(f"generation  passes {name}: {account.total('forward', name)} forward "
                     f"({account.total('grad', name)} recording gradients), "
                     f"{account.total('backward', name)} backward")
    per_s = (forward + backward) / account.seconds
    lines.append(f"generation  network passes: {forward} forward + {backward} backward = "
                 f"{forward + backward} in {account.seconds:.2f} s = {per_s:.1f} passes/s")
    if rates:
        alone = alone_seconds(account, rates)
        shown = "; ".join(f"{name} forward {f:.1f} img/s, forward+backward {b:.1f} img/s"
                          for name, (f, b) in rates.items())
        lines.append(f"generation  the same networks alone, same batches: {shown}")
        lines.append(f"generation  the same passes take the networks alone {alone:.2f} s: the "
                     f"generation runs at {alone / account.seconds:.0%} of the networks' own "
                     "throughput (goal ≥ 75%)")
    return lines


def _slots(config) -> int:
    if not config.tune or config.tune_steps <= 0 or config.tune_share <= 0:
        return 0
    return max(1, math.ceil(config.tune_share * config.population))


def generation_part(device: torch.device, seed: int, *, compile: bool = False,
                    config=None) -> list[str]:
    """`genart bench --parts generation`: the default robust search (or `config`)."""
    from scorers import load_model
    from scorers.ensemble import CPU_FORWARD

    from evolve.runfolder.judge import make_judge
    from evolve.runfolder.session import build_evolution
    from evolve.search.settings import RunConfig

    config = config or RunConfig(target="crab", seed=seed, device=device.type, compile=compile)
    evolution, _ = build_evolution(config)
    judge = make_judge(config, device)
    evolution.start()
    warm_up = seconds_of(evolution.step, device) if config.compile else 0.0
    account = account_generation(evolution, judge, device)
    views = max(config.views, 1)
    batch = CPU_FORWARD if device.type == "cpu" else config.population * views
    rates = {name: network_rates(load_model(name, device, compile=config.compile), device,
                                 batch=batch,
                                 grad_batch=_slots(config) * (config.tune_views or views))
             for name in account.networks}
    return generation_lines(config, account, rates, warm_up=warm_up)
