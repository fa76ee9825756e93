#!/usr/bin/env bash
# Run every benchmark and render bench/RESULTS.md.
#
#   bench/run_all.sh                 # the 10k size on SQLite and PostgreSQL (about 10 minutes)
#   SIZES="10k 1m 5m" bench/run_all.sh   # also the large PostgreSQL sizes (generated first if
#                                        # missing: ~6 min for 1m, ~40 min for 5m)
#
#: the three indexes bench/FINDINGS.md asks for as a migration (without them the
# monthly report takes ~1 minute at 1m); harmless once the migration has them.
# PostgreSQL at BENCH_POSTGRES (default postgresql://postgres@127.0.0.1:5432); the scripts only
# ever create and drop databases named tb_bench*. Large sizes run on PostgreSQL only.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
SIZES=${SIZES:-10k}
SECONDS_PER_PAGE=${SECONDS_PER_PAGE:-10}

$PY bench/posting.py --db both --exchanges "${POSTING_EXCHANGES:-300}"
for size in $SIZES; do
    if [ "$size" = "10k" ]; then
        $PY bench/pages.py --db sqlite --size "$size" --seconds "$SECONDS_PER_PAGE"
        $PY bench/close.py --db both --size "$size"
    else
        $PY bench/close.py --db postgresql --size "$size"
    fi
    $PY bench/pages.py --db postgresql --size "$size" --seconds "$SECONDS_PER_PAGE"
done
$PY bench/export_memory.py --db both --rows "${EXPORT_ROWS:-10000,1000000}"
$PY bench/report.py
