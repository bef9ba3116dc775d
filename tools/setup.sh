#!/usr/bin/env bash
# README command 1: install every dependency, install rlpsy, run the demo.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh
R CMD INSTALL --no-test-load . >/tmp/rlpsy-install.log 2>&1 || { cat /tmp/rlpsy-install.log; exit 1; }
Rscript tools/demo.R
