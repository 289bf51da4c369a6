#!/usr/bin/env bash
# experiments/paired-lines-mo/run.sh [RANKS] [RUN_DIR] [--set key=value ...]  (RANKS default 2: driver + 1)
exec "$(dirname "${BASH_SOURCE[0]}")/../launch.sh" "$(dirname "${BASH_SOURCE[0]}")/config.yaml" "$@"
