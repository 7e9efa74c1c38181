#!/usr/bin/env bash
# The GPU check, planned as two device calls of under 10 minutes each (/work/.library/device/README.md).
# From the repository root:
#   here, once:  bash bench/fetch-deps.sh       # the -dev packages and the Rockpool wheel (git-ignored)
#   call 1:      run(command="PART=test bash bench/gpu-suite.sh", carry=[".debs", ".whl"], timeout_s=600)
#                probe, build (sm_90), every GPU test with RATENN_REQUIRE_CUDA=1 (verbose), all tests,
#                the device tests and the bit-identity tests again with the products through cuBLASLt
#                (a second build, RATENN_CUDA_GEMM_FIXED), compute-sanitizer memcheck (kernel tests; a short training run through the CUDA graph path)
#                and racecheck (and synccheck for the persistent rate kernels), `ratenn compare`, two GPU
#                runs from one seed compared byte for byte
#   call 2:      run(command="PART=bench bash bench/gpu-suite.sh", carry=[".debs", ".whl"], timeout_s=600)
#                probe, build, the cuBLAS SGEMM ceiling, bench_train (S SB M L on the GPU and the CPU; GPU
#                times from CUDA events; each row names its rate loop path), then Rockpool/JAX on the same GPU in FP32 (150 s at most), the chirp
#                task for 1000 epochs on the GPU (ms/epoch), the same without CUDA graphs, and the long-sequence
#                configs (long, R10, R10ck: peak device memory and the checkpointing time ratio)
#   then:        commit $OUT/results.json as bench/results/<date>-<gpu>.json
# Each PART runs under an overall limit (SUITE_LIMIT_S, default 540 s) and every step under its own.
# $OUT/results.json is rewritten after every step and on exit, so a call stopped by its limit still
# returns every figure it had; the log is $OUT/gpu-suite.log. Without a usable GPU the suite stops within
# seconds with one line saying why (exit 3) and results.json records it. PART=all does both parts (for a
# machine without the 10-minute limit); QUICK=1 trims the benchmark. NVIDIA_SMI names the nvidia-smi to
# probe with (the CI test of this script points it at a missing one). Nothing outside the machine is
# reached there: the carried .debs/.whl stand in for apt and PyPI.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${OUT:-$ROOT/out-gpu}
PART=${PART:-all}
QUICK=${QUICK:-0}
LIMIT=${SUITE_LIMIT_S:-540}
NVIDIA_SMI=${NVIDIA_SMI:-nvidia-smi}
case "$PART" in test | bench | all) ;; *)
  echo "gpu-suite: PART must be test, bench or all (got '$PART')"
  exit 2
  ;;
esac
mkdir -p "$OUT" || exit 2

# The whole part under one limit: the inner run writes results.json when it is stopped.
if [ -z "${GPU_SUITE_INNER:-}" ]; then
  export GPU_SUITE_INNER=1 OUT PART QUICK LIMIT NVIDIA_SMI
  timeout -k 15 "$LIMIT" bash "$0" "$@"
  rc=$?
  [ $rc -eq 124 ] && echo "gpu-suite: stopped at the ${LIMIT} s limit; $OUT/results.json holds what was done"
  exit $rc
fi

STATE=$(mktemp -d /tmp/gpu-suite.XXXXXX)
: >"$STATE/steps.tsv"
: >"$STATE/probe.tsv"
: >"$OUT/gpu-suite.log"
STOPPED=""
QUIET_EXIT=0
DEVICE=""
T_START=$(date +%s)

probe_set() { printf '%s\t%s\n' "$1" "$(echo "$2" | tr '\t\n' '  ')" >>"$STATE/probe.tsv"; }

