"""fitness.png is drawn by matplotlib: a row per kind of series the log holds."""
import io

from PIL import Image

from evolve.runfolder.plots import fitness_png


def size_of(png: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(png)) as image:
        return image.size


def test_held_out_and_coverage_series_each_add_a_row():
    log = [{"generation": g, "elapsed": 6.0 * g, "best_fitness": 0.1 * g, "mean_fitness": 0.05 * g}
           for g in range(5)]
    one = size_of(fitness_png(log))
    two = size_of(fitness_png([dict(e, judge_score=0.01 * e["generation"]) for e in log]))
    three = size_of(fitness_png([dict(e, judge_score=0.1, **{"at_0.5": 3}) for e in log]))
    assert one[0] == two[0] == three[0]
    assert one[1] < two[1] < three[1]
    assert size_of(fitness_png([])) == one                # an empty log still draws its axes
