#!/usr/bin/env bash
# bench/orchestration.sh: what orchestration costs, on PostgreSQL.
#
#   bench/orchestration.sh [--rows N] [--rounds R] [--duration S] [--connections C] [--deliveries D]
#
# 1. A service's queue. It seeds a fresh database with N erasure requests of one store
#    (default 1,000,000), of which the last 2% filed still wait for the service "billing"
#    (as in a store whose older requests are done), and prints
#    the plan, with EXPLAIN ANALYZE (auto_explain, on the server's own connections), of
#    the statement behind GET ?filter=eq(awaiting_service,billing), and its latency.
# 2. POST throughput with no webhook and with 3 webhooks subscribed to
#    erasure_request.created (every POST then writes its announcement to the outbox in
#    its transaction), in R rounds (default 12) of S seconds each (default 5) with C
#    connections, alternating which goes first, since a shared machine's load drifts
#    more than the difference: the ratio of each round, their median, and the ratio of
#    the sums. The server runs with --webhook-concurrency 0, so that the figures are
#    the POST's own; deliveries are a separate load, which other processes may take
#    (part 3).
# 3. The drain: D pending deliveries (default 10,000) to a local receiver that answers
#    204 at once, and the time a server with the default --webhook-concurrency (8) takes
#    to make them all.
#
# Timings are only as quiet as the machine: it prints the load average before and after.
set -euo pipefail

rows=1000000 rounds=12 duration=5 connections=16 deliveries=10000 database=erasured_bench_orch port=18081 rport=18091
while [ $# -gt 0 ]; do
	case "$1" in
	--rows) rows=$2; shift 2 ;;
	--rounds) rounds=$2; shift 2 ;;
	--duration) duration=$2; shift 2 ;;
	--connections) connections=$2; shift 2 ;;
	--deliveries) deliveries=$2; shift 2 ;;
	*) echo "usage: $0 [--rows N] [--rounds R] [--duration S] [--connections C] [--deliveries D]" >&2; exit 2 ;;
	esac
done
cd "$(dirname "$0")/.."
export PGHOST="${PGHOST:-127.0.0.1}" PGPORT="${PGPORT:-5432}" PGUSER="${PGUSER:-postgres}"
db_url="postgres://$PGUSER@$PGHOST:$PGPORT/$database?sslmode=disable"
command -v wrk >/dev/null || apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null || true; done
	dropdb --if-exists "$database" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
sql() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$database" -c "$1"; }
serve() { # ARGS...: start erasured, wait until it is ready
	"$work/erasured" serve --addr "127.0.0.1:$port" --database-url "$db_url" --webhooks-allow-insecure "$@" \
		>/dev/null 2>"$work/server.log" &
	server=$!
	pids+=("$server")
	for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return; sleep 0.1; done
	echo "bench: the server did not start" >&2; exit 1
}
stop() { kill "$server"; wait "$server" 2>/dev/null || true; }

echo "bench: load average before: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
go build -o "$work/erasured" ./cmd/erasured
go build -o "$work/receiver" ./bench/receiver
"$work/receiver" --addr "127.0.0.1:$rport" &
pids+=($!)

echo "bench: seeding $rows erasure requests, the last 2% of them waiting for billing"
dropdb --if-exists "$database"
createdb "$database"
"$work/erasured" migrate --database-url "$db_url" 2>/dev/null
sql "INSERT INTO erasure_requests (id, store_id, resource_type, resource_id, status, services_erased, partial_failures,
		initiator, created_at, updated_at, due_at, requests_erased_at, services_required)
	SELECT gen_random_uuid(), 'store-0', 'user', 'person-' || i,
		CASE WHEN i > $rows - $rows / 50 THEN 'in_progress' ELSE 'completed' END, '[\"requests\"]', '[]',
		'{\"access-token-email\":\"seed@example.com\",\"access-token-id\":\"00000000-0000-0000-0000-000000000000\",\"access-token-name\":\"seed\",\"access-token-store-id\":\"store-0\",\"access-token-type\":\"client-credentials-token\"}',
		t.at, t.at, t.at + interval '3000 days', t.at, CASE WHEN i > $rows - $rows / 50 THEN '[\"billing\"]' ELSE '[]' END::jsonb
	FROM generate_series(1, $rows) AS i,
		LATERAL (SELECT timestamptz '2024-01-01 00:00:00Z' + i * interval '1 second' AS at) AS t"
sql "INSERT INTO erasure_awaiting (erasure_request_id, service, request_store_id, request_created_at)
	SELECT id, 'billing', store_id, created_at FROM erasure_requests WHERE status = 'in_progress'"
sql "VACUUM (ANALYZE) erasure_requests"
sql "VACUUM (ANALYZE) erasure_awaiting"
echo "bench: $(sql "SELECT count(*) FROM erasure_awaiting") requests wait for billing, of $(sql "SELECT count(*) FROM erasure_requests")"

token=$("$work/erasured" keys create --database-url "$db_url" --name bench --email bench@example.com \
	--store store-0 --scopes erasure_requests:read,erasure_requests:write,erasure_requests:workflow 2>/dev/null)
base="http://127.0.0.1:$port"

