#!/usr/bin/env bash
# bench/run.sh: how fast erasured serves its heaviest requests, next to what PostgreSQL
# alone does with the same SQL at the same concurrency.
#
#   bench/run.sh [--rows N] [--duration S] [--connections C] [--threads T]
#                [--database NAME] [--port P] [--keep]
#
# It creates a fresh database (dropped at the end unless --keep) on the PostgreSQL at
# PGHOST/PGPORT/PGUSER (default 127.0.0.1:5432, postgres) and seeds it with N erasure
# requests (default 1,000,000) in one INSERT ... SELECT: every resource type and status,
# spread over 10 stores, 90% of them in store-0, so that one tenant is big enough for a
# cursor page most of a million rows deep and the others show that totals are per store.
# It builds erasured, starts it on the database, makes an API key for store-0, and then,
# for each request below, runs wrk (C connections, T threads, S seconds) against the
# server and pgbench (same C and T, -T S) on the SQL the server runs for that request,
# captured from the storage package itself by bench/capture:
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
# It prints requests per second and p50/p99 latency of both, the ratios server/pgbench,
# the server's largest resident memory while under load, the time and largest resident
# memory of `erasured export` of every row, and the time of an export through the API
# of the CREATED requests of store-0, a third of it. Timings are only as quiet as the
# machine: it prints the load average before and after.
set -euo pipefail

rows=1000000 duration=15 connections=16 threads=2 database=erasured_bench port=18080 keep=0
while [ $# -gt 0 ]; do
	case "$1" in
	--rows) rows=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--connections) connections=$2; shift 2 ;;
	--threads) threads=$2; shift 2 ;;
	--database) database=$2; shift 2 ;;
	--port) port=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	*) echo "usage: $0 [--rows N] [--duration S] [--connections C] [--threads T] [--database NAME] [--port P] [--keep]" >&2; exit 2 ;;
	esac
done
case "$database" in
erasured_bench*) ;;
*) echo "bench: --database must start with erasured_bench: the script drops and recreates it" >&2; exit 2 ;;
esac

cd "$(dirname "$0")/.."
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
db_url="postgres://$PGUSER@$PGHOST:$PGPORT/$database?sslmode=disable"

if ! command -v wrk >/dev/null; then
	echo "bench: installing wrk" >&2
	apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
fi
for tool in pgbench psql createdb dropdb jq curl awk /usr/bin/time; do
	command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done

work=$(mktemp -d)
server_pid=
cleanup() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	if [ "$keep" = 0 ]; then dropdb --if-exists "$database" 2>/dev/null || true; fi
	rm -rf "$work"
}
trap cleanup EXIT
sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$database" -c "$1"; }
calc() { awk "BEGIN { print $1 }"; }

echo "bench: load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
echo "bench: building erasured"
go build -o "$work/erasured" ./cmd/erasured
go build -o "$work/capture" ./bench/capture

echo "bench: seeding $rows erasure requests into a fresh database $database"
dropdb --if-exists "$database"
createdb "$database"
"$work/erasured" migrate --database-url "$db_url" 2>/dev/null
start=$(date +%s.%N)
# Two requests per second of created_at, so that ties on the sort key are common and the
# id tie-breaker does its part. requests_erased_at is set so that no background worker
# takes a million requests for new work.
sql "INSERT INTO erasure_requests (id, store_id, resource_type, resource_id, reason, status,
		services_erased, partial_failures, initiator, created_at, updated_at, completed_at, due_at,
		requests_erased_at)
	SELECT gen_random_uuid(),
		CASE WHEN i % 10 < 9 THEN 'store-0' ELSE 'store-' || (1 + (i / 10) % 9) END,
		(ARRAY['customer','account','account-member','account-membership','address',
			'user-authentication-info','order','user'])[1 + i % 8],
		'person-' || (i % greatest($rows / 4, 1)),
		CASE WHEN i % 3 = 0 THEN 'customer request' END,
		(ARRAY['pending','in_progress','completed'])[1 + i % 3],
		CASE WHEN i % 3 = 2 THEN '[\"requests\",\"billing\"]' ELSE '[]' END::jsonb,
		CASE WHEN i % 30 = 2 THEN '[{\"service\":\"crm\",\"message\":\"timeout\"}]' ELSE '[]' END::jsonb,
		'{\"access-token-email\":\"seed@example.com\",\"access-token-id\":\"00000000-0000-0000-0000-000000000000\",\"access-token-name\":\"seed\",\"access-token-store-id\":\"store-0\",\"access-token-type\":\"client-credentials-token\"}',
		t.at, t.at, CASE WHEN i % 3 = 2 THEN t.at + interval '1 hour' END, t.at + interval '30 days', t.at
	FROM generate_series(1, $rows) AS i,
		LATERAL (SELECT timestamptz '2024-01-01 00:00:00Z' + (i / 2) * interval '1 second' AS at) AS t"
