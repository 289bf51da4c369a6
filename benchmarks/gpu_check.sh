#!/usr/bin/env bash
# The GPU acceptance run (benchmarks/gpu_check.py): one JSON line per check, then a summary.
# On a machine without CUDA every CUDA check is printed as skipped with its reason (exit 0).
set -uo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-.venv/bin/python}"
OMP_NUM_THREADS=1 exec "$PY" benchmarks/gpu_check.py "$@"