# 1. The queue's plan, from the server's own connections.
sql "ALTER DATABASE $database SET session_preload_libraries = 'auto_explain'"
sql "ALTER DATABASE $database SET auto_explain.log_min_duration = 0"
sql "ALTER DATABASE $database SET auto_explain.log_analyze = on"
sql "ALTER DATABASE $database SET auto_explain.log_buffers = on"
log=$(sql "SELECT pg_current_logfile()" 2>/dev/null || true)
data_dir=$(sql "SHOW data_directory")
[ -n "$log" ] && case "$log" in /*) ;; *) log="$data_dir/$log" ;; esac
[ -z "$log" ] && log=$(ls -t /var/log/postgresql/postgresql-*.log | head -1)
mark=$(wc -l <"$log")
serve --webhook-concurrency 0
queue="$base/v2/personal-data/erasure-requests?filter=eq(awaiting_service,billing)"
curl -gfs -o /dev/null -H "Authorization: Bearer $token" "$queue"
printf 'bench: GET %s took %s s (first page of 25, with the total)\n' "$queue" \
	"$(curl -gfs -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" "$queue")"
stop
sql "ALTER DATABASE $database RESET ALL"
echo "bench: the plan of its list statement (auto_explain):"
tail -n +"$((mark + 1))" "$log" | awk '/Query Text: .*erasure_awaiting/ {p=1} p && /duration: .* plan:/ && seen {exit} p {print; seen=1}' | tail -n +1 | head -60

# 2. POST throughput, without and with 3 webhooks.
cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer $token"
wrk.headers["Content-Type"] = "application/vnd.api+json"
wrk.body = '{"data":{"type":"erasure_request","attributes":{"resource_type":"account","resource_id":"bench-post"}}}'
LUA
post() { wrk -t2 -c"$connections" -d"${duration}s" -s "$work/post.lua" "$base/v2/personal-data/erasure-requests" | awk '/Requests\/sec/ {print $2}'; }
hooks() { sql "UPDATE webhooks SET active = $1" >/dev/null; }
serve --webhook-concurrency 0
for _ in 1 2 3; do
	curl -fs -o /dev/null -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/vnd.api+json' "$base/v2/webhooks" \
		-d "{\"data\":{\"type\":\"webhook\",\"attributes\":{\"url\":\"http://127.0.0.1:$rport/hook\",\"events\":[\"erasure_request.created\"]}}}"
done
: >"$work/rounds"
for round in $(seq "$rounds"); do
	if [ $((round % 2)) = 0 ]; then
		hooks false; none=$(post); hooks true; three=$(post)
	else
		hooks true; three=$(post); hooks false; none=$(post)
	fi
	echo "$none $three" >>"$work/rounds"
	echo "bench: round $round: POST $none/s with no webhook, $three/s with 3 webhooks (load $(cut -d' ' -f1 /proc/loadavg))"
done
median=$(awk '{ print $2 / $1 }' "$work/rounds" | sort -g | awk '{ r[NR] = $1 } END { print (r[int((NR + 1) / 2)] + r[int(NR / 2) + 1]) / 2 }')
awk -v m="$median" '{ a += $1; b += $2 } END {
	printf "bench: 3 webhooks cost %.1f%% of POST throughput (median of %d rounds; %.1f%% of the sums)\n", (1 - m) * 100, NR, (1 - b / a) * 100
}' "$work/rounds"
echo "bench: $(sql "SELECT count(*) FROM webhook_events WHERE fanned_out_at IS NULL") announcements are in the outbox"
stop

# 3. The drain: D deliveries, each of an announcement of its own, due now.
sql "DELETE FROM webhook_deliveries"
sql "DELETE FROM webhook_events"
sql "UPDATE webhooks SET active = true"
sql "INSERT INTO webhook_events (id, store_id, event, erasure_request_id, webhook_ids, payload, created_at, fanned_out_at)
	SELECT gen_random_uuid(), 'store-0', 'erasure_request.created', gen_random_uuid(), '[]',
		'{\"type\":\"erasure_request.created\",\"data\":{\"attributes\":{\"reason\":\"' || repeat('x', 1200) || '\"}}}',
		now(), now()
	FROM generate_series(1, $deliveries)"
sql "INSERT INTO webhook_deliveries (id, store_id, webhook_id, event, erasure_request_id, event_id, status, next_attempt_at, created_at, updated_at)
	SELECT gen_random_uuid(), 'store-0', (SELECT id FROM webhooks ORDER BY id LIMIT 1), e.event, e.erasure_request_id, e.id,
		'pending', now(), now(), now()
	FROM webhook_events e"
sql "VACUUM (ANALYZE) webhook_deliveries"
start=$(date +%s.%N)
serve
while [ "$(sql "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")" != 0 ]; do sleep 0.2; done
took=$(awk "BEGIN { print $(date +%s.%N) - $start }")
stop
echo "bench: $deliveries deliveries drained in $(printf '%.1f' "$took") s (server start included), $(awk "BEGIN { printf \"%.0f\", $deliveries / $took }") per second; the receiver counted $(curl -fs "127.0.0.1:$rport/")"
echo "bench: $(sql "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'") succeeded, $(sql "SELECT count(*) FROM webhook_deliveries WHERE attempts > 1") needed more than one attempt"
echo "bench: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
