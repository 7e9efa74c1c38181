#!/usr/bin/env bash
# The GPU check in one device call (see /work/.library/device/README.md); from the repository root:
#     bash bench/fetch-deps.sh            # here, once: the -dev packages and the Rockpool wheel
#     run(command="bash bench/gpu-suite.sh", carry=[".debs", ".whl"], timeout_s=600)
# It builds for Hopper (-gencode=arch=compute_90,code=sm_90), runs every test (the GPU ones included),
# compute-sanitizer on the CUDA tests, `ratenn compare`, the cuBLAS SGEMM ceiling, the benchmark (CUDA vs
# the CPU and vs Rockpool/JAX on the same GPU, one run), and the tutorial's full chirp training on the
# GPU; it writes $OUT/gpu-suite.log,
# $OUT/results.json (device, date, figures) and the benchmark's JSON. Commit results.json as
# bench/results/<date>-<device>.json. QUICK=1 trims the benchmark and the chirp run (a smoke test).
# A device call may run 10 minutes at most: PART=test (build, tests, sanitizers, compare) and PART=bench
# (build, ceiling, Rockpool, benchmark, chirp) split the work into two calls; the second finds build-gpu/
# from the first while the machine is warm. PART=all (the default) does both.
# Not here: nothing outside the machine is reached, so the carried .debs/.whl stand in for apt and PyPI.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/out-gpu}
mkdir -p "$OUT"
exec > >(tee "$OUT/gpu-suite.log") 2>&1
QUICK=${QUICK:-0}
PART=${PART:-all}
CHIRP_S=0
EPOCHS=0
want() { [ "$PART" = all ] || [ "$PART" = "$1" ]; }
JOBS=$(nproc)
failures=()
step() { echo; echo "=== $* ($(date -u +%H:%M:%S))"; }
note_rc() { [ "$1" -eq 0 ] || failures+=("$2 (exit $1)"); }

step "device"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
DEVICE=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
export PATH="/usr/local/cuda/bin:$PATH"
nvcc --version | tail -1

