#!/usr/bin/env bash
# Run, or resume, the studies whose stores live in results/ (see results/README.md).
#
#   results/run_studies.sh STUDY...      e.g. xnas-lines xnas-digits four-digits paired-lines
#
# An `xnas-<data>` study is the single- vs multi-objective pair experiments/xnas-<data>-{so,mo}
# over seeds 0..SEEDS-1; a `paired-<data>` study is the protocol's three arms
# experiments/paired-<data>-{so,mo,random} (results/PROTOCOL.md; SEEDS defaults to 10 there);
# a `four-<data>` study is experiments/four-<data> over the same seeds.
# Each run goes to $RESULTS/STUDY/<so|mo|random|four>-seed<N>/ (RESULTS: default results/, relative
# to the repository) on RANKS MPI ranks (default 3: a driver and two one-thread evaluators,
# the 2-core machine the committed numbers come from).
# A run whose store exists is resumed (a finished one returns at once), so the script can be
# re-run after a kill or in a later session. Afterwards only the SQLite store is kept: weight
# files and in-flight checkpoints are deleted and the store is vacuumed, so what is committed
# is the store the tables are regenerated from (analysis/results_tables.py).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export XNAS_DATA="${XNAS_DATA:-$repo/../shared/data}"
ranks="${RANKS:-3}"
seeds="${SEEDS:-}"
results="${RESULTS:-results}"
python="${PYTHON:-$repo/.venv/bin/python}"
logs="runs/study-logs"
mkdir -p "$logs"
for study in "$@"; do
  case "$study" in
    xnas-*) variants=(so mo); n="${seeds:-3}" ;;
    paired-*) variants=(so mo random); n="${seeds:-10}" ;;
    four-*) variants=(four); n="${seeds:-3}" ;;
    *) echo "run_studies.sh: unknown study '$study'; expected xnas-<data>, paired-<data> or four-<data>" >&2; exit 2 ;;
  esac
  for ((seed = 0; seed < n; seed++)); do
    for v in "${variants[@]}"; do
      if [[ $v == four ]]; then config="experiments/$study/config.yaml"
      else config="experiments/$study-$v/config.yaml"; fi
      dir="$results/$study/$v-seed$seed"
      mkdir -p "$(dirname "$dir")"
      store="$dir/xnas.sqlite"
      [[ -f $store ]] && cp -p "$store" "$store.before"
      echo "== $study $v seed $seed -> $dir ($(date +%T))" >&2
      experiments/launch.sh "$config" "$ranks" "$dir" --set "search.seed=$seed" \
        >"$logs/$study-$v-seed$seed.log" 2>&1
      rm -rf "$dir/weights" "$dir/inflight" "$dir/rungs" "$dir/plots" "$dir/xnas.lock"
      # A finished run is left byte for byte as committed: only opening it (WAL mode) changed it.
      if [[ -f $store.before ]] && "$python" - "$store.before" "$store" <<'PY'
import sqlite3, sys
dumps = [list(sqlite3.connect(f).iterdump()) for f in sys.argv[1:]]
sys.exit(dumps[0] != dumps[1])
PY
      then
        rm -f "$store-wal" "$store-shm"
        mv "$store.before" "$store"
        continue
      fi
      rm -f "$store.before"
      "$python" - "$store" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
con.execute("PRAGMA journal_mode=DELETE")
con.execute("VACUUM")
con.close()
PY
    done
  done
done
