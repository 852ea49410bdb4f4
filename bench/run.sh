#!/usr/bin/env bash
# bench/run.sh: how fast erasured serves its heaviest requests, next to what the same SQL
# costs without erasured: pgbench running it, and a minimal Go server running it.
#
#   bench/run.sh [--rows N] [--duration S] [--rounds R] [--connections C] [--threads T]
#                [--database NAME] [--port P] [--keep] [--big] [--big-rows N]
#
# PostgreSQL (PGHOST/PGPORT/PGUSER, default 127.0.0.1:5432, postgres): a fresh database
# (dropped at the end unless --keep) seeded with N erasure requests (default 1,000,000)
# in one INSERT ... SELECT: every resource type and status, spread over 10 stores, 90% of
# them in store-0, so that one tenant is big enough for a cursor page most of a million
# rows deep and the others show that totals are per store. erasured serves it, with an
# API key for store-0. bench/capture records, from the storage package itself, the SQL
# that the server runs for each request below, as pgbench scripts (without the API-key
# look-up: the server caches keys). Each request is measured, at C connections and T
# threads for S seconds, against five contenders:
#
#   erasured       wrk against the server
#   ref-pq         wrk against bench/reference on lib/pq, each statement prepared once
#   ref-pgx        wrk against bench/reference on pgx/v5 and its statement cache
#   pgb-extended   pgbench -M extended on the captured script (parse, plan, run each time)
#   pgb-prepared   pgbench -M prepared on the same script
#
# bench/reference runs the captured statements with the captured arguments and writes a
# comparable JSON:API document with encoding/json. It authenticates nothing, parses no
# filter or cursor, logs nothing and runs no workers: that is its advantage over erasured.
#
#   filtered   GET ?filter=eq(resource_type,…):eq(resource_id,…)   (the Elastic Path example)
#   offset     GET ?page[offset]=10000&page[limit]=25
#   deep       GET ?page[size]=25&page[after]=<cursor near the end of store-0>
#   first      GET ?page[size]=25
#   completed  GET ?sort=completed_at&page[size]=25&page[after]=<cursor 10,000 before the
#              last completed request; the pending ones' NULLs sort after it>
#   get        GET /{id}
#   post       POST a new erasure request
#
# The contenders take turns: R rounds (default 3), each running every request against
# every contender, in an order that rotates from round to round; the figures are the
# medians of the rounds (requests per second, p50 and p99 latency). After every POST run
# the rows it made are deleted and the table vacuumed and analysed, so that every run
# sees the seed alone and no erasure worker is busy with a backlog of them; while another
# contender runs POST, erasured is stopped (SIGSTOP), for its worker would take up that
# contender's new requests.
#
# Then: the time and largest resident memory of `erasured export` of every row, and of an
# export through the API of a third of store-0; the SQLite store, seeded with the same N
# rows by the sqlite3 shell, served by erasured: the filtered page, the first cursor page
# and POST at 16, 32 and 64 writers, in R rounds; and with --big, a second PostgreSQL
# database of --big-rows requests (default 5,000,000: 4,500,000 in store-0), where a
# filtered first page that matches a third of store-0 is timed against one that matches
# 4 rows. It ends with the issue's table of targets (measure | figure | goal) and the
# command that printed it. Timings are only as quiet as the machine: it prints the load
# average before and after.
set -euo pipefail
invocation="bench/run.sh${*:+ $*}"

rows=1000000 duration=10 rounds=3 connections=16 threads=2 database=erasured_bench port=18080
keep=0 big=0 big_rows=5000000
usage="usage: $0 [--rows N] [--duration S] [--rounds R] [--connections C] [--threads T] [--database NAME] [--port P] [--keep] [--big] [--big-rows N]"
while [ $# -gt 0 ]; do
	case "$1" in
	--rows) rows=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--connections) connections=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	--database) database=$2; shift 2 ;;
	--port) port=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	--big) big=1; shift ;;
	--big-rows) big=1 big_rows=$2; shift 2 ;;
	*) echo "$usage" >&2; exit 2 ;;
	esac
done
case "$database" in
erasured_bench*) ;;
*) echo "bench: --database must start with erasured_bench: the script drops and recreates it" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
db_url() { echo "postgres://$PGUSER@$PGHOST:$PGPORT/$1?sslmode=disable"; }
big_database=${database}_big

for tool in wrk sqlite3; do
	if ! command -v "$tool" >/dev/null; then
		echo "bench: installing $tool" >&2
		apt-get install -y "$tool" >/dev/null || { apt-get update >/dev/null && apt-get install -y "$tool" >/dev/null; }
	fi
