package storage_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/pagination"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
)

// The personal data logs at scale, on demand (neither belongs on a busy machine):
//
//	go test ./storage -run '^$' -bench LogsList -benchtime 2000x -timeout 30m
//	go test ./storage -run '^$' -bench LogsPurge -benchtime 1x -timeout 30m
//
// BenchmarkLogsList times the first page of one request's logs, and of one person's,
// in a store of 1,000,000 log entries, checks that each is one statement, and logs
// PostgreSQL's plan of it. BenchmarkLogsPurge purges 1,000,000 expired entries in
// batches of 1,000 while 4 writers create requests (each a row and a log entry), and
// logs how long the writes took with and without the purge.

const benchLogs = 1_000_000

// seedLogs inserts n log entries in store "bench": ten per request, ten requests per
// person, ageDays old and older by a second each.
func seedLogs(tb testing.TB, raw *sqlx.DB, kind string, n, ageDays int) {
	tb.Helper()
	q := `INSERT INTO personal_data_logs (id, store_id, resource_type, resource_id, subject, event_type, time, initiator, delta)
		SELECT gen_random_uuid(), 'bench', 'requests', 'r-' || (g / 10), 'person-' || (g / 100), 'requests.event.created',
			now() - make_interval(days => $2) - make_interval(secs => g), '{}', '{"content":"x"}'
		FROM generate_series(0, $1 - 1) g`
	if kind == "sqlite" {
		q = `WITH RECURSIVE s(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM s WHERE g + 1 < ?)
			INSERT INTO personal_data_logs (id, store_id, resource_type, resource_id, subject, event_type, time, initiator, delta)
			SELECT lower(hex(randomblob(16))), 'bench', 'requests', 'r-' || (g / 10), 'person-' || (g / 100), 'requests.event.created',
				strftime('%Y-%m-%dT%H:%M:%S.000000Z', 'now', '-' || ? || ' days', '-' || g || ' seconds'), '{}', '{"content":"x"}'
			FROM s`
	}
	t0 := time.Now()
	if _, err := raw.Exec(q, n, ageDays); err != nil {
		tb.Fatal(err)
	}
	if _, err := raw.Exec("ANALYZE"); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("%s: seeded %d log entries in %v", kind, n, time.Since(t0).Round(time.Millisecond))
}

func BenchmarkLogsList(b *testing.B) {
	for _, kind := range storagetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			url := storagetest.URL(b, kind)
			var (
				mu         sync.Mutex
				statements []string
				args       [][]any
			)
			db := storagetest.OpenURL(b, url, storage.WithStatementHook(func(q string, a []any) {
				mu.Lock()
				defer mu.Unlock()
				statements, args = append(statements, q), append(args, slices.Clone(a))
			}))
			raw := storagetest.SQL(b, url)
			seedLogs(b, raw, kind, benchLogs, 0)
			for _, entry := range [][2]string{{erasured.ResourceRequests, "r-4242"}, {erasured.ResourceUser, "person-4242"}} {
				b.Run(entry[0], func(b *testing.B) {
					opts := storage.ListOptions{StoreID: "bench", Page: pagination.Page{Limit: 25}}
					mu.Lock()
					statements, args = nil, nil
					mu.Unlock()
					p, err := db.LogEntryPage(context.Background(), opts, entry[0], entry[1])
					if err != nil {
						b.Fatal(err)
					}
					if len(statements) != 1 || len(p.Items) == 0 {
						b.Fatalf("%d statements for %d entries: %v", len(statements), len(p.Items), statements)
					}
					explain(b, raw, kind, statements[0], args[0])
					b.ResetTimer()
					for b.Loop() {
						if _, err := db.LogEntryPage(context.Background(), opts, entry[0], entry[1]); err != nil {
							b.Fatal(err)
						}
					}
				})
			}
		})
	}
}

// explain logs the plan of query, as it runs with args.
func explain(b *testing.B, raw *sqlx.DB, kind, query string, args []any) {
	b.Helper()
	prefix := "EXPLAIN (ANALYZE, BUFFERS) "
	if kind == "sqlite" {
		prefix = "EXPLAIN QUERY PLAN "
	}
	rows, err := raw.Queryx(prefix+query, args...)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		cols, err := rows.SliceScan()
		if err != nil {
			b.Fatal(err)
		}
		plan = append(plan, fmt.Sprint(cols[len(cols)-1]))
	}
	// Printed rather than logged: a benchmark's log keeps ten lines, and a plan is longer.
	fmt.Printf("%s: %s\n%s\n", b.Name(), query, strings.Join(plan, "\n"))
}

func BenchmarkLogsPurge(b *testing.B) {
	for _, kind := range storagetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			url := storagetest.URL(b, kind)
			db := storagetest.OpenURL(b, url)
			raw := storagetest.SQL(b, url)
			seedLogs(b, raw, kind, benchLogs, 400)
			alone := writeWhile(b, db, "alone", func() { time.Sleep(5 * time.Second) })
			var r storage.PurgeReport
			took := time.Duration(0)
			during := writeWhile(b, db, "purge", func() {
				t0 := time.Now()
				var err error
				r, err = db.PurgeLogs(context.Background(), erasured.Now(), time.Hour, time.Minute, 1000)
				if err != nil {
					b.Error(err)
				}
				took = time.Since(t0)
			})
			b.Logf("%s: purged %d entries in %d batches in %v", kind, r.Deleted, r.Batches, took.Round(time.Millisecond))
			b.Logf("%s: writes alone:        %s", kind, alone)
			b.Logf("%s: writes during purge: %s", kind, during)
			if r.Deleted != benchLogs {
				b.Errorf("purged %d, want %d", r.Deleted, benchLogs)
			}
		})
	}
}

// writeWhile creates requests from 4 writers while work runs, and says how long the
// writes took.
func writeWhile(b *testing.B, db *storage.DB, name string, work func()) string {
	var (
		stop atomic.Bool
		mu   sync.Mutex
		lat  []time.Duration
		wg   sync.WaitGroup
	)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				r := erasured.NewRequest("bench", erasured.Values{"request_id": fmt.Sprintf("%s-%d-%d", name, w, i), "requested_by": "p"}, erasured.Now())
				t0 := time.Now()
				if _, err := db.CreateRequest(context.Background(), r, erasured.Initiator{}, nil); err != nil {
					b.Error(err)
					return
				}
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		})
	}
	work()
	stop.Store(true)
	wg.Wait()
	slices.Sort(lat)
	if len(lat) == 0 {
		return "no writes"
	}
	at := func(q float64) time.Duration { return lat[int(q*float64(len(lat)-1))].Round(10 * time.Microsecond) }
	return fmt.Sprintf("%d writes, p50 %v, p99 %v, max %v", len(lat), at(0.5), at(0.99), lat[len(lat)-1].Round(10*time.Microsecond))
}
