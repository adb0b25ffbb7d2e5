"""--harvest-grow: a harvest whose polish rounds stall is polished grown (NEAT-style: the same
picture with new constants), on the real networks and a real run folder."""
import json

from genart import constants_of, parse
from test_evolve_harvest import harvested_for_rounds


def test_a_harvest_whose_rounds_stall_is_polished_grown_and_kept_with_its_new_constants(tmp_path):
    """At GROW_AFTER missed rounds a round polishes the harvest grown by --harvest-grow terms,
    its record says so, and once kept the harvest's form is the grown one (five constants
    more: a colour and two scalars) with the misses cleared; below GROW_AFTER a round polishes
    the harvest as it is."""
    from evolve.runfolder.harvest import GROW_AFTER, ROUND_EVERY, polish_round
    from evolve.search.settings import RunConfig

    session, crab, portfolio = harvested_for_rounds(tmp_path, rounds=0)
    session.config = session.evolution.config = RunConfig(
        **{**session.config.to_json(), "harvest_grow": 3})
    session.evolution.generation = ROUND_EVERY
    records = tmp_path / "run" / "records"

    def round_with(misses: int) -> dict:
        portfolio.harvests[0].misses = misses
        before = session.records
        assert polish_round(session) and session.records == before + 1
        return json.loads((records / f"{before:04d}.json").read_text())["polish"]

    polish = round_with(GROW_AFTER)
    assert polish["grown"] == 3 and polish["kept"] and polish["at_bar"]
    assert polish["fixed_fitness_after"] >= polish["fixed_fitness_before"]
    grown_form = portfolio.harvests[0].form
    assert len(constants_of(parse(grown_form))) == len(constants_of(crab)) + 5
    assert portfolio.harvests[0].misses == 0 and portfolio.harvests[0].rounds == 2
    assert round_with(GROW_AFTER - 1)["grown"] == 0           # kept: its own constants tuned
    assert len(constants_of(parse(portfolio.harvests[0].form))) == len(constants_of(crab)) + 5
    assert portfolio.harvests[0].form != grown_form
    session.run._lock_file.close()