done
for tool in pgbench psql createdb dropdb jq curl awk /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done

work=$(mktemp -d)
declare -A pids # name -> pid of each server this script started
cleanup() {
	local name
	for name in "${!pids[@]}"; do
		kill -CONT "${pids[$name]}" 2>/dev/null || true
		{ kill "${pids[$name]}" && wait "${pids[$name]}"; } 2>/dev/null || true
	done
	if [ "$keep" = 0 ]; then
		dropdb --if-exists "$database" 2>/dev/null || true
		dropdb --if-exists "$big_database" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
# psql_in DB SQL: runs SQL in DB and prints what it returns, unaligned.
psql_in() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
sql() { psql_in "$database" "$1"; }
calc() { awk "BEGIN { print $1 }"; }
# commas N: N with thousands separators, whatever the locale.
commas() { sed ':a; s/\B[0-9]\{3\}\>/,&/; ta' <<<"$1"; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
load_before=$(loadavg)
echo "bench: load average before: $load_before, $(nproc) cores"

echo "bench: building erasured, bench/capture and bench/reference"
go build -o "$work/erasured" ./cmd/erasured
go build -o "$work/capture" ./bench/capture
# The reference is a module of its own (it keeps pgx out of erasured's go.mod).
(cd bench/reference && go build -o "$work/reference" .)

# seed_postgres DB N: a fresh database DB with N erasure requests, analysed.
seed_postgres() {
	local db=$1 n=$2 start
	echo "bench: seeding $n erasure requests into a fresh database $db"
	dropdb --if-exists "$db"
	createdb "$db"
	"$work/erasured" migrate --database-url "$(db_url "$db")" 2>/dev/null
	start=$(date +%s.%N)
	# Two requests per second of created_at, so that ties on the sort key are common and
	# the id tie-breaker does its part. requests_erased_at is set so that no background
	# worker takes the seed for new work, and overdue_at on the unfinished ones (all past
	# due) so that the overdue worker does not mark them while the bench runs. Each
	# (resource_type, resource_id) is 4 rows.
	psql_in "$db" "INSERT INTO erasure_requests (id, store_id, resource_type, resource_id, reason, status,
			services_erased, partial_failures, initiator, created_at, updated_at, completed_at, due_at,
			requests_erased_at, overdue_at)
		SELECT gen_random_uuid(),
			CASE WHEN i % 10 < 9 THEN 'store-0' ELSE 'store-' || (1 + (i / 10) % 9) END,
			(ARRAY['customer','account','account-member','account-membership','address',
				'user-authentication-info','order','user'])[1 + i % 8],
			'person-' || (i % greatest($n / 4, 1)),
			CASE WHEN i % 3 = 0 THEN 'customer request' END,
			(ARRAY['pending','in_progress','completed'])[1 + i % 3],
			CASE WHEN i % 3 = 2 THEN '[\"requests\",\"billing\"]' ELSE '[]' END::jsonb,
			CASE WHEN i % 30 = 2 THEN '[{\"service\":\"crm\",\"message\":\"timeout\"}]' ELSE '[]' END::jsonb,
			'$seed_initiator',
			t.at, t.at, CASE WHEN i % 3 = 2 THEN t.at + interval '1 hour' END, t.at + interval '30 days', t.at,
			CASE WHEN i % 3 <> 2 THEN t.at + interval '30 days' END
		FROM generate_series(1, $n) AS i,
			LATERAL (SELECT timestamptz '2024-01-01 00:00:00Z' + (i / 2) * interval '1 second' AS at) AS t"
	psql_in "$db" "VACUUM (ANALYZE) erasure_requests"
	printf 'bench: seeded and analysed in %.1f s\n' "$(calc "$(date +%s.%N) - $start")"
}
seed_initiator='{"access-token-email":"seed@example.com","access-token-id":"00000000-0000-0000-0000-000000000000","access-token-name":"seed","access-token-store-id":"store-0","access-token-type":"client-credentials-token"}'

# start NAME PORT COMMAND...: starts a server in the background and waits until its
# /readyz answers.
start() {
	local name=$1 port=$2
	shift 2
	"$@" >"$work/$name.out" 2>"$work/$name.log" &
	pids[$name]=$!
	for _ in $(seq 300); do
		curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return
		kill -0 "${pids[$name]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "bench: $name did not start:" >&2
	cat "$work/$name.log" >&2
	exit 1
}
stop() {
	{ kill "${pids[$1]}" && wait "${pids[$1]}"; } 2>/dev/null || true
	unset "pids[$1]"
}
# key DATABASE_URL: an API key of store-0 that reads and writes erasure requests.
key() {
	"$work/erasured" keys create --database-url "$1" --name bench --email bench@example.com \
		--store store-0 --scopes erasure_requests:read,erasure_requests:write 2>/dev/null
}
enc() { jq -rn --arg v "$1" '$v|@uri'; }

# wrk reports through a Lua done() so that nothing depends on its text layout: requests
# per second, p50 and p99 in ms, and errors (socket errors and non-2xx answers).
write_scripts() { # TOKEN
	cat >"$work/report.lua" <<EOF
wrk.headers["Authorization"] = "Bearer $1"
done = function(summary, latency, requests)
	local e = summary.errors
	io.write(string.format("RESULT %.1f %.3f %.3f %d\n", summary.requests / (summary.duration / 1e6),
		latency:percentile(50) / 1000, latency:percentile(99) / 1000,
		e.connect + e.read + e.write + e.status + e.timeout))
end
EOF
	cp "$work/report.lua" "$work/post.lua"
	cat >>"$work/post.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/vnd.api+json"
wrk.body = '{"data":{"type":"erasure_request","attributes":{"resource_type":"account","resource_id":"bench-post","reason":"load test"}}}'
EOF
}

# Every run appends "SECTION REQUEST CONTENDER ROUND RPS P50 P99 ERRORS" to results.
results=$work/results
: >"$results"
declare -A rss_max=([postgres]=0 [sqlite]=0)

# wrk_run SECTION REQUEST CONTENDER ROUND URL CONNECTIONS [PID]: wrk against URL; with
# PID, the largest resident memory of that process meanwhile counts for SECTION.
wrk_run() {
	local section=$1 name=$2 contender=$3 round=$4 url=$5 conns=$6 pid=${7:-} script=$work/report.lua sampler='' out
	[ "${name%%[0-9]*}" = post ] && script=$work/post.lua
	if [ -n "$pid" ]; then
		(while sleep 0.5; do ps -o rss= -p "$pid"; done) >"$work/rss" 2>/dev/null &
		sampler=$!
	fi
	# A long timeout: a slow answer is a latency to report, not an error.
	out=$(wrk -t "$threads" -c "$conns" -d "${duration}s" --timeout 30s -s "$script" "$url" | awk '/^RESULT/ {print $2, $3, $4, $5}')
	if [ -n "$sampler" ]; then
		kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
		local rss
		rss=$(sort -n "$work/rss" | tail -1)
		if [ -n "$rss" ] && [ "$rss" -gt "${rss_max[$section]}" ]; then rss_max[$section]=$rss; fi
	fi
	[ -n "$out" ] || { echo "bench: wrk printed no result for $contender $name" >&2; exit 1; }
	echo "$section $name $contender $round $out" >>"$results"
}

# pgbench_run REQUEST MODE ROUND: pgbench on the captured script of REQUEST in MODE
# (extended or prepared), its latencies from its per-transaction log.
pgbench_run() {
	local name=$1 mode=$2 round=$3 prefix=pgb_$1_$2_$3 vars=() tps p50 p99
	mapfile -t vars <"$work/$name.args"
	(cd "$work" && pgbench -n -M "$mode" -c "$connections" -j "$threads" -T "$duration" -l --log-prefix="$prefix" \
		-f "$work/$name.sql" "${vars[@]}" "$database" >"$work/$prefix.out" 2>&1) || true
	tps=$(awk '/^tps = / {print $3; exit}' "$work/$prefix.out")
	if [ -z "$tps" ]; then
		echo "bench: pgbench -M $mode failed on $name:" >&2
		cat "$work/$name.sql" "$work/$prefix.out" >&2
		exit 1
	fi
	read -r p50 p99 < <(cat "$work/$prefix".[0-9]* | awk '{print $3}' | sort -n |
		awk '{v[NR]=$1} END {printf "%.3f %.3f\n", v[int(NR*0.5)+1]/1000, v[int(NR*0.99)+1]/1000}')
	rm -f "$work/$prefix".*
	echo "postgres $name pgb-$mode $round $tps $p50 $p99 0" >>"$results"
}

# median SECTION REQUEST CONTENDER FIELD: the median over the rounds of FIELD (rps, p50,
# p99 or errors); empty when nothing was measured.
median() {
	local col
	case $4 in rps) col=5 ;; p50) col=6 ;; p99) col=7 ;; errors) col=8 ;; esac
	awk -v s="$1" -v r="$2" -v c="$3" -v f="$col" '$1 == s && $2 == r && $3 == c {print $f}' "$results" | sort -g |
		awk '{v[NR]=$1} END {if (NR) print (NR % 2 ? v[(NR+1)/2] : (v[NR/2] + v[NR/2+1]) / 2)}'
}

