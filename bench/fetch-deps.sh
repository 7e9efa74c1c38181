#!/usr/bin/env bash
# Fetches (here, where Debian's archive and PyPI are reachable) what the device machine lacks and cannot
# download: the -dev packages the build needs (.debs/) and a Rockpool wheel for the comparison (.whl/).
# bench/gpu-suite.sh unpacks and installs them there. Run once per checkout; both folders are git-ignored
# and travel in the device run's carry list: carry=[".debs", ".whl"].
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .debs .whl
(cd .debs && apt-get download libopenblas-dev libopenblas-pthread-dev libopenblas0-pthread libopenblas0 \
  libgfortran5 libquadmath0 libsleef-dev libsleef3 libgtest-dev libcjson-dev libcjson1 zlib1g-dev)
# Rockpool 3.1 is published as source only; its wheel is pure Python (needs numpy, scipy: both on the device).
python3 -m pip wheel -q --no-deps -w .whl rockpool==3.1.0
ls -la .debs .whl
