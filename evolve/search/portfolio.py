"""The portfolio: distinct images a search keeps beside its population, and stall restarts.

Every scored genome is offered to its niche (scorers.descriptors: dominant hue × level of
detail, from a small render); each niche keeps its best by the run's fitness (MAP-Elites, one
`Archive` with explore). Records are written for each niche's gains (runfolder.session).
When the best has not climbed for `stall_generations`, the search restarts. `blend`: part of
the next generation is niche elites migrating back and fresh start forms with more units each
restart (island restart keeping the archive; NEAT-style complexification). `lineage`: the whole
population starts again from the first population's recipe (new template copies), so the next
lineage is a new picture while the archive and the records keep the old ones; with `harvest`, a
lineage also ends as soon as its best or any member of its generation meets the robust bar
(runfolder.judge says so) and is apart from every picture harvested before — or, with
lineage_harvests K, at its K-th such picture, going on meanwhile to find siblings; a twin of one
loses TWIN_COST of fitness in selection, and a new lineage may be bred from them (parents).

    niche(g) = hue(render(g)) · 3 + detail(render(g));   cell[niche] ← argmax fitness
    stalled ⇔ generation − climbed_at ≥ S;   blend: ⌈share·N / 2⌉ migrants, rest fresh
                                             lineage: N fresh, the old best kept only on disk
"""
from __future__ import annotations

import hashlib
import math
import random
import re
from collections import OrderedDict
from dataclasses import dataclass, fields, replace

import torch

from genart import Genome, parse, render_batch
from scorers.descriptors import NICHES, niche_name, niche_of

from evolve.search import operators
from evolve.search.archive import Archive
from evolve.search.robust import drawn_genome, is_robust
from evolve.search.settings import RunConfig

DESCRIPTOR_SIZE = 64      # render side the descriptors are computed at (cheap, and enough)
CACHE = 4096              # formulas whose niche is remembered (elites recur every generation)
CHECKED = 512             # formulas remembered (by digest) as already held against the bar
TWIN_COST = 10.0          # fitness (margin units) a twin of a harvested picture loses
STUCK_ROUNDS = 4          # rounds in a row not kept: the fittest's turns pass to the next fittest
KEY = re.compile(r"[0-9a-f]{16}")                          # a digest, as formula_key writes it


@dataclass
class Harvest:
    """A picture that met the robust bar, and how its polish rounds have gone."""
    formula: str                     # as drawn: what the bar and twins are judged on
    form: str | None = None          # as the search holds it (unmirrored), for later rounds
    rounds: int = 1                  # polish rounds it has had
    fitness: float | None = None     # the run's, on the polish's fixed views (None: unpolished)
    misses: int = 0                  # its latest rounds in a row not kept


# checkpoint key of each Harvest field: one list per field, as checkpoints have always held them
# (older ones lack the later keys: the field's default for every harvest)
HARVEST_KEYS = {"formula": "harvested", "form": "harvest_forms", "rounds": "harvest_rounds",
                "fitness": "harvest_fitness", "misses": "harvest_misses"}