# ---- PostgreSQL ------------------------------------------------------------------------
seed_postgres "$database" "$rows"
url=$(db_url "$database")
token=$(key "$url")
write_scripts "$token"
start erasured "$port" "$work/erasured" serve --drain-delay 0 --addr "127.0.0.1:$port" --database-url "$url"
base="http://127.0.0.1:$port/v2/personal-data/erasure-requests"
api() { curl -g -fsS -G -H "Authorization: Bearer $token" "$@"; }

# The requests' parameters, from the data.
store_rows=$(sql "SELECT count(*) FROM erasure_requests WHERE store_id = 'store-0'")
read -r filter_type filter_id < <(sql "SELECT resource_type || ' ' || resource_id FROM erasure_requests
	WHERE store_id = 'store-0' ORDER BY created_at, id OFFSET $((store_rows / 7)) LIMIT 1")
filter="eq(resource_type,$filter_type):eq(resource_id,$filter_id)"
get_id=$(sql "SELECT id FROM erasure_requests WHERE store_id = 'store-0' ORDER BY created_at, id OFFSET $((store_rows / 3)) LIMIT 1")
# A deep cursor is the API's own: the next link of a one-row page sorted by COLUMN that a
# filter ge(COLUMN,…) starts at the row of store-0 that ORDER (an ORDER BY, OFFSET and
# LIMIT 1 over its rows with a COLUMN) finds. Cursors do not carry the filter. It prints
# the cursor and its depth: how many rows of store-0 come before that row.
cursor_at() { # COLUMN ORDER
	local at next
	at=$(sql "SELECT to_char($1 AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') FROM erasure_requests
		WHERE store_id = 'store-0' AND $1 IS NOT NULL $2")
	next=$(api "$base" --data-urlencode "filter=ge($1,$at)" --data-urlencode "sort=$1" --data-urlencode 'page[size]=1' | jq -r '.links.next')
	echo "$(sed 's/.*page%5Bafter%5D=\([^&]*\).*/\1/' <<<"$next")" \
		"$(sql "SELECT count(*) FROM erasure_requests WHERE store_id = 'store-0' AND $1 < '$at'")"
}
# 30 rows before the end of store-0; and, sorted by completed_at, 10,000 rows before the
# last completed request, where the rows after the cursor span values and NULLs.
read -r deep_cursor depth < <(cursor_at created_at "ORDER BY created_at DESC, id DESC OFFSET 30 LIMIT 1")
completed=$(sql "SELECT count(completed_at) FROM erasure_requests WHERE store_id = 'store-0'")
read -r completed_cursor completed_depth < <(cursor_at completed_at \
	"ORDER BY completed_at, id OFFSET $((completed > 10000 ? completed - 10000 : 0)) LIMIT 1")

"$work/capture" --database-url "$url" --token "$token" --out "$work" --filter "$filter" --after "$deep_cursor" \
	--after-completed "$completed_cursor" --id "$get_id"

# What POST runs add: wrk's body says bench-post, and the captured statements that
# pgbench and the references run say bench-capture (as do the rows capture made).
# erasure_events is append-only by trigger; the bench's own rows may go, with the
# triggers off for this one transaction. The requests go first: their deletion waits for
# an erasure worker that is writing events of one, and then the events of every request
# that is gone are visible to the next statement.
clear_posts() {
	sql "BEGIN;
		SET LOCAL session_replication_role = replica;
		DELETE FROM erasure_requests WHERE store_id = 'store-0' AND resource_id IN ('bench-post', 'bench-capture');
		DELETE FROM erasure_events e WHERE NOT EXISTS (SELECT FROM erasure_requests r WHERE r.id = e.erasure_request_id);
		COMMIT"
	sql "VACUUM (ANALYZE) erasure_requests, erasure_events"
}
clear_posts

# The references run only for their own runs: the PostgreSQL here is shared, and three
# pools of idle connections beside pgbench's would take too many of its max_connections.
start_reference() { # ref-pq|ref-pgx
	start "$1" "${port_of[$1]}" "$work/reference" --driver "${1#ref-}" --database-url "$url" --statements "$work" \
		--addr "127.0.0.1:${port_of[$1]}"
}

# The same path and query for the server and the references.
declare -A path label
path[filtered]="?filter=$(enc "$filter")"
path[offset]="?page[offset]=10000&page[limit]=25"
path[deep]="?page[size]=25&page[after]=$deep_cursor"
path[first]="?page[size]=25"
path[completed]="?sort=completed_at&page[size]=25&page[after]=$completed_cursor"
path[get]="/$get_id"
path[post]=""
label[filtered]="filtered list page"
label[offset]="offset 10000"
label[deep]="cursor, $(commas "$depth") deep"
label[first]="cursor, first page"
label[completed]="by completed_at, $(commas "$completed_depth") deep"
label[get]="GET one"
label[post]="POST"
names=(filtered offset deep first completed get post) # post last in each round: its rows are cleared after it
contenders=(erasured ref-pq ref-pgx pgb-extended pgb-prepared)
declare -A port_of=([erasured]=$port [ref-pq]=$((port + 1)) [ref-pgx]=$((port + 2)))
for c in erasured ref-pq ref-pgx; do
	[ "$c" = erasured ] || start_reference "$c"
	for name in "${names[@]}"; do
		[ "$name" = post ] && continue
		u="http://127.0.0.1:${port_of[$c]}/v2/personal-data/erasure-requests${path[$name]}"
		code=$(curl -g -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "$u")
		[ "$code" = 200 ] || { echo "bench: $c answers $code to $name: $u" >&2; exit 1; }
	done
	[ "$c" = erasured ] || stop "$c"
done

# measure REQUEST CONTENDER ROUND
measure() {
	local name=$1 c=$2 round=$3
	echo "bench: round $round/$rounds: $name: $c" >&2
	# erasured's erasure worker would take up the requests another contender creates.
	if [ "$name" = post ] && [ "$c" != erasured ]; then kill -STOP "${pids[erasured]}"; fi
	case $c in
	pgb-*) pgbench_run "$name" "${c#pgb-}" "$round" ;;
	erasured) wrk_run postgres "$name" "$c" "$round" "$base${path[$name]}" "$connections" "${pids[erasured]}" ;;
	*)
		# A fresh reference opens its connections and prepares its statements in a
		# second of load that is not measured; erasured's are open from earlier runs.
		local u="http://127.0.0.1:${port_of[$c]}/v2/personal-data/erasure-requests${path[$name]}" script=$work/report.lua
		[ "$name" = post ] && script=$work/post.lua
		start_reference "$c"
		wrk -t "$threads" -c "$connections" -d 1s -s "$script" "$u" >/dev/null
		wrk_run postgres "$name" "$c" "$round" "$u" "$connections"
		stop "$c"
		;;
	esac
	if [ "$name" = post ]; then
		kill -CONT "${pids[erasured]}"
		clear_posts
	fi
}
for round in $(seq "$rounds"); do
	for name in "${names[@]}"; do
		n=${#contenders[@]}
		for i in $(seq 0 $((n - 1))); do
			measure "$name" "${contenders[$(((i + round - 1) % n))]}" "$round"
		done
	done
done

echo "bench: exporting every row with erasured export --database-url" >&2
stores=$(sql "SELECT string_agg(DISTINCT store_id, ' ') FROM erasure_requests")
all_rows=$(sql "SELECT count(*) FROM erasure_requests")
/usr/bin/time -v -o "$work/export.time" bash -c "for s in $stores; do \"$work/erasured\" export --type erasure_request \
	--database-url '$url' --store \"\$s\"; done" >"$work/export.ndjson"
exported=$(wc -l <"$work/export.ndjson")
export_s=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2, p, ":"); s=0; for (i=1; i<=n; i++) s=s*60+p[i]; print s}' "$work/export.time")
export_rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/export.time")
rm -f "$work/export.ndjson"
[ "$exported" -eq "$all_rows" ] || echo "bench: the export wrote $exported rows, not $all_rows" >&2
# Through the API, following a filter that matches a third of store-0 to its end.
echo "bench: exporting store-0's CREATED requests with erasured export --server" >&2
start=$(date +%s.%N)
filtered_exported=$(ERASURED_TOKEN="$token" "$work/erasured" export --type erasure_request --server "http://127.0.0.1:$port" \
	--filter 'eq(status,CREATED)' | wc -l)
