"""evolve: the composition root — DEAP search, run folders, MAP-Elites, and the `genart` CLI.

The only package that imports both `genart` (formulas → images) and `scorers` (images → numbers).
"""