# results.json from what is known now (python3 where there is one, else the essentials by hand).
write_results() {
  if command -v python3 >/dev/null 2>&1; then
    STOPPED="$STOPPED" DEVICE="$DEVICE" PART="$PART" QUICK="$QUICK" STATE="$STATE" \
      python3 "$ROOT/bench/gpu_results.py" "$OUT" >>"$OUT/gpu-suite.log" 2>&1 && return
  fi
  local s=${STOPPED//\"/\'}
  printf '{"device": "%s", "part": "%s", "stopped": "%s", "note": "written without python3"}\n' \
    "${DEVICE//\"/\'}" "$PART" "$s" >"$OUT/results.json"
}

on_exit() {
  local rc=$?
  [ -z "$STOPPED" ] && [ $rc -ne 0 ] && STOPPED="exit $rc"
  write_results
  rm -rf "$STATE"
  if [ "$QUIET_EXIT" = 0 ] && command -v python3 >/dev/null 2>&1; then
    python3 "$ROOT/bench/gpu_results.py" --summary "$OUT/results.json" 2>/dev/null
  fi
  exit $rc
}
trap on_exit EXIT
trap 'STOPPED="the ${LIMIT} s limit (SIGTERM) during ${CURRENT_STEP:-setup}"; exit 124' TERM
trap 'STOPPED="interrupted during ${CURRENT_STEP:-setup}"; exit 130' INT

# One line, non-zero exit, results.json saying why.
die() {
  STOPPED="$1"
  echo "gpu-suite: $1"
  exit "${2:-3}"
}

# step NAME SECONDS COMMAND: runs COMMAND (a bash string) under its own limit, logs its output, records
# pass/fail/timeout and its seconds, and rewrites results.json.
step() {
  local name=$1 limit=$2 cmd=$3 t0 t1 rc status
  CURRENT_STEP=$name
  echo
  echo "=== $name ($(date -u +%H:%M:%S), at most ${limit} s)"
  t0=$(date +%s.%N)
  timeout -k 10 "$limit" bash -c "set -o pipefail; $cmd"
  rc=$?
  t1=$(date +%s.%N)
  case $rc in 0) status=pass ;; 124 | 137) status=timeout ;; *) status=fail ;; esac
  printf '%s\t%s\t%s\t%s\n' "$name" "$status" "$(awk "BEGIN{printf \"%.1f\", $t1-$t0}")" "$rc" >>"$STATE/steps.tsv"
  echo "--- $name: $status (exit $rc)"
  CURRENT_STEP=""
  write_results
  return $rc
}

exec > >(tee -a "$OUT/gpu-suite.log") 2>&1

# ---- probe: a GPU first (seconds), then the tools ----
if ! command -v "$NVIDIA_SMI" >/dev/null 2>&1; then
  QUIET_EXIT=1
  die "no GPU here: $NVIDIA_SMI not found; nothing was built or run"