filtered_export_s=$(calc "$(date +%s.%N) - $start")
stop erasured

# ---- SQLite ----------------------------------------------------------------------------
# The same rows in the embedded store's format: ids and JSON as text, timestamps as
# fixed-width UTC text (see schema_sqlite.sql).
sqlite_db=$work/bench.db
sqlite_url=sqlite:$sqlite_db
echo "bench: seeding $rows erasure requests into SQLite"
start=$(date +%s.%N)
"$work/erasured" migrate --database-url "$sqlite_url" 2>/dev/null
sqlite3 "$sqlite_db" >/dev/null <<EOF
PRAGMA journal_mode = WAL;
PRAGMA cache_size = -400000;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $rows),
	s AS (SELECT i, lower(hex(randomblob(16))) AS h, 1704067200 + i / 2 AS at FROM n)
INSERT INTO erasure_requests (id, store_id, resource_type, resource_id, reason, status,
	services_erased, partial_failures, initiator, created_at, updated_at, completed_at, due_at,
	requests_erased_at, overdue_at)
SELECT substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-4' || substr(h, 14, 3) || '-a' || substr(h, 18, 3) || '-' || substr(h, 21, 12),
	CASE WHEN i % 10 < 9 THEN 'store-0' ELSE 'store-' || (1 + (i / 10) % 9) END,
	json_extract('["customer","account","account-member","account-membership","address","user-authentication-info","order","user"]',
		'\$[' || (i % 8) || ']'),
	'person-' || (i % max($rows / 4, 1)),
	CASE WHEN i % 3 = 0 THEN 'customer request' END,
	json_extract('["pending","in_progress","completed"]', '\$[' || (i % 3) || ']'),
	CASE WHEN i % 3 = 2 THEN '["requests","billing"]' ELSE '[]' END,
	CASE WHEN i % 30 = 2 THEN '[{"service":"crm","message":"timeout"}]' ELSE '[]' END,
	'$seed_initiator',
	strftime('%Y-%m-%dT%H:%M:%S.000000Z', at, 'unixepoch'),
	strftime('%Y-%m-%dT%H:%M:%S.000000Z', at, 'unixepoch'),
	CASE WHEN i % 3 = 2 THEN strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 3600, 'unixepoch') END,
	strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 30 * 86400, 'unixepoch'),
	strftime('%Y-%m-%dT%H:%M:%S.000000Z', at, 'unixepoch'),
	CASE WHEN i % 3 <> 2 THEN strftime('%Y-%m-%dT%H:%M:%S.000000Z', at + 30 * 86400, 'unixepoch') END
