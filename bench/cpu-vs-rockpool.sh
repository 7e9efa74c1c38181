#!/usr/bin/env bash
# The CPU rows of README "Speed", measured in one run: Rockpool 3.1 on JAX-CPU (bench/rockpool_epoch.py,
# the tutorial's loop: RateJax + LinearJax, jax.jit(jax.value_and_grad), Adam, FP32), then ratenn's CPU
# backend on the same configs (build/bench_train --compare), one right after the other.
#   PY=/path/to/venv/bin/python CONFIGS=S,SB,M16 OUT=bench/results/new bash bench/cpu-vs-rockpool.sh
# PY needs jax 0.4.30 and rockpool 3.1.0 (e.g. the venv .ci/python makes: build-py/venv/bin/python).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-build-py/venv/bin/python}
CONFIGS=${CONFIGS:-S,SB,M16}
OUT=${OUT:-$(mktemp -d)}
mkdir -p "$OUT"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load $(cut -d' ' -f1-3 /proc/loadavg)"
JAX_PLATFORMS=cpu "$PY" bench/rockpool_epoch.py --configs "$CONFIGS" --reps 20 >"$OUT/rockpool_ms.txt"
cat "$OUT/rockpool_ms.txt"
build/bench_train --backend cpu --configs "$CONFIGS" --compare "$OUT/rockpool_ms.txt" \
  --compare-name rockpool_jax_cpu --json "$OUT/cpu.json"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg); results in $OUT"
