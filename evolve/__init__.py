"""evolve: the composition root — the only package that wires `genart` and `scorers` together.

Folders by role, dependencies one way (tested in tests/test_layering.py):
    cli/, bench/   the `genart` command: one module per command group, progress, stop handling
    runfolder/     a run on disk: RunDir, sessions, gallery, audit, polish
    search/        DEAP operators, constant tuning, generation loop, class archive, settings
"""
import os

# Idle OpenMP threads sleep instead of spinning: on a shared CPU, spinning made a generation
# 10x slower (0.7 s -> 9.7 s measured). Must be set before torch is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
