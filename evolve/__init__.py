"""evolve: the composition root — DEAP search, run folders, MAP-Elites, and the `genart` CLI.

The only package that imports both `genart` (formulas → images) and `scorers` (images → numbers).
"""
import os

# Idle OpenMP threads sleep instead of spinning: on a shared CPU, spinning made a generation
# 10x slower (0.7 s -> 9.7 s measured). Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
