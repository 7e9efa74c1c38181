#!/usr/bin/env bash
# OpenMP's waiting policy on the CPU backend (src/cli/cli_openmp.c): libgomp's default (spin up to
# GOMP_SPINCOUNT=300000, then sleep) against the passive policy ratenn's programs now set, in one run,
# the two alternating, REPS runs each; time per epoch is the median over the runs.
#   bash bench/openmp-wait.sh [REPS]      (from the repository root, after the build in build/)
# The configs: the tutorial's run (`ratenn train --task chirp`, N 50, T 3000) at batch 1, 2 and 16,
# and bench_train's S and SB (N 50, T 3000, B 1 and 256).
set -euo pipefail
cd "$(dirname "$0")/.."
REPS=${1:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
policy_env() { [ "$1" = default ] && echo "GOMP_SPINCOUNT=300000" || echo "OMP_WAIT_POLICY=passive"; }
# ms per epoch of one run of config $1 under policy $2
one() {
  local cfg=$1 env
  env=$(policy_env "$2")
  case $cfg in
  chirp-B*)
    local B=${cfg#chirp-B} E=300
    [ "$B" -ge 16 ] && E=50
    env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT $env build/ratenn train --task chirp --batch "$B" \
      --epochs $E --backend cpu --quiet --overwrite --out "$tmp/run" 2>&1 |
      awk '/epochs in/ {for (i = 2; i <= NF; i++) if ($i ~ /^epochs\/s\)/) r = substr($(i-1), 2)} END {printf "%.3f\n", 1e3 / r}'
    ;;
  *)
    env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT $env build/bench_train --backend cpu --configs "$cfg" \
      $([ "$cfg" = SB ] && echo --quick) 2>&1 | awk -v c="$cfg" '$1 == c {print $7}'
    ;;
  esac
}
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
printf '%-10s %14s %14s %12s %9s\n' config "default ms" "passive ms" "epochs/s" "speed-up"
for cfg in chirp-B1 chirp-B2 chirp-B16 S SB; do
  : >"$tmp/default" && : >"$tmp/passive"
  for r in $(seq "$REPS"); do
    one "$cfg" default >>"$tmp/default"
    one "$cfg" passive >>"$tmp/passive"
  done
  d=$(median <"$tmp/default") p=$(median <"$tmp/passive")
  awk -v c="$cfg" -v d="$d" -v p="$p" 'BEGIN {printf "%-10s %14.3f %14.3f %12.1f %8.2fx\n", c, d, p, 1e3 / p, d / p}'
done
echo "(median of $REPS runs each, alternating; $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'))"