class Portfolio:
    """One elite per niche (an `Archive` keyed 0..NICHES−1), the fitness each niche was last
    recorded at, and the stall counters of restarts. State is plain JSON."""

    def __init__(self, config: RunConfig, device: torch.device):
        self.config, self.device = config, device
        self.enabled = config.portfolio and is_robust(config)
        self.archive = Archive(list(range(NICHES)))
        self.recorded: dict[int, float] = {}          # niche → fitness of its last record
        self.parts: dict[int, dict] = {}              # niche → its elite's score parts
        self.climb_mark, self.climbed_at, self.restarts = -math.inf, 0, 0
        self.harvests: list[Harvest] = []     # pictures that met the robust bar, in order
        self.checked: list[str] = []          # digests of the last CHECKED formulas held to it
        self.harvest_due = False
        self.lineage_harvests = 0             # harvests since this lineage started
        self._niches: OrderedDict[str, int] = OrderedDict()
        self._harvest_images = torch.empty(0)

    # --- the archive ---------------------------------------------------------------------------
    def niches(self, genomes: list[Genome]) -> list[int]:
        """Each genome's niche, from one batched render, as drawn (records show it so), of the
        ones not seen before."""
        texts = [str(g) for g in genomes]
        new = list(dict.fromkeys(t for t in texts if t not in self._niches))
        if new:
            unique = {t: g for t, g in zip(texts, genomes)}
            images = self._renders([drawn_genome(self.config, unique[t]) for t in new])
            for text, niche in zip(new, niche_of(images).tolist()):
                self._niches[text] = niche
        for text in texts:
            self._niches.move_to_end(text)
        while len(self._niches) > CACHE:
            self._niches.popitem(last=False)
        return [self._niches[t] for t in texts]

    def offer(self, genomes: list[Genome], generation: int, best: Genome) -> list[int]:
        """The scored batch claims its niches; notes whether the best climbed → niches changed."""
        if scalar(best) > self.climb_mark + self.config.record_gain:
            self.climb_mark, self.climbed_at = scalar(best), generation
        if not self.enabled or not genomes:
            return []
        parts = [g.parts for g in genomes]
        confidence = [p["target_prob"] if p.get("target_prob") is not None else p["objective"]
                      for p in parts]
        changed = self.archive.place([str(g) for g in genomes],
                                     torch.tensor(self.niches(genomes)),
                                     torch.tensor([p["fitness"] for p in parts]),
                                     torch.tensor(confidence),
                                     torch.tensor([p["residual"] for p in parts]), generation)
        by_text = {str(g): g.parts for g in genomes}
        for niche in changed:
            self.parts[niche] = dict(by_text[self.archive.cells[niche].formula])
        return changed

    def niche_of_formula(self, text: str) -> int | None:
        return self._niches.get(text)

    def due_record(self, best: Genome) -> int | None:
        """The niche to record now: its elite at or above `portfolio_bar` and `record_gain` above
        its last record, the largest gain first; not the run's best (recorded as the best)."""
        gain, bar = self.config.record_gain, self.config.portfolio_bar
        last = self.recorded
        due = [(e.fitness - last.get(c, -math.inf), c) for c, e in self.archive.cells.items()
               if e.fitness >= bar and e.formula != str(best)
               and e.fitness >= last.get(c, -math.inf) + gain]
        if not due:
            return None
        return max(due)[1]

    def elite(self, niche: int) -> Genome:
        """A niche's elite as a genome carrying its score parts (for its record)."""
        genome = parse(self.archive.cells[niche].formula)
        genome.parts = dict(self.parts[niche])
        return genome

    def record_fields(self, genome: Genome, niche: int | None) -> dict:
        """A record's JSON about its look: the niche (a niche's gain, or the best's own niche
        when known) and whether the portfolio wrote it."""
        look = niche if niche is not None else self._niches.get(str(genome))
        if not self.enabled or look is None:
            return {}
        return {"niche": look, "look": niche_name(look), "niche_record": niche is not None}

    def stats(self) -> dict:
        """Log fields: niches filled, niches at --portfolio-bar, restarts, harvests so far and
        their polish rounds (tried)."""
        harvests = {"harvests": len(self.harvests),
                    "polish_rounds": sum(h.rounds for h in self.harvests)
                    } if self.config.harvest else {}
        if not self.enabled:
            restarts = {"restarts": self.restarts} if self.config.stall_generations else {}
            return {**restarts, **harvests}
        bar = self.config.portfolio_bar
        return {"portfolio": len(self.archive.cells),
                "portfolio_robust": sum(e.fitness >= bar for e in self.archive.cells.values()),
                "restarts": self.restarts, **harvests}

    # --- keep climbing -------------------------------------------------------------------------
    def stalled(self, generation: int) -> bool:
        """The best has not climbed by --record-gain for --stall-generations (0: never), or for
        --sibling-generations once this lineage has harvested: a sibling crab comes within a few
        generations or, mostly, not at all (seeds 70–75), and a new lineage is a new crab."""
        c = self.config
        limit = c.stall_generations
        if self.lineage_harvests and c.sibling_generations:
            limit = min(limit, c.sibling_generations) if limit else c.sibling_generations
        return limit > 0 and generation - self.climbed_at >= limit

    def restart(self, generation: int, room: int, population: list[Genome]) -> list[Genome]:
        """Genomes for a blend restart (none unless stalled): niche elites not in the population,
        then fresh start forms with `restart_units` more units per restart so far."""
        c = self.config
        if c.restart_mode != "blend" or not self.stalled(generation):
            return []
        k = min(round(c.restart_share * c.population), room)
        if k <= 0:
            return []
        self.restarts += 1
        self.climbed_at = generation
        held = {str(g) for g in population}
        elites = sorted(e.formula for e in self.archive.cells.values() if e.formula not in held)
        migrants = random.sample(elites, min(len(elites), math.ceil(k / 2)))
        start = replace(c.start(), share=1.0, terms=c.start_terms + self.restarts * c.restart_units)
        return [parse(f) for f in migrants] + operators.initial_population(k - len(migrants), start)

    def checked_before(self, formula: str) -> bool:
        """Whether the formula was held against the bar (among the last CHECKED)."""
        return formula_key(formula) in self.checked

    def mark_checked(self, formula: str) -> None:
        """The formula has been held against the bar (the last CHECKED are remembered)."""
        key = formula_key(formula)
        if key not in self.checked:
            self.checked = (self.checked + [key])[-CHECKED:]

    def apart(self, genome: Genome) -> bool:
        """Whether a genome's picture (as drawn: mirrored under --symmetry mirror) differs from
        every one harvested so far by more than --harvest-apart: a twin of a harvested crab is
        no new crab, so its lineage goes on."""
        return self.apart_all([genome])[0]

    def apart_all(self, genomes: list[Genome], besides: int | None = None) -> list[bool]:
        """`apart` for many genomes, from one batched render; `besides`: a harvest not held
        against them (its own polished picture may stay close to it)."""
        others = [i for i in range(len(self.harvests)) if i != besides]
        if not others or not genomes:
            return [True] * len(genomes)
        if len(self._harvest_images) != len(self.harvests):      # derived, not in the state
            self._harvest_images = self._renders([parse(f) for f in self.harvested])
        images = self._renders([drawn_genome(self.config, g) for g in genomes])  # (N, 3, S, S)
        gaps = pixel_gaps(images, self._harvest_images[others])
        return (gaps > self.config.harvest_apart).all(dim=1).tolist()

    def shun_twins(self, genomes: list[Genome]) -> None:
        """Scored genomes whose pictures are twins of a harvest lose TWIN_COST of fitness, so
        selection leaves the crabs already harvested and the lineage looks for a new one."""
        for genome, apart in zip(genomes, self.apart_all(genomes)):
            if not apart:
                genome.parts["fitness"] -= TWIN_COST

    def _renders(self, genomes: list[Genome]) -> torch.Tensor:
        with torch.inference_mode():
            return render_batch(genomes, DESCRIPTOR_SIZE, self.device)

    @property
    def harvested(self) -> list[str]:
        """The harvests' formulas as drawn, in order."""
        return [h.formula for h in self.harvests]

    def harvest(self, formula: str, generation: int | None = None,
                form: str | None = None, fitness: float | None = None) -> None:
        """A picture met the robust bar: with lineage restarts, the next step starts a new
        lineage (a night buys many robust pictures, not one polished past the bar) once this
        one has made --lineage-harvests; before that it goes on, its twins of the harvest
        shunned, with the stall clock started again at `generation` to find a sibling.
        `form`: the genome's text as the search holds it (unmirrored), for later rounds;
        `fitness`: the run's fitness of it on the polish's fixed views (None: not polished)."""
        self.harvests.append(Harvest(formula, form, fitness=fitness))
        self.lineage_harvests += 1
        done = self.lineage_harvests >= self.config.lineage_harvests
        self.harvest_due = self.config.restart_mode == "lineage" and done
        if not done and generation is not None:
            self.climbed_at = generation

    def due_round(self, rounds: int) -> int | None:
        """--harvest-rounds: the harvest to polish once more, or None when each has had `rounds`
        (0: no end) or has no form to polish. Later rounds alternate: the fewest rounds so far
        (then the earliest), so every harvest is polished again; then the fittest on the fixed
        views, so the night's best keeps climbing instead of waiting its turn among many — of
        those whose last STUCK_ROUNDS rounds were not all lost: a harvest at its constants'
        optimum passes the turn to the next fittest, which may still climb."""
        h = self.harvests
        due = [i for i, one in enumerate(h) if one.form and (one.rounds < rounds or rounds == 0)]
        fit = [i for i in due if h[i].fitness is not None and h[i].misses < STUCK_ROUNDS]
        later = sum(one.rounds - 1 for one in h)                    # rounds after the first
        if later % 2 and fit:
            return max(fit, key=lambda i: (h[i].fitness, -i))
        return min(due, key=lambda i: (h[i].rounds, i)) if due else None

    def polished_round(self, index: int, fitness: float | None, formula: str | None = None,
                       form: str | None = None) -> None:
        """Harvest `index` had one more round, measured at `fitness` on the fixed views; when it
        was kept, `formula` (as drawn) and `form` are its picture from now on (twins are
        judged against it); when not, it has missed one more round in a row."""
        harvest = self.harvests[index]
        harvest.rounds, harvest.fitness = harvest.rounds + 1, fitness
        harvest.misses = 0 if formula is not None else harvest.misses + 1
        if formula is not None:
            harvest.formula, harvest.form = formula, form
            self._harvest_images = torch.empty(0)

    def new_lineage(self, generation: int) -> bool:
        """Lineage restarts: True when stalled or harvested. The stall clock and the climb mark
        start again: the new lineage climbs from its own first population, not the old best."""
        if self.config.restart_mode != "lineage" or not (self.harvest_due
                                                         or self.stalled(generation)):
            return False
        self.restarts += 1
        self.harvest_due, self.lineage_harvests = False, 0
        self.climbed_at, self.climb_mark = generation, -math.inf
        return True

    # --- state ---------------------------------------------------------------------------------
    def to_json(self) -> dict:
        return {"archive": self.archive.to_json(),
                "recorded": {str(c): f for c, f in sorted(self.recorded.items())},
                "parts": {str(c): p for c, p in sorted(self.parts.items())},
                "climb_mark": None if self.climb_mark == -math.inf else self.climb_mark,
                "climbed_at": self.climbed_at, "restarts": self.restarts,
                **{key: [getattr(h, name) for h in self.harvests]
                   for name, key in HARVEST_KEYS.items()}, "checked": self.checked,
                "harvest_due": self.harvest_due, "lineage_harvests": self.lineage_harvests}

    def restore(self, data: dict | None, generation: int) -> None:
        """From to_json's dict; None (a checkpoint written before portfolios): empty, and the
        stall clock starts at `generation`."""
        data = data or {"climbed_at": generation}
        if "archive" in data:
            self.archive = Archive.from_json(data["archive"])
        self.recorded = {int(c): float(f) for c, f in data.get("recorded", {}).items()}
        self.parts = {int(c): dict(p) for c, p in data.get("parts", {}).items()}
        mark = data.get("climb_mark")
        self.climb_mark = -math.inf if mark is None else float(mark)
        self.climbed_at, self.restarts = data["climbed_at"], data.get("restarts", 0)
        n = len(data.get("harvested", []))
        columns = {f.name: data.get(HARVEST_KEYS[f.name], [f.default] * n) for f in fields(Harvest)}
        self.harvests = [Harvest(**dict(zip(columns, values))) for values in zip(*columns.values())]
        self._harvest_images = torch.empty(0)
        checked = data.get("checked", [])     # older checkpoints: one formula, then formulas
        checked = [checked] if isinstance(checked, str) and checked else list(checked or [])
        self.checked = [c if KEY.fullmatch(c) else formula_key(c) for c in checked][-CHECKED:]
        self.harvest_due = data.get("harvest_due", False)
        self.lineage_harvests = data.get("lineage_harvests", 0)


def pixel_gaps(images: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    """(N, M) mean absolute pixel difference of each image (N, C, S, S) from each other one
    (M, C, S, S): the twin rule's distance (apart above --harvest-apart, at DESCRIPTOR_SIZE)."""
    return (images[:, None] - others[None]).abs().mean(dim=(2, 3, 4))


def scalar(genome: Genome) -> float:
    return genome.parts["fitness"]


def formula_key(formula: str) -> str:
    """A short digest of a formula's text (checkpoints hold hundreds of them, not the texts)."""
    return hashlib.sha1(formula.encode()).hexdigest()[:16]
