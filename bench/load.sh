#!/usr/bin/env bash
# Holds N concurrent clients (default 64) on erasured for a while (default 60 s) with
# mixed creates and reads, using wrk from Debian's packages, then reports status counts,
# requests/s, p50/p99 latency, and lost or duplicated writes: every create that was
# acknowledged with a 201 must be in the database exactly once.
#
#   bench/load.sh [--connections 64] [--duration 60s] [--database-url URL]
#
# Without --database-url it makes a fresh PostgreSQL database on the local server
# (postgres://postgres@127.0.0.1:5432) and drops it afterwards. Run on demand; not in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

connections=64 duration=60s database_url=""
while [ $# -gt 0 ]; do
	case "$1" in
	--connections) connections=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--database-url) database_url=$2; shift 2 ;;
	*) echo "usage: $0 [--connections N] [--duration 60s] [--database-url URL]" >&2; exit 2 ;;
	esac
done

command -v wrk >/dev/null || { apt-get install -y wrk >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }; }

work=$(mktemp -d)
cleanup() {
	[ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	[ -n "${made_db:-}" ] && psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $made_db" >/dev/null
	rm -rf "$work"
}
trap cleanup EXIT

if [ -z "$database_url" ]; then
	made_db="erasured_load_$$"
	psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $made_db" >/dev/null
	database_url="postgres://postgres@127.0.0.1:5432/$made_db?sslmode=disable"
fi

go build -o "$work/erasured" ./cmd/erasured
export ERASURED_TOKEN
ERASURED_TOKEN=$("$work/erasured" keys create --name load --email load@example.com --store load \
	--scopes erasure_requests:read,erasure_requests:write --database-url "$database_url")
"$work/erasured" --addr 127.0.0.1:0 --database-url "$database_url" >/dev/null 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do
	addr=$(grep -o '"msg":"listening","addr":"[^"]*"' "$work/server.log" | sed 's/.*"addr":"\([^"]*\)"/\1/' || true)
	[ -n "$addr" ] && break
	sleep 0.1
done
[ -n "$addr" ] || { cat "$work/server.log" >&2; exit 1; }

echo "load: $connections connections for $duration against http://$addr ($(echo "$database_url" | cut -d: -f1))"
wrk --threads 2 --connections "$connections" --duration "$duration" --timeout 10s --latency \
	--script bench/load.lua "http://$addr" | tee "$work/wrk.out" | grep -v '^ \{2,\}[0-9]\{2\}%' || true
rss=$(ps -o rss= -p "$server_pid" | tr -d ' ')
echo "server resident memory after the load: $((rss / 1024)) MiB"

acked=$(sed -n 's/^acknowledged creates: //p' "$work/wrk.out")
case "$database_url" in
sqlite:*) query() { sqlite3 "${database_url#sqlite:}" "$1"; } ;;
*) query() { psql -At "$database_url" -c "$1"; } ;;
esac
rows=$(query "SELECT count(*) FROM erasure_requests WHERE resource_id LIKE 'load-%'")
distinct=$(query "SELECT count(DISTINCT resource_id) FROM erasure_requests WHERE resource_id LIKE 'load-%'")
echo "writes: acknowledged $acked, stored $rows, duplicated $((rows - distinct)), lost $((acked > distinct ? acked - distinct : 0))"
[ "$rows" -eq "$distinct" ] && [ "$distinct" -ge "$acked" ]