# Build dependencies: the system's when present, else the carried Debian packages unpacked under /tmp.
CMAKE_DEPS=()
if [ "${FORCE_DEBS:-0}" = 1 ] || [ ! -e /usr/include/cjson/cJSON.h ] || ! ls /usr/lib/x86_64-linux-gnu/cmake/GTest >/dev/null 2>&1 ||
   ! ls /usr/include/x86_64-linux-gnu/cblas.h /usr/include/cblas.h >/dev/null 2>&1; then
  step "unpacking .debs (no system -dev packages here)"
  if [ ! -d .debs ]; then echo "no .debs: run bench/fetch-deps.sh first and carry .debs"; exit 2; fi
  R=/tmp/debroot
  mkdir -p $R
  for f in .debs/*.deb; do dpkg -x "$f" $R; done
  L=$R/usr/lib/x86_64-linux-gnu
  export LD_LIBRARY_PATH="$L:$L/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  ZLIB=$(ls /lib/x86_64-linux-gnu/libz.so.1 /usr/lib/x86_64-linux-gnu/libz.so.1 2>/dev/null | head -1)
  CMAKE_DEPS=(-DRATENN_BLAS_LIBRARY=$L/openblas-pthread/libopenblas.so
              -DCBLAS_INCLUDE_DIR=$R/usr/include/x86_64-linux-gnu/openblas-pthread
              -DCJSON_INCLUDE_DIR=$R/usr/include -DCJSON_LIBRARY=$L/libcjson.so
              -DGTest_DIR=$L/cmake/GTest -DZLIB_INCLUDE_DIR=$R/usr/include -DZLIB_LIBRARY=$ZLIB)
fi

step "configure and build (sm_90)"
cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DRATENN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=OFF \
  -DCMAKE_CUDA_FLAGS="-gencode=arch=compute_90,code=sm_90" "${CMAKE_DEPS[@]}" &&
  cmake --build build-gpu -j"$JOBS"
rc=$?
note_rc $rc build
if [ $rc -ne 0 ]; then echo "build failed"; exit 1; fi
build-gpu/ratenn backends

if want test; then
step "all tests (GPU ones included)"
ctest --test-dir build-gpu --output-on-failure -j4 --timeout 900 2>&1 | tail -60
note_rc "${PIPESTATUS[0]}" ctest
step "the GPU tests, verbose (relative errors, skips)"
build-gpu/ratenn_tests --gtest_filter='CudaOps*:CudaTraining*:*cuda*' 2>&1 | grep -E "^\[|cuda|gradcheck" | tail -60

step "compute-sanitizer memcheck on the kernel tests"
if command -v compute-sanitizer >/dev/null; then
  compute-sanitizer --tool memcheck --error-exitcode 3 build-gpu/ratenn_tests --gtest_filter='CudaOps*' 2>&1 | tail -15
  note_rc "${PIPESTATUS[0]}" memcheck
  compute-sanitizer --tool racecheck --error-exitcode 3 build-gpu/ratenn_tests \
    --gtest_filter='CudaOps.LossTermsAndGradients:CudaOps.BiasAddAndBiasGrad:CudaOps.OptimiserStepsClipGuardAndBounds' 2>&1 | tail -8
  note_rc "${PIPESTATUS[0]}" racecheck
else
  echo "compute-sanitizer not found"
fi

step "ratenn compare: the same run on the CPU and the GPU, quantity by quantity"
build-gpu/ratenn compare --hidden 50 --batch 4 --epochs 20
note_rc $? compare

fi

CEIL=
if want bench; then
step "cuBLAS SGEMM ceiling"
build-gpu/sgemm_ceiling | tee "$OUT/sgemm.txt"
CEIL=$(awk '/^sgemm_fp32_tflops/{print $2}' "$OUT/sgemm.txt")

step "Rockpool (JAX) on the same GPU: the comparison"
if [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl &&
    export PYTHONPATH=/tmp/site
fi
CONFIGS=S,SB,M,L
REPS=20
[ "$QUICK" = 1 ] && CONFIGS=S,M && REPS=3
PYTHONUNBUFFERED=1 timeout 400 python3 bench/rockpool_epoch.py --configs $CONFIGS --reps $REPS \
  > "$OUT/rockpool_ms.txt" || echo "the Rockpool comparison failed or timed out (ratios to it left out)"
cat "$OUT/rockpool_ms.txt"

step "benchmark: ratenn CUDA vs ratenn CPU vs Rockpool"
build-gpu/bench_train --backend both --configs $CONFIGS $([ "$QUICK" = 1 ] && echo --quick) \
  ${CEIL:+--ceiling $CEIL} --compare "$OUT/rockpool_ms.txt" --compare-name rockpool \
  --json "$OUT/bench_train.json"
note_rc $? bench
echo "--- the same, launching every op (no CUDA graph), for what graphs save:"
build-gpu/bench_train --backend cuda --configs S,SB --quick --no-graphs --json "$OUT/bench_nographs.json"

step "the tutorial on the GPU: ratenn train --task chirp"
EPOCHS=6000
[ "$QUICK" = 1 ] && EPOCHS=300
t0=$(date +%s.%N)
build-gpu/ratenn train --task chirp --backend cuda --epochs $EPOCHS --out /tmp/chirp-gpu
note_rc $? chirp
t1=$(date +%s.%N)
CHIRP_S=$(python3 -c "print(round($t1 - $t0, 2))")
cp /tmp/chirp-gpu/loss.csv "$OUT/chirp_gpu_loss.csv" 2>/dev/null

fi

step "results"
PART=$PART CEIL=${CEIL:-} python3 - "$OUT" "$DEVICE" "$CHIRP_S" "$EPOCHS" "$(IFS=';'; echo "${failures[*]:-}")" <<'PY'
import csv, datetime, json, os, sys
out, device, chirp_s, epochs, failures = sys.argv[1:6]
res = {"device": device, "date": datetime.date.today().isoformat(), "quick": os.environ.get("QUICK", "0") == "1",
       "part": os.environ.get("PART", "all"),
       "sgemm_fp32_tflops_ceiling": os.environ.get("CEIL") or None,
       "build": "-gencode=arch=compute_90,code=sm_90", "failures": failures.split(";") if failures else []}
try:
    res["bench_train"] = json.load(open(os.path.join(out, "bench_train.json")))["rows"]
except Exception as e:
    res["bench_train_error"] = str(e)
try:
    res["bench_no_graphs"] = json.load(open(os.path.join(out, "bench_nographs.json")))["rows"]
except Exception as e:
    res["bench_no_graphs_error"] = str(e)
try:
    rows = list(csv.DictReader(open(os.path.join(out, "chirp_gpu_loss.csv"))))
    res["chirp_gpu"] = {"epochs": int(epochs), "wall_s": float(chirp_s), "first_loss": float(rows[0]["loss"]),
                        "final_loss": float(rows[-1]["loss"])}
except Exception as e:
    res["chirp_gpu_error"] = str(e)
json.dump(res, open(os.path.join(out, "results.json"), "w"), indent=1)
print(json.dumps(res, indent=1))
PY
if [ ${#failures[@]} -gt 0 ]; then echo "FAILED: ${failures[*]}"; exit 1; fi
echo "gpu-suite: all passed"
