#!/usr/bin/env bash
# Peer measurement for the ingest bench: InfluxDB 1.6 (Debian's `influxdb` package) ingesting
# the same generator mix as benches/ingest.rs, over HTTP /write in batches of 5,000 lines (the
# batch size InfluxDB recommends) from 4 concurrent clients, with its default WAL fsync on every
# write. Not run by CI; needs `apt-get install influxdb`. Usage: benches/peers/influxdb16.sh [EVENTS]
set -euo pipefail
events=${1:-1000000}
root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo run -q --release --manifest-path "$root/Cargo.toml" -- gen --customers 50000 --events "$events" --days 30 --seed 3 --out "$work/mix.lp"

cat > "$work/influxdb.conf" <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:18088"
[meta]
  dir = "$work/meta"
[data]
  dir = "$work/data"
  wal-dir = "$work/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:18086"
  log-enabled = false
[monitor]
  store-enabled = false
CONF
influxd -config "$work/influxdb.conf" > "$work/influxd.log" 2>&1 &
pid=$!
for _ in $(seq 50); do curl -sf -o /dev/null http://127.0.0.1:18086/ping && break; sleep 0.2; done
curl -sf -XPOST http://127.0.0.1:18086/query --data-urlencode 'q=CREATE DATABASE bench' > /dev/null

python3 - "$work/mix.lp" <<'PY'
import sys, time, urllib.request, concurrent.futures
lines = open(sys.argv[1], 'rb').read().splitlines(keepends=True)
batches = [b''.join(lines[i:i + 5000]) for i in range(0, len(lines), 5000)]
def post(body):
    req = urllib.request.Request('http://127.0.0.1:18086/write?db=bench', data=body, method='POST')
    with urllib.request.urlopen(req) as r:
        assert r.status == 204, r.status
start = time.time()
with concurrent.futures.ThreadPoolExecutor(4) as pool:
    list(pool.map(post, batches))
elapsed = time.time() - start
print(f"influxdb 1.6: {len(lines)} events in {elapsed:.2f} s = {len(lines) / elapsed:,.0f} events/s")
PY
du -sb "$work/data" "$work/wal" | awk -v n="$events" '{s+=$1} END {printf "influxdb 1.6 on disk (data+wal, before compaction): %.1f bytes/event\n", s/n}'