FROM s;
COMMIT;
ANALYZE;
EOF
printf 'bench: seeded and analysed in %.1f s\n' "$(calc "$(date +%s.%N) - $start")"
sqlite_token=$(key "$sqlite_url")
write_scripts "$sqlite_token"
sqlite_port=$((port + 3))
start erasured-sqlite "$sqlite_port" "$work/erasured" serve --drain-delay 0 --addr "127.0.0.1:$sqlite_port" --database-url "$sqlite_url"
sqlite_base="http://127.0.0.1:$sqlite_port/v2/personal-data/erasure-requests"
sqlite_store=$(sqlite3 "$sqlite_db" "SELECT count(*) FROM erasure_requests WHERE store_id = 'store-0'")
read -r sqlite_filter < <(sqlite3 -separator ' ' "$sqlite_db" "SELECT 'eq(resource_type,' || resource_type || '):eq(resource_id,' || resource_id || ')'
	FROM erasure_requests WHERE store_id = 'store-0' ORDER BY created_at, id LIMIT 1 OFFSET $((sqlite_store / 7))")
# The triggers that keep erasure_events append-only go for one transaction, as on
# PostgreSQL, and come back as the schema wrote them.
sqlite_triggers=$(sqlite3 "$sqlite_db" "SELECT group_concat(sql, ';' || char(10)) || ';' FROM sqlite_master
	WHERE type = 'trigger' AND tbl_name = 'erasure_events'")
clear_sqlite_posts() {
	sqlite3 "$sqlite_db" <<EOF
.bail on
.timeout 60000
BEGIN IMMEDIATE;
DROP TRIGGER erasure_events_no_update;
DROP TRIGGER erasure_events_no_delete;
DELETE FROM erasure_events WHERE erasure_request_id IN (SELECT id FROM erasure_requests
	WHERE store_id = 'store-0' AND resource_id = 'bench-post');
DELETE FROM erasure_requests WHERE store_id = 'store-0' AND resource_id = 'bench-post';
$sqlite_triggers
COMMIT;
EOF
}
declare -A sqlite_path=([filtered]="?filter=$(enc "$sqlite_filter")" [first]="?page[size]=25")
sqlite_names=(filtered first post16 post32 post64)
for name in filtered first; do
	code=$(curl -g -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $sqlite_token" "$sqlite_base${sqlite_path[$name]}")
	[ "$code" = 200 ] || { echo "bench: erasured on SQLite answers $code to $name" >&2; exit 1; }
done
for round in $(seq "$rounds"); do
	for name in "${sqlite_names[@]}"; do
		echo "bench: SQLite round $round/$rounds: $name" >&2
		case $name in
		post*)
			wrk_run sqlite "$name" erasured "$round" "$sqlite_base" "${name#post}" "${pids[erasured-sqlite]}"
			clear_sqlite_posts
			;;
		*) wrk_run sqlite "$name" erasured "$round" "$sqlite_base${sqlite_path[$name]}" "$connections" "${pids[erasured-sqlite]}" ;;
		esac
	done
done
stop erasured-sqlite

# ---- a big store (--big) ---------------------------------------------------------------
# A filtered first page counts what its filter matches: how much dearer is a filter that
# matches a third of a store of millions than one that matches 4 rows?
if [ "$big" = 1 ]; then
	seed_postgres "$big_database" "$big_rows"
	big_url=$(db_url "$big_database")
	write_scripts "$(key "$big_url")"
	big_port=$((port + 4))
	start erasured-big "$big_port" "$work/erasured" serve --drain-delay 0 --addr "127.0.0.1:$big_port" --database-url "$big_url"
	big_store=$(psql_in "$big_database" "SELECT count(*) FROM erasure_requests WHERE store_id = 'store-0'")
	broad_n=$(psql_in "$big_database" "SELECT count(*) FROM erasure_requests WHERE store_id = 'store-0' AND status = 'pending'")
	read -r narrow_type narrow_id < <(psql_in "$big_database" "SELECT resource_type || ' ' || resource_id FROM erasure_requests
		WHERE store_id = 'store-0' ORDER BY created_at, id OFFSET $((big_store / 7)) LIMIT 1")
	narrow_n=$(psql_in "$big_database" "SELECT count(*) FROM erasure_requests
		WHERE store_id = 'store-0' AND resource_type = '$narrow_type' AND resource_id = '$narrow_id'")
	declare -A big_path=([broad]="?filter=$(enc "eq(status,pending)")"
		[narrow]="?filter=$(enc "eq(resource_type,$narrow_type):eq(resource_id,$narrow_id)")")
	for round in $(seq "$rounds"); do
		for name in broad narrow; do
			echo "bench: big store round $round/$rounds: $name" >&2
			wrk_run big "$name" erasured "$round" "http://127.0.0.1:$big_port/v2/personal-data/erasure-requests${big_path[$name]}" "$connections"
		done
	done
	stop erasured-big
fi

# ---- report ----------------------------------------------------------------------------
load_after=$(loadavg)
# row SECTION REQUEST CONTENDER LABEL [ERASURED_RPS]: one line of medians, and erasured's
# throughput over this contender's.
row() {
	local rps p50 p99 err
	rps=$(median "$1" "$2" "$3" rps) p50=$(median "$1" "$2" "$3" p50) p99=$(median "$1" "$2" "$3" p99)
	err=$(median "$1" "$2" "$3" errors)
	local ratio="" errors=""
	[ -z "${5:-}" ] || ratio=$(printf '%.2f' "$(calc "$5 / $rps")")
	[ "$(calc "($err > 0)")" = 0 ] || errors="  ($err errors)"
	printf '%-28s %-13s %9.0f %9.2f %9.2f %10s%s\n' "$4" "$3" "$rps" "$p50" "$p99" "$ratio" "$errors"
}
echo
echo "PostgreSQL: $(commas "$rows") erasure requests ($(commas "$store_rows") in store-0); $connections connections, $threads threads; medians of $rounds rounds of ${duration}s"
printf '%-28s %-13s %9s %9s %9s %10s\n' request contender req/s "p50 ms" "p99 ms" "erasured /"
for name in "${names[@]}"; do
	e=$(median postgres "$name" erasured rps)
	row postgres "$name" erasured "${label[$name]}"
	for c in "${contenders[@]:1}"; do row postgres "$name" "$c" "" "$e"; done
done
# The first cursor page's throughput over a deeper page's, the server's beside
# PostgreSQL's own for the same SQL: no server does better than the database's ratio.
for name in deep completed offset; do
	printf 'first cursor page / %s throughput: erasured %.2f, pgbench -M prepared %.2f\n' "${label[$name]}" \
		"$(calc "$(median postgres first erasured rps) / $(median postgres "$name" erasured rps)")" \
		"$(calc "$(median postgres first pgb-prepared rps) / $(median postgres "$name" pgb-prepared rps)")"
done
printf 'export of %d rows: %.1f s, %.1f MB resident at most\n' "$exported" "$export_s" "$(calc "$export_rss / 1024")"
printf 'export through the API of the %d CREATED requests of store-0: %.1f s\n' "$filtered_exported" "$filtered_export_s"
echo
echo "SQLite: $(commas "$rows") erasure requests ($(commas "$sqlite_store") in store-0); medians of $rounds rounds of ${duration}s"
printf '%-28s %-13s %9s %9s %9s\n' request contender req/s "p50 ms" "p99 ms"
row sqlite filtered erasured "filtered list page"
row sqlite first erasured "cursor, first page"
for w in 16 32 64; do row sqlite "post$w" erasured "POST, $w writers"; done
printf 'server resident memory under load: %.1f MB at most on PostgreSQL, %.1f MB on SQLite\n' \
	"$(calc "${rss_max[postgres]} / 1024")" "$(calc "${rss_max[sqlite]} / 1024")"
if [ "$big" = 1 ]; then
	echo
	echo "PostgreSQL, a big store: $(commas "$big_rows") erasure requests ($(commas "$big_store") in store-0); medians of $rounds rounds"
	printf '%-28s %-13s %9s %9s %9s\n' request contender req/s "p50 ms" "p99 ms"
	row big broad erasured "eq(status,pending): $(commas "$broad_n")"
	row big narrow erasured "4-row filter: $(commas "$narrow_n")"
fi

# The issue's table: measure | figure | goal.
ratio() { printf '%.2f' "$(calc "$(median "$1" "$2" "$3" rps) / $(median "$1" "$2" "$4" rps)")"; }
four() { # CONTENDER
	echo "$(ratio postgres filtered erasured "$1") / $(ratio postgres first erasured "$1") / $(ratio postgres deep erasured "$1") / $(ratio postgres get erasured "$1")"
}
if [ "$big" = 1 ]; then
	broad=$(calc "$(median big broad erasured p50) / $(median big narrow erasured p50)")
	big_figure=$(printf '%.1f× (p50 %.1f ms over %.1f ms; %s and %s matches of %s)' "$broad" \
		"$(median big broad erasured p50)" "$(median big narrow erasured p50)" \
		"$(commas "$broad_n")" "$(commas "$narrow_n")" "$(commas "$big_store")")
else
	big_figure="not measured: run with --big"
fi
sqlite_figure=$(printf '%.3f' "$(calc "$(median sqlite first erasured rps) / $(median postgres first erasured rps)")")
[ "$sqlite_store" = 900000 ] || sqlite_figure="$sqlite_figure (a store of $(commas "$sqlite_store"))"
export_figure=$(printf '%.0f MB; %.1f s in %.0f MB' "$(calc "${rss_max[postgres]} / 1024")" "$export_s" "$(calc "$export_rss / 1024")")
[ "$exported" = 1000000 ] || export_figure="$export_figure ($(commas "$exported") rows)"
echo
echo "| measure | figure | goal |"
echo "|---|---|---|"
echo "| erasured ÷ lib/pq-prepared reference, filtered page / first cursor page / deep cursor page / GET one | $(four ref-pq) | ≥ 0.85 each |"
echo "| erasured ÷ pgx reference, same four | $(four ref-pgx) | ≥ 0.75 each |"
echo "| filtered first page matching 1.5M rows ÷ one matching 4 rows (latency, PostgreSQL) | $big_figure | ≤ 3× |"
echo "| SQLite first cursor page of a 900k-row store ÷ PostgreSQL's (throughput) | $sqlite_figure | ≥ 0.5 |"
echo "| POST throughput ÷ pgbench running the same statements | $(ratio postgres post erasured pgb-extended) (-M extended), $(ratio postgres post erasured pgb-prepared) (-M prepared) | ≥ 0.9 |"
echo "| server RSS under that load; export of 1M rows | $export_figure | < 100 MB; < 30 s in < 64 MB |"
echo
echo "printed by: $invocation ($(nproc) cores; load average before $load_before, after $load_after)"