sql "VACUUM (ANALYZE) erasure_requests"
printf 'bench: seeded and analysed in %.1f s\n' "$(calc "$(date +%s.%N) - $start")"

token=$("$work/erasured" keys create --database-url "$db_url" --name bench --email bench@example.com \
	--store store-0 --scopes erasure_requests:read,erasure_requests:write 2>/dev/null)
"$work/erasured" serve --addr "127.0.0.1:$port" --database-url "$db_url" >"$work/server.out" 2>"$work/server.log" &
server_pid=$!
base="http://127.0.0.1:$port/v2/personal-data/erasure-requests"
for _ in $(seq 100); do
	curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
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

"$work/capture" --database-url "$db_url" --token "$token" --out "$work" --filter "$filter" --after "$deep_cursor" \
	--after-completed "$completed_cursor" --id "$get_id"

enc() { jq -rn --arg v "$1" '$v|@uri'; }
declare -A url label
url[filtered]="$base?filter=$(enc "$filter")"
url[offset]="$base?page[offset]=10000&page[limit]=25"
url[deep]="$base?page[size]=25&page[after]=$deep_cursor"
url[first]="$base?page[size]=25"
url[completed]="$base?sort=completed_at&page[size]=25&page[after]=$completed_cursor"
url[get]="$base/$get_id"
url[post]="$base"
label[filtered]="filtered list page"
label[offset]="offset 10000"
label[deep]="cursor, $(printf "%'d" "$depth") deep"
label[first]="cursor, first page"
label[completed]="by completed_at, $(printf "%'d" "$completed_depth") deep"
label[get]="GET one"
label[post]="POST"
for name in "${!url[@]}"; do
	code=$(curl -g -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $token" "${url[$name]}")
	if [ "$name" != post ] && [ "$code" != 200 ]; then
		echo "bench: $name answers $code: ${url[$name]}" >&2
		exit 1
	fi
done

# wrk reports through a Lua done() so that nothing depends on its text layout.
cat >"$work/report.lua" <<EOF
wrk.headers["Authorization"] = "Bearer $token"
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

rss_max=0
declare -A server pg
measure() {
	local name=$1 script=$work/report.lua
	[ "$name" = post ] && script=$work/post.lua
	echo "bench: $name: wrk" >&2
	local sampler
	(while sleep 0.5; do ps -o rss= -p "$server_pid"; done) >"$work/$name.rss" 2>/dev/null &
	sampler=$!
	server[$name]=$(wrk -t "$threads" -c "$connections" -d "${duration}s" -s "$script" "${url[$name]}" | awk '/^RESULT/ {print $2, $3, $4, $5}')
	kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
	local rss
	rss=$(sort -n "$work/$name.rss" | tail -1)
	[ -n "$rss" ] && [ "$rss" -gt "$rss_max" ] && rss_max=$rss

	echo "bench: $name: pgbench" >&2
	local vars=()
	mapfile -t vars <"$work/$name.args"
	rm -f "$work"/pgb_"$name".*
	(cd "$work" && pgbench -n -M extended -c "$connections" -j "$threads" -T "$duration" -l --log-prefix="pgb_$name" \
		-f "$work/$name.sql" "${vars[@]}" "$database" >"$work/$name.pgbench" 2>&1) || true
	local tps
	tps=$(awk '/^tps = / {print $3; exit}' "$work/$name.pgbench")
	if [ -z "$tps" ]; then
		echo "bench: pgbench failed on $name:" >&2
		cat "$work/$name.sql" "$work/$name.pgbench" >&2
		exit 1
	fi
	local p50 p99
	read -r p50 p99 < <(cat "$work"/pgb_"$name".* | awk '{print $3}' | sort -n |
		awk '{v[NR]=$1} END {printf "%.3f %.3f\n", v[int(NR*0.5)+1]/1000, v[int(NR*0.99)+1]/1000}')
	pg[$name]="$tps $p50 $p99"
}

names=(filtered offset deep first completed get)
for name in "${names[@]}"; do measure "$name"; done

echo "bench: exporting every row with erasured export --database-url" >&2
stores=$(sql "SELECT string_agg(DISTINCT store_id, ' ') FROM erasure_requests")
all_rows=$(sql "SELECT count(*) FROM erasure_requests") # the seed, and the rows bench/capture posted
/usr/bin/time -v -o "$work/export.time" bash -c "for s in $stores; do \"$work/erasured\" export --type erasure_request \
	--database-url '$db_url' --store \"\$s\"; done" >"$work/export.ndjson"
exported=$(wc -l <"$work/export.ndjson")
export_s=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2, p, ":"); s=0; for (i=1; i<=n; i++) s=s*60+p[i]; print s}' "$work/export.time")
export_rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/export.time")
rm -f "$work/export.ndjson"
# Through the API, following a filter that matches a third of store-0 to its end.
echo "bench: exporting store-0's CREATED requests with erasured export --server" >&2
start=$(date +%s.%N)
filtered_exported=$("$work/erasured" export --type erasure_request --server "http://127.0.0.1:$port" --token "$token" \
	--filter 'eq(status,CREATED)' | wc -l)
