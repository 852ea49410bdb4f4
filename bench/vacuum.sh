#!/usr/bin/env bash
# Measures what the vacuum of erased data costs on PostgreSQL, and how long after an
# erasure it is done:
#   1. on a requests table of --rows rows (default 1,000,000; 1 in 100 with a TOASTed
#      content), how long VACUUM, REINDEX INDEX CONCURRENTLY requests_requested_by and,
#      for comparison, VACUUM FULL take, and the latency of writes (pgbench, --clients
#      clients updating and inserting requests) meanwhile, beside the same writes alone;
#   2. what the vacuum leaves in free space: how many pages of requests and of its TOAST
#      table still hold a subject's erased short and long (TOASTed) contents after it,
#      and, where pg_repack is installed (Debian: postgresql-15-repack), how long its
#      online rewrite of requests takes while the writes run, their latency meanwhile,
#      and the same pages after it;
#   3. with erasured running with its defaults, the time from an erasure's completion to
#      the end of the vacuum that takes it away: on an idle database, for a first erasure
#      and for one that follows a vacuum at once (the worst case, which waits out
#      --vacuum-interval), and under the same write load.
#
#   bench/vacuum.sh [--rows 1000000] [--clients 8] [--vacuum-interval 2m]
#
# It makes a fresh database on the local server (postgres://postgres@127.0.0.1:5432)
# and drops it afterwards. Run on demand, on a machine that does nothing else; not in CI.
set -euo pipefail
cd "$(dirname "$0")/.."

rows=1000000 clients=8 interval=2m
while [ $# -gt 0 ]; do
	case "$1" in
	--rows) rows=$2; shift 2 ;;
	--clients) clients=$2; shift 2 ;;
	--vacuum-interval) interval=$2; shift 2 ;;
	*) echo "usage: $0 [--rows N] [--clients N] [--vacuum-interval D]" >&2; exit 2 ;;
	esac
done