fi
DEVICE=$(timeout 20 "$NVIDIA_SMI" --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
if [ -z "$DEVICE" ]; then
  QUIET_EXIT=1
  die "no GPU here: $NVIDIA_SMI lists no device ($(timeout 20 "$NVIDIA_SMI" -L 2>&1 | head -1))"
fi
export PATH="/usr/local/cuda/bin:$PATH"
echo "=== probe ($(date -u +%H:%M:%S)) part $PART, limit ${LIMIT} s"
probe_set gpu "$(timeout 20 "$NVIDIA_SMI" --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader 2>&1 | head -1)"
probe_set nvcc "$(nvcc --version 2>&1 | grep -o 'release [0-9.]*, V[0-9.]*' || echo missing)"
probe_set cmake "$(cmake --version 2>&1 | head -1 || echo missing)"
probe_set make "$(command -v make || echo missing)"
probe_set ninja "$(command -v ninja || echo missing)"
probe_set compute_sanitizer "$(compute-sanitizer --version 2>&1 | grep -i version | head -1 || echo missing)"
probe_set cublas "$(ls /usr/local/cuda/lib64/libcublas.so.* 2>/dev/null | head -1 || echo missing)"
probe_set curand "$(ls /usr/local/cuda/lib64/libcurand.so.* 2>/dev/null | head -1 || echo missing)"
probe_set cpu "$(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
# the first python3 with numpy (the image's venv there; Debian's here)
PY=""
for p in "$(command -v python3)" /usr/bin/python3; do
  [ -x "$p" ] && "$p" -c 'import numpy' >/dev/null 2>&1 && PY=$p && break
done
probe_set python "${PY:-missing} $(${PY:-false} --version 2>&1)"
probe_set numpy "$(timeout 20 ${PY:-false} -c 'import numpy; print(numpy.__version__)' 2>&1 | tail -1)"
probe_set jax "$(timeout 40 ${PY:-false} -c 'import jax; print(jax.__version__)' 2>&1 | tail -1)"
cat "$STATE/probe.tsv" | sed 's/\t/: /'
write_results

# ---- build dependencies: the system's when present, else the carried Debian packages under /tmp ----
CMAKE_DEPS=()
if [ "${FORCE_DEBS:-0}" = 1 ] || [ ! -e /usr/include/cjson/cJSON.h ] || [ ! -e /usr/include/x86_64-linux-gnu/sleef.h ] || ! ls /usr/lib/x86_64-linux-gnu/cmake/GTest >/dev/null 2>&1 ||
  ! ls /usr/include/x86_64-linux-gnu/cblas.h /usr/include/cblas.h >/dev/null 2>&1; then
  [ -d .debs ] || die "no system -dev packages and no .debs: run bench/fetch-deps.sh here and carry .debs" 2
  R=/tmp/debroot
  mkdir -p $R
  for f in .debs/*.deb; do dpkg -x "$f" $R || die "cannot unpack $f" 2; done
  L=$R/usr/lib/x86_64-linux-gnu
  export LD_LIBRARY_PATH="$L:$L/openblas-pthread${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  ZLIB=$(ls /lib/x86_64-linux-gnu/libz.so.1 /usr/lib/x86_64-linux-gnu/libz.so.1 2>/dev/null | head -1)
  CMAKE_DEPS=(-DRATENN_BLAS_LIBRARY=$L/openblas-pthread/libopenblas.so
    -DCBLAS_INCLUDE_DIR=$R/usr/include/x86_64-linux-gnu/openblas-pthread
    -DCJSON_INCLUDE_DIR=$R/usr/include -DCJSON_LIBRARY=$L/libcjson.so
    -DSLEEF_INCLUDE_DIR=$R/usr/include/x86_64-linux-gnu -DSLEEF_LIBRARY=$L/libsleef.so
    -DGTest_DIR=$L/cmake/GTest -DZLIB_INCLUDE_DIR=$R/usr/include -DZLIB_LIBRARY=$ZLIB)
fi
GEN=()
command -v make >/dev/null 2>&1 || { command -v ninja >/dev/null 2>&1 && GEN=(-G Ninja); } ||
  die "neither make nor ninja is here" 2
# `ratenn plot` and the numpy tests need an interpreter with numpy/matplotlib: the image's python3
[ -n "$PY" ] && export RATENN_PYTHON="$PY"
export RATENN_REQUIRE_CUDA=1
export CMAKE_DEPS_STR="${CMAKE_DEPS[*]} ${GEN[*]}"
step build 240 'cmake -S . -B build-gpu -DCMAKE_BUILD_TYPE=Release -DRATENN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=OFF \
  -DCMAKE_CUDA_FLAGS="-gencode=arch=compute_90,code=sm_90" $CMAKE_DEPS_STR >/dev/null && cmake --build build-gpu -j"$(nproc)" 2>&1 | { grep -Ev "^\[ *[0-9]+%]" || true; }' ||
  die "the build failed (see gpu-suite.log)" 1
BACKENDS=$(build-gpu/ratenn backends 2>&1)
echo "$BACKENDS"
probe_set ratenn_backends "$BACKENDS"
echo "$BACKENDS" | grep -Eq 'cuda: built; [1-9][0-9]* device' ||
  die "ratenn sees no usable CUDA device although $NVIDIA_SMI lists '$DEVICE': $(echo "$BACKENDS" | grep cuda)"

want() { [ "$PART" = all ] || [ "$PART" = "$1" ]; }

if want test; then
  step gpu_tests 240 "build-gpu/ratenn_tests --gtest_filter='Cuda*:Checkpoint.Cuda*:GemmPlacement.Cuda*:*_cuda:BackendMemory*' 2>&1 | tee $STATE/gpu_tests.txt | { grep -Ev '^\[ +(RUN|OK) +\]' || true; } || exit 1; \
    ! grep -q '^\[  SKIPPED \]' $STATE/gpu_tests.txt || { echo 'GPU tests were skipped'; exit 1; }"
  step all_tests 300 "ctest --test-dir build-gpu -j12 --timeout 150 --output-on-failure 2>&1 | { grep -Ev '^ +Start |Passed +[0-9.]+ sec$' || true; }"
  # The same device tests and the trainer's bit-identity promises (checkpointed = stored; the trials
  # of one batch = each other) again with every product through cuBLASLt, one algorithm per
  # shape (RATENN_CUDA_GEMM_FIXED): if cublasSgemm's bits move with where the operands sit, this
  # says in the same call whether the fixed path is the way out.
  step fixed_gemm 200 "cmake -S . -B build-gpu-fixed -DCMAKE_BUILD_TYPE=Release -DRATENN_CUDA=ON -DRATENN_CUDA_GEMM_FIXED=ON \
    -DCMAKE_CUDA_ARCHITECTURES=OFF -DCMAKE_CUDA_FLAGS='-gencode=arch=compute_90,code=sm_90' $CMAKE_DEPS_STR >/dev/null && \
    cmake --build build-gpu-fixed -j\"\$(nproc)\" --target ratenn_cli ratenn_tests 2>&1 | { grep -Ev '^\[ *[0-9]+%]' || true; } && \
    build-gpu-fixed/ratenn backends && build-gpu-fixed/ratenn_tests --gtest_filter='Cuda*:Checkpoint.Cuda*:GemmPlacement.Cuda*:*_cuda:Cli.EvalOnAnotherBatchAndLength:CliLong.MaxMemoryCheckpointsWithTheSameResult' 2>&1 | \
    tee $STATE/fixed_gemm.txt | { grep -Ev '^\[ +(RUN|OK) +\]' || true; } && \
    { ! grep -q '^\[  SKIPPED \]' $STATE/fixed_gemm.txt || { echo 'GPU tests were skipped'; exit 1; }; }"

  # memcheck; when it reports nothing but API errors raised inside cuBLAS, again without those (said so)
  memcheck() { # name, limit, command...
    local name=$1 lim=$2
    shift 2
    step "$name" "$lim" "compute-sanitizer --tool memcheck --error-exitcode 3 $* > $STATE/$name.txt 2>&1; rc=\$?; tail -25 $STATE/$name.txt; exit \$rc"
    local rc=$?
    if [ $rc -eq 3 ] && grep -q 'Program hit' "$STATE/$name.txt" &&
      ! grep -Eq 'Invalid (__global__|__shared__|__local__)|out of bounds|Uninitialized|Misaligned|Leaked' "$STATE/$name.txt" &&
      grep -q 'libcublas' "$STATE/$name.txt"; then
      echo "$name: memcheck reported only API errors raised inside cuBLAS; again with --report-api-errors no"
      step "${name}_no_api_errors" "$lim" "compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 3 $* 2>&1 | tail -25"
    fi
  }
  # (every case at the smallest and largest block size: the four sizes of gpu_tests under memcheck
  # could take more than the step's time)
  RATENN_OPS_BLOCKS=32,1024 memcheck memcheck_ops 240 "build-gpu/ratenn_tests --gtest_filter='CudaOps*'"
  # the persistent rate kernels (kernels/rate_seq.cu): every path boundary under memcheck; shared-memory
  # races and barrier use on the cases with several trials per CTA and with chunked cooperative trials
  memcheck memcheck_seq 150 "build-gpu/ratenn_tests --gtest_filter='CudaRateSeq.*'"
  step racecheck_seq 120 "compute-sanitizer --tool racecheck --error-exitcode 3 build-gpu/ratenn_tests \
    --gtest_filter='CudaRateSeq.ManyTrialsShareCtas' 2>&1 | tail -8"
  step synccheck_seq 90 "compute-sanitizer --tool synccheck --error-exitcode 3 build-gpu/ratenn_tests \
    --gtest_filter='CudaRateSeq.ManyTrialsShareCtas' 2>&1 | tail -8"
  MC=$STATE/mc
  mkdir -p "$MC"
  "$PY" -c "import numpy as np; t=np.arange(300); u=np.zeros((2,300,1),np.float32); u[:,:20]=1; \
np.save('$MC/u.npy',u); np.save('$MC/y.npy',np.ascontiguousarray(np.broadcast_to(np.sin(t*t/3e4)[None,:,None],(2,300,1)),np.float32))"
  # 3 epochs: the first runs directly, the second records the graph, the third replays it (the
  # OpenMP policy given, so that `ratenn train` does not start itself again under the sanitizer)
  OMP_WAIT_POLICY=passive memcheck memcheck_train_graph 180 "build-gpu/ratenn train --input $MC/u.npy --target $MC/y.npy --hidden 32 --epochs 3 --backend cuda --quiet --out $MC/run"
  step racecheck 180 "compute-sanitizer --tool racecheck --error-exitcode 3 build-gpu/ratenn_tests \
    --gtest_filter='CudaOps.Mse:CudaOps.Bounds:CudaOps.L2:CudaOps.BiasAdd:CudaOps.BiasGrad:CudaOps.SumSquares:CudaOps.Adam:CudaOps.Sgd:CudaOps.ClipBounds:CudaOps.FilterParamGrads' 2>&1 | tail -8"
  step compare 120 "build-gpu/ratenn compare --hidden 50 --batch 4 --epochs 20"
  step same_seed_twice 120 "for r in a b; do build-gpu/ratenn train --task chirp --backend cuda --epochs 30 --batch 4 --quiet --seed 3 --out $STATE/seed_\$r || exit 1; done; \
    cmp $STATE/seed_a/params.npz $STATE/seed_b/params.npz && cmp $STATE/seed_a/loss.csv $STATE/seed_b/loss.csv && echo 'two GPU runs from seed 3: params.npz and loss.csv byte-identical'"
fi

if want bench; then
  CONFIGS=S,SB,M,L
  [ "$QUICK" = 1 ] && CONFIGS=S,M
  step sgemm_ceiling 90 "build-gpu/sgemm_ceiling | tee $OUT/sgemm.txt"
  CEIL=$(awk '/^sgemm_fp32_tflops/{print $2}' "$OUT/sgemm.txt" 2>/dev/null)
  # the CPU rows of L take minutes an epoch: they come last, in whatever time is left
  step bench_train 240 "build-gpu/bench_train --backend both --configs $CONFIGS $([ "$QUICK" = 1 ] && echo --quick) \
    ${CEIL:+--ceiling $CEIL} --json $OUT/bench_train.json"
  if [ -n "$PY" ]; then
    [ -d .whl ] && ls .whl/*.whl >/dev/null 2>&1 &&
      "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl &&
      export PYTHONPATH=/tmp/site
    step rockpool 150 "PYTHONUNBUFFERED=1 $PY bench/rockpool_epoch.py --configs $CONFIGS --reps 10 > $OUT/rockpool_ms.txt"
  fi
  EPOCHS=1000
  [ "$QUICK" = 1 ] && EPOCHS=100
  echo "$EPOCHS" >"$STATE/chirp_epochs"
  step chirp_gpu 150 "s=\$(date +%s.%N); build-gpu/ratenn train --task chirp --backend cuda --epochs $EPOCHS --quiet --out $STATE/chirp; rc=\$?; \
    e=\$(date +%s.%N); awk \"BEGIN{print \$e-\$s}\" > $STATE/chirp_wall; cp $STATE/chirp/loss.csv $OUT/chirp_gpu_loss.csv 2>/dev/null; \
    tail -1 $STATE/chirp/loss.csv; exit \$rc"
  step bench_no_graphs 90 "build-gpu/bench_train --backend cuda --configs S,SB --quick --no-graphs --json $STATE/bench_nographs.json"
  # long sequences in bounded memory (issue 14): R = 100 with checkpoints (peak device memory, target
  # 4 GB) and R = 10 stored vs checkpointed (time ratio, target 1.5x)
  left=$((LIMIT - ($(date +%s) - T_START) - 25))
  if [ "$QUICK" != 1 ] && [ $left -gt 90 ]; then
    step bench_long $((left < 150 ? left : 150)) "build-gpu/bench_train --backend cuda --configs long,R10,R10ck --quick --json $STATE/bench_long.json"
  fi
  left=$((LIMIT - ($(date +%s) - T_START) - 25))
  if [ "$QUICK" != 1 ] && [ $left -gt 60 ]; then
    step bench_cpu_L $left "build-gpu/bench_train --backend cpu --configs L --cpu-max-work 1e13 --cpu-no-warmup --json $STATE/bench_cpu_L.json"
  fi
fi

CURRENT_STEP=""
# (the CPU's L rows or the long configs running out of the time left is a figure missing, not a failure)
FAILED=$(awk -F'\t' '$2 != "pass" && !(($1 == "bench_cpu_L" || $1 == "bench_long") && $2 == "timeout") {print $1}' "$STATE/steps.tsv" | tr '\n' ' ')
echo
echo "=== done in $(($(date +%s) - T_START)) s"
[ -n "$FAILED" ] && die "failed: $FAILED" 1
echo "gpu-suite: all passed"
