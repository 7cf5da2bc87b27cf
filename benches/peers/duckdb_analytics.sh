#!/usr/bin/env bash
# Peer measurement for benches/analytics.rs: the same questions asked of DuckDB (2 threads,
# in memory) over the same events after identity stitching, exported by the bench to CSV
# (kind, root, ts, amount, sku, channel; root 0: an event of no known customer). Prints each answer and the median of 5 runs.
# Installs duckdb from PyPI into a virtual environment under target/ on first use.
# Usage: benches/peers/duckdb_analytics.sh EVENTS.csv AT_NS SKU
set -euo pipefail
csv=$1 at=$2 sku=$3
root=$(cd "$(dirname "$0")/../.." && pwd)
venv="$root/target/peers-venv"
if ! "$venv/bin/python" -c 'import duckdb' 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q duckdb
fi
"$venv/bin/python" - "$csv" "$at" "$sku" <<'PY'
import statistics, sys, time
import duckdb

csv, at, sku = sys.argv[1], int(sys.argv[2]), sys.argv[3]
DAY = 86_400_000_000_000
con = duckdb.connect()
con.execute("SET threads = 2")
t = time.perf_counter()
con.execute(f"""CREATE TABLE ev AS SELECT kind, root::UINTEGER AS root, ts::BIGINT AS ts,
    TRY_CAST(amount AS DOUBLE) AS amount, sku::VARCHAR AS sku, channel::VARCHAR AS channel
    FROM read_csv('{csv}', header = true, all_varchar = true)""")
n = con.execute("SELECT count(*) FROM ev").fetchone()[0]
print(f"duckdb {duckdb.__version__}: loaded {n} events in {time.perf_counter() - t:.1f} s")

behaviour = "kind NOT LIKE 'cxp.%'"
queries = {
    "segment_as_written (platinum: spent > 5000 in 30d and active in 30d)": f"""
        SELECT count(*) FROM (
          SELECT root FROM ev WHERE kind = 'order' AND ts >= {at - 30 * DAY} AND ts < {at}
          GROUP BY root HAVING sum(amount) > 5000) o
        WHERE root IN (SELECT root FROM ev WHERE {behaviour} AND ts >= {at - 30 * DAY} AND ts < {at})""",
    "adhoc_scan_45d (sum(order.amount, 45d) > 1000)": f"""
        SELECT count(*) FROM (SELECT root FROM ev WHERE kind = 'order' AND ts >= {at - 45 * DAY} AND ts < {at}
          GROUP BY root HAVING sum(amount) > 1000)""",
    "rfm (quintiles by rank, segment counts)": f"""
        WITH c AS (SELECT root, max(ts) AS last, count(*) AS f, sum(amount) AS m
                   FROM ev WHERE kind = 'order' AND ts < {at} GROUP BY root),
             s AS (SELECT root, ntile(5) OVER (ORDER BY last) AS r, ntile(5) OVER (ORDER BY f) AS fs,
                          ntile(5) OVER (ORDER BY m) AS ms FROM c)
        SELECT r, fs, count(*) FROM s GROUP BY r, fs ORDER BY r, fs""",
    "funnel_4_steps_7d (signup > page_view > add_to_cart > order, each within 7d)": f"""
        WITH s1 AS (SELECT root, ts FROM ev WHERE kind = 'signup' AND ts < {at}),
             p2 AS (SELECT root, ts FROM ev WHERE kind = 'page_view' AND ts < {at}),
             p3 AS (SELECT root, ts FROM ev WHERE kind = 'add_to_cart' AND ts < {at}),
             p4 AS (SELECT root, ts FROM ev WHERE kind = 'order' AND ts < {at}),
             s2 AS (SELECT p.root, p.ts FROM p2 p ASOF JOIN s1 ON p.root = s1.root AND p.ts > s1.ts
                    WHERE p.ts - s1.ts <= {7 * DAY}),
             s3 AS (SELECT p.root, p.ts FROM p3 p ASOF JOIN s2 ON p.root = s2.root AND p.ts > s2.ts
                    WHERE p.ts - s2.ts <= {7 * DAY}),
             s4 AS (SELECT p.root, p.ts FROM p4 p ASOF JOIN s3 ON p.root = s3.root AND p.ts > s3.ts
                    WHERE p.ts - s3.ts <= {7 * DAY})
        SELECT (SELECT count(DISTINCT root) FROM s1), (SELECT count(DISTINCT root) FROM s2),
               (SELECT count(DISTINCT root) FROM s3), (SELECT count(DISTINCT root) FROM s4)""",
    "daily_kpis_180d (DAU per day)": f"""
        SELECT ts // {DAY} AS day, count(DISTINCT root) FROM ev
        WHERE {behaviour} AND root <> 0 AND ts >= {at - 180 * DAY} AND ts < {at} GROUP BY day ORDER BY day""",
    "copurchase (distinct buyers of other products among buyers of SKU)": f"""
        WITH b AS (SELECT DISTINCT root FROM ev WHERE kind = 'order' AND sku = '{sku}' AND ts < {at})
        SELECT e.sku, count(DISTINCT e.root) AS buyers FROM ev e JOIN b USING (root)
        WHERE e.kind = 'order' AND e.ts < {at} AND e.sku <> '{sku}'
        GROUP BY e.sku ORDER BY buyers DESC, e.sku LIMIT 10""",
}
for name, sql in queries.items():
    times, rows = [], None
    for _ in range(5):
        t = time.perf_counter()
        rows = con.execute(sql).fetchall()
        times.append(time.perf_counter() - t)
    shown = rows if len(rows) <= 3 else f"{len(rows)} rows, first {rows[0]}, last {rows[-1]}"
    print(f"duckdb {name}: median {statistics.median(times) * 1e3:.1f} ms -> {shown}")
PY