db="erasured_vacuum_$$"
url="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
work=$(mktemp -d)
cleanup() {
	[ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	[ -n "${load_pid:-}" ] && kill "$load_pid" 2>/dev/null && wait "$load_pid" 2>/dev/null
	psql -q -h 127.0.0.1 -U postgres -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
sql() { psql -X -q -At -h 127.0.0.1 -U postgres -d "$db" -v ON_ERROR_STOP=1 "$@"; }
# timed STATEMENT: prints how long it took, in seconds.
timed() {
	local t0 t1
	t0=$(date +%s.%N)
	sql -c "$1" >/dev/null
	t1=$(date +%s.%N)
	printf "%.2f" "$(echo "$t1 - $t0" | bc)"
}

psql -q -h 127.0.0.1 -U postgres -d postgres -c "CREATE DATABASE $db" >/dev/null
go build -o "$work/erasured" ./cmd/erasured
"$work/erasured" migrate --database-url "$url" 2>/dev/null

echo "seeding $rows requests (10 per person; 1 in 100 with 6 kB of content, which is TOASTed)"
sql -c "INSERT INTO requests (store_id, request_id, requested_by, status, requested_at, created_at, updated_at,
		content, platform_message_id, platform_channel_id, metadata)
	SELECT 'bench', 'r' || i, 'person-' || (i / 10), 'PENDING', now(), now(), now(),
		CASE WHEN i % 100 = 0
			THEN (SELECT string_agg(md5(i::text || g), '') FROM generate_series(1, 190) g)
			ELSE 'a note of person ' || (i / 10) || ': ' || md5(i::text) || md5((-i)::text) END,
		'msg-' || i, 'channel-' || i, jsonb_build_object('n', i)
	FROM generate_series(1, $rows) i"
# A subject whose erased values are looked for in the raw pages: three short contents and
# a long one of random hex (which pglz cannot shrink, so it is TOASTed as it is), with
# later rows after them so that their pages are not the last (which VACUUM truncates).
short="short-$(openssl rand -hex 8)" long="long-$(openssl rand -hex 8)"
sql -c "INSERT INTO requests (store_id, request_id, requested_by, status, requested_at, created_at, updated_at, content)
	SELECT 'bench', 'subject-' || g, 'the-subject', 'PENDING', now(), now(), now(),
		CASE WHEN g = 4 THEN '$long' || (SELECT string_agg(md5(random()::text), '') FROM generate_series(1, 400))
			ELSE 'a note $short ' || g END
	FROM generate_series(1, 4) g"
sql -c "INSERT INTO requests (store_id, request_id, requested_by, status, requested_at, created_at, updated_at, content)
	SELECT 'bench', 'after-' || i, 'person-after', 'PENDING', now(), now(), now(),
		CASE WHEN i % 10 = 0 THEN (SELECT string_agg(md5(i::text || g), '') FROM generate_series(1, 190) g)
			ELSE 'a later note ' || i END
	FROM generate_series(1, 2000) i"
echo "first VACUUM ANALYZE after the load (autovacuum's job, once): $(timed 'VACUUM ANALYZE requests') s"
sql -c "SELECT 'table ' || pg_size_pretty(pg_table_size('requests')) || ', requests_requested_by ' || pg_size_pretty(pg_relation_size('requests_requested_by'))"

cat >"$work/writes.sql" <<'EOF'
\set i random(1, :rows)
UPDATE requests SET status = 'IN_PROGRESS', updated_at = now(), version = version + 1 WHERE store_id = 'bench' AND request_id = 'r' || :i;
INSERT INTO requests (store_id, request_id, requested_by, status, requested_at, created_at, updated_at, content) VALUES ('bench', 'n' || gen_random_uuid(), 'person-new-' || :i, 'PENDING', now(), now(), now(), 'a new note ' || md5(cast(:i as text)));
EOF

# writes SECONDS NAME: runs the write load for SECONDS in the background, logging each
# transaction to $work/NAME.* (its summary goes to $work/pgbench-NAME.txt, out of that glob)
writes() {
	(cd "$work" && pgbench -n -h 127.0.0.1 -U postgres -c "$clients" -j 2 -T "$1" -D rows="$rows" \
		-f writes.sql -l --log-prefix="$2" "$db" >"pgbench-$2.txt" 2>&1) &
	load_pid=$!
}
# latency NAME: the write latencies of a run, from its per-transaction log (microseconds).
latency() {
	cat "$work/$1".* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {
		printf "%d writes, p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", NR, a[int(NR*0.5)]/1000, a[int(NR*0.99)]/1000, a[NR]/1000}'
}
# during NAME STATEMENT: runs STATEMENT 3 s into 20 s of writes.
during() {
	writes 20 "$1"
	sleep 3
	echo "$2: $(timed "$2") s, while writes ran"
	wait "$load_pid"; load_pid=""
	echo "  writes meanwhile: $(latency "$1")"
}

writes 20 baseline; wait "$load_pid"; load_pid=""
echo "writes alone ($clients clients, 20 s): $(latency baseline)"
sql -c "UPDATE requests SET requested_by = NULL, content = NULL, platform_message_id = NULL, platform_channel_id = NULL,
	metadata = NULL, erased_at = now() WHERE store_id = 'bench'
		AND (requested_by IN (SELECT 'person-' || g FROM generate_series(1, 1000) g) OR requested_by = 'the-subject')"
echo "erased 10,004 requests of 1,001 people"
during vacuum "VACUUM requests"
during reindex "REINDEX INDEX CONCURRENTLY requests_requested_by"

# marked REL MARK: how many pages of REL hold MARK anywhere in their bytes, free space included.
marked() {
	sql -c "SET client_min_messages TO warning; CREATE EXTENSION IF NOT EXISTS pageinspect"
	sql -c "SELECT count(*) FROM generate_series(0, pg_relation_size('$1') / 8192 - 1) b
		WHERE position(convert_to('$2', 'UTF8') IN get_raw_page('$1', b::int)) > 0"
}
# leftovers: the pages of requests and its TOAST table that hold the subject's contents.
leftovers() {
	local toast
	toast=$(sql -c "SELECT reltoastrelid::regclass FROM pg_class WHERE relname = 'requests'")
	echo "heap pages holding the short contents: $(marked requests "$short"), TOAST pages holding the long one: $(marked "$toast" "$long")"
}
echo "after the VACUUM, in free space: $(leftovers)"
repack=$(pg_config --bindir)/pg_repack
if [ -x "$repack" ] && sql -c "CREATE EXTENSION IF NOT EXISTS pg_repack" 2>/dev/null; then
	writes 90 repack
	sleep 3
	t0=$(date +%s.%N)
	"$repack" --elevel=WARNING -h 127.0.0.1 -U postgres -d "$db" -t requests
	t1=$(date +%s.%N)
	echo "pg_repack -t requests: $(printf "%.2f" "$(echo "$t1 - $t0" | bc)") s, while writes ran"
	wait "$load_pid"; load_pid=""
	# Only the writes that started while it ran.
	for f in "$work"/repack.*; do
		awk -v a="$t0" -v b="$t1" '$5 + $6 / 1e6 >= a && $5 + $6 / 1e6 <= b' "$f" >"$work/repacking.${f##*.}"
	done
	echo "  writes meanwhile: $(latency repacking)"
	echo "after pg_repack: $(leftovers)"
else
	echo "pg_repack: not installed (Debian: postgresql-15-repack), not measured"
fi
during full "VACUUM FULL requests"

# The bound, end to end, with erasured's own workers.
token=$("$work/erasured" keys create --name bench --email bench@example.com --store bench \
	--scopes erasure_requests:read,erasure_requests:write --database-url "$url")
"$work/erasured" --addr 127.0.0.1:0 --database-url "$url" --vacuum-interval "$interval" >/dev/null 2>"$work/server.log" &
server_pid=$!
for _ in $(seq 100); do
	addr=$(grep -o '"msg":"listening","addr":"[^"]*"' "$work/server.log" | sed 's/.*"addr":"\([^"]*\)"/\1/' || true)
	[ -n "$addr" ] && break
	sleep 0.1
done
[ -n "$addr" ] || { cat "$work/server.log" >&2; exit 1; }

# bound PERSON: files an erasure of PERSON through the API and prints the seconds from
# its completion to the end of the vacuum that started after it.
bound() {
	local id done_at
	id=$(curl -sf -X POST "http://$addr/v2/personal-data/erasure-requests" -H "Authorization: Bearer $token" \
		-H 'Content-Type: application/vnd.api+json' \
		-d "{\"data\":{\"type\":\"erasure_request\",\"attributes\":{\"resource_type\":\"user\",\"resource_id\":\"$1\"}}}" |
		sed 's/.*"id":"\([^"]*\)".*/\1/')
	until done_at=$(sql -c "SELECT completed_at FROM erasure_requests WHERE id = '$id' AND completed_at IS NOT NULL") && [ -n "$done_at" ]; do
		sleep 0.1
	done
	until [ "$(sql -c "SELECT count(*) FROM vacuums WHERE started_at > '$done_at' AND due_since IS NULL AND horizon IS NULL")" = 1 ]; do
		[ "$(sql -c "SELECT clock_timestamp() - '$done_at' > interval '15 minutes'")" = t ] && { echo "no vacuum after 15 minutes" >&2; exit 1; }
		sleep 0.1
	done
	sql -c "SELECT round(extract(epoch FROM clock_timestamp() - '$done_at')::numeric, 1)"
}
echo "idle, a first erasure: done $(bound person-1001) s after it completed"
echo "idle, an erasure right after a vacuum: done $(bound person-1002) s after it completed (--vacuum-interval $interval)"
writes 400 loaded
echo "under the write load, an erasure right after a vacuum: done $(bound person-1003) s after it completed"
echo "under the write load, the next: done $(bound person-1004) s after it completed"
kill "$load_pid" 2>/dev/null; wait "$load_pid" 2>/dev/null || true; load_pid=""
grep -o '"msg":"vacuum[^}]*' "$work/server.log" | sed 's/^/  server: /'
