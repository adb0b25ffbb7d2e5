"""Which tuning rate wins: runs `genart ARGS…` with each constant-tuning batch logged to LOG
(one JSON line: seconds, the rates, each copy's best fitness), then says per batch which rate's
copy of the leader came out best.   usage: python docs/measure/tuning_rates.py LOG ARGS…
e.g. python docs/measure/tuning_rates.py /tmp/rates.jsonl evolve crab --minutes 12 --seed 90"""
import json
import sys
import time

import evolve.search.loop as loop
from evolve.cli import main as genart


def logged_tuning(log, start: float):
    """Evaluator.tune that also writes each search tuning batch's rates and best fitness."""
    tune = loop.Evaluator.tune

    def tune_and_log(self, genomes, *, steps, lr, cells=None):
        tuned, best = tune(self, genomes, steps=steps, lr=lr, cells=cells)
        if cells is None:
            log.write(json.dumps({"t": round(time.time() - start, 1), "lr": lr,
                                  "best": best}) + "\n")
            log.flush()
        return tuned, best
    return tune_and_log


def summary(path: str) -> None:
    wins: dict[str, int] = {}
    for line in open(path):
        entry = json.loads(line)
        rates = entry["lr"] if isinstance(entry["lr"], list) else [entry["lr"]]
        best = max(range(len(rates)), key=lambda k: entry["best"][k])
        tied = len(set(entry["best"])) < len(entry["best"])
        key = "tie" if tied else str(rates[best])
        wins[key] = wins.get(key, 0) + 1
        print(f"  {entry['t']:7.1f} s  " + "  ".join(f"lr {r}: {b:7.2f}"
                                                    for r, b in zip(rates, entry["best"])))
    print("best copy by rate: " + ", ".join(f"{k} {v}" for k, v in sorted(wins.items())))


if __name__ == "__main__":
    log_path = sys.argv[1]
    with open(log_path, "w") as log:
        loop.Evaluator.tune = logged_tuning(log, time.time())
        code = genart(sys.argv[2:])
    summary(log_path)
    sys.exit(code)
