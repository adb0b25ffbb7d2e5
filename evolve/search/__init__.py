"""The search: DEAP operators, constant tuning, the generation loop and the class archive.

Settings (`RunConfig`) and random-state helpers live here too, so the search never depends on
how a run is stored. Imports `genart` and `scorers`; nothing from the run folder or the CLI.

    evolution = Evolution(config, Evaluator(objective, naturalness, size=128, device=device))
    evolution.start(); evolution.step()       # ask → render → score → tell, one batch
"""
