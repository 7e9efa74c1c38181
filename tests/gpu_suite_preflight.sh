#!/usr/bin/env bash
# bench/gpu-suite.sh where no GPU can be used (NVIDIA_SMI points at nothing, so this holds on a GPU
# machine too): each PART stops within 10 s, exits non-zero, prints one line saying why, and still
# writes results.json recording it. A PART it does not know is refused with one line.
#   tests/gpu_suite_preflight.sh REPO_ROOT
set -u
root=${1:?usage: gpu_suite_preflight.sh REPO_ROOT}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() {
  echo "FAIL: $*"
  exit 1
}
for part in test bench; do
  rm -f "$out/results.json"
  t0=$(date +%s%N)
  output=$(env -u GPU_SUITE_INNER OUT=$out PART=$part NVIDIA_SMI=/nonexistent/nvidia-smi bash "$root/bench/gpu-suite.sh" 2>&1)
  rc=$?
  ms=$((($(date +%s%N) - t0) / 1000000))
  echo "PART=$part: exit $rc after $ms ms: $output"
  [ $rc -ne 0 ] || fail "PART=$part exited 0 without a GPU"
  [ $ms -lt 10000 ] || fail "PART=$part took $ms ms (the limit is 10 s)"
  [ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ] || fail "PART=$part printed more than one line"
  case $output in *"no GPU"*) ;; *) fail "PART=$part: the line does not say why" ;; esac
  python3 - "$out/results.json" "$part" <<'PY' || fail "PART=$part: results.json does not record it"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["part"] == sys.argv[2], r
assert "no GPU" in (r.get("stopped") or ""), r
assert r["steps"] == [], r
print("results.json:", json.dumps({k: r[k] for k in ("part", "stopped", "steps")}))
PY
done
output=$(env -u GPU_SUITE_INNER OUT=$out PART=everything bash "$root/bench/gpu-suite.sh" 2>&1)
rc=$?
[ $rc -ne 0 ] && [ "$(printf '%s\n' "$output" | wc -l)" -eq 1 ] || fail "PART=everything: exit $rc, '$output'"
echo "gpu-suite pre-flight: fails fast and says why"
