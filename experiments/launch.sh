#!/usr/bin/env bash
# Start (or, when RUN_DIR already holds a store, resume) a search on RANKS MPI ranks:
# rank 0 drives, ranks 1..RANKS-1 evaluate. Called by experiments/<task>/run.sh.
#
#   experiments/launch.sh CONFIG [RANKS] [RUN_DIR] [--set key=value ...]
#
# MPIEXEC picks the launcher (default: the mpich wheel's .venv/bin/mpiexec, else mpiexec on
# PATH); it must belong to the MPI library mpi4py loads. PYTHON picks the interpreter.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
config="${1:?usage: launch.sh CONFIG [RANKS] [RUN_DIR] [--set key=value ...]}"
shift
ranks=2
if [[ $# -gt 0 && $1 != --* ]]; then ranks="$1"; shift; fi
task="$(basename "$(dirname "$config")")"
run_dir="runs/${task}-$(date +%Y%m%d-%H%M%S)"
if [[ $# -gt 0 && $1 != --* ]]; then run_dir="$1"; shift; fi

python="${PYTHON:-$repo/.venv/bin/python}"
[[ -x $python ]] || python="$(command -v python3)"
mpiexec="${MPIEXEC:-}"
if [[ -z $mpiexec ]]; then
  if [[ -x $repo/.venv/bin/mpiexec ]]; then mpiexec="$repo/.venv/bin/mpiexec"
  else mpiexec="$(command -v mpiexec || command -v mpirun)"; fi
fi
flags=()
if "$mpiexec" --version 2>&1 | grep -qi "open mpi"; then
  flags+=(--oversubscribe)  # more ranks than cores is fine: evaluators use 1 thread each
  [[ $(id -u) == 0 ]] && flags+=(--allow-run-as-root)
fi

if [[ -e $run_dir/xnas.sqlite ]]; then
  cmd=(resume "$run_dir")  # a re-run after a crash or a requeue continues, losing nothing
else
  cmd=(search "$config" --run-dir "$run_dir" "$@")
fi
echo "+ $mpiexec ${flags[*]} -n $ranks $python -m xnas ${cmd[*]}" >&2
exec "$mpiexec" "${flags[@]}" -n "$ranks" "$python" -m xnas "${cmd[@]}"