filtered_export_s=$(calc "$(date +%s.%N) - $start")

measure post # last: it adds rows
names+=(post)

echo
echo "erasured vs PostgreSQL alone: $rows erasure requests ($(printf "%'d" "$store_rows") in store-0), $connections connections, $threads threads, ${duration}s each"
printf '%-26s %10s %9s %9s   %10s %9s %9s   %9s %9s\n' "" "server" "" "" "pgbench" "" "" "server /" "pgbench"
printf '%-26s %10s %9s %9s   %10s %9s %9s   %9s %9s\n' "request" "req/s" "p50 ms" "p99 ms" "tps" "p50 ms" "p99 ms" "req/s" "p50"
for name in "${names[@]}"; do
	read -r s_rps s_p50 s_p99 s_err <<<"${server[$name]}"
	read -r p_tps p_p50 p_p99 <<<"${pg[$name]}"
	printf '%-26s %10.0f %9.2f %9.2f   %10.0f %9.2f %9.2f   %9.2f %9.2f%s\n' "${label[$name]}" \
		"$s_rps" "$s_p50" "$s_p99" "$p_tps" "$p_p50" "$p_p99" \
		"$(calc "$s_rps / $p_tps")" "$(calc "$s_p50 / $p_p50")" \
		"$([ "$s_err" != 0 ] && echo "  ($s_err errors)")"
done
# Throughput of the first cursor page over that of a deeper page, the server's next to
# PostgreSQL's own for the same SQL: no server can do better than the database's ratio.
ratio() {
	local s_first s_deep p_first p_deep
	read -r s_first _ <<<"${server[first]}"
	read -r s_deep _ <<<"${server[$1]}"
	read -r p_first _ <<<"${pg[first]}"
	read -r p_deep _ <<<"${pg[$1]}"
	printf 'first cursor page / %s throughput: %.2f%s, PostgreSQL alone %.2f\n' \
		"${label[$1]}" "$(calc "$s_first / $s_deep")" "${2:+ (target <= $2)}" "$(calc "$p_first / $p_deep")"
}
ratio deep 1.2
ratio completed
ratio offset 1.5
printf 'server resident memory under load: %.1f MB at most (target < 100)\n' "$(calc "$rss_max / 1024")"
printf 'export of %d rows: %.1f s (target < 60), %.1f MB resident at most (target < 100)\n' \
	"$exported" "$export_s" "$(calc "$export_rss / 1024")"
[ "$exported" -eq "$all_rows" ] || echo "bench: the export wrote $exported rows, not $all_rows" >&2
printf 'export through the API of the %d CREATED requests of store-0: %.1f s\n' "$filtered_exported" "$filtered_export_s"
echo "bench: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
