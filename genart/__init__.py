"""genart's genome language: formulas over pixel coordinates, and their renderer.

Conventions: images are RGB, NCHW, float32 in [0, 1]; uint8 only at the file boundary.
Formulas see x, y in [-1, 1] on the shorter side (aspect-correct, y up), r = |(x, y)| and
theta = atan2(y, x); values are scalars or RGB triples that broadcast (Sims 1991). The final
value is squashed by 0.5 + 0.5 * tanh(v). Formulas print as DEAP prefix text and `parse`
reads them back exactly, never with eval. Devices are always passed in.
"""
from genart.errors import GenartError
from genart.figure import PLAIN_BACKGROUND, figure_parts, is_figure, make_figure
from genart.formula import FormulaError, parse
from genart.images import contact_sheet, read_formula, read_png, save_png
from genart.primitives import PSET, Fitness, Genome, random_genome, random_genomes
from genart.render import constants_of, render_batch, with_constants

__all__ = ["PSET", "Genome", "Fitness", "GenartError", "FormulaError", "parse",
           "random_genome", "random_genomes", "render_batch", "constants_of", "with_constants",
           "save_png", "read_png", "read_formula", "contact_sheet", "is_figure", "figure_parts",
           "make_figure", "PLAIN_BACKGROUND"]
