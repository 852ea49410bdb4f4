package storage_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/filters"
	"github.com/erasured/erasured/pagination"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
)

// seedForCursors stores 23 requests in s1 whose sort keys tie and are NULL in every way
// a keyset query must get right: created_at shared by groups of three, completed_at NULL
// for every third, statuses mixed.
func seedForCursors(t *testing.T, db *storage.DB) {
	t.Helper()
	key := mustKey(t, "s1")
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 23 {
		r := erasured.NewErasureRequest(key, erasureValues(erasured.ResourceTypes[i%4], fmt.Sprintf("p-%02d", (i*7)%23), nil), base.Add(time.Duration(i/3)*time.Second), 720*time.Hour)
		if i%3 != 0 {
			r.Status = erasured.StatusCompleted
			done := base.Add(time.Duration(i%5) * time.Hour)
			r.CompletedAt = &done
		}
		if _, err := db.CreateErasureRequest(context.Background(), r, nil); err != nil {
			t.Fatal(err)
		}
	}
	seed(t, db, "s2", 3, base) // another store's records must never show
}

func sorts(s string) []erasured.Sort {
	var out []erasured.Sort
	for f := range strings.SplitSeq(s, ",") {
		if f != "" {
			out = append(out, erasured.Sort{Attribute: strings.TrimPrefix(f, "-"), Desc: strings.HasPrefix(f, "-")})
		}
	}
	return out
}

func idsOf(rs []*erasured.ErasureRequest) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

func TestCursorPagesFollowTheOrder(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		seedForCursors(t, db)
		for _, c := range []struct{ sort, filter string }{
			{"", ""},
			{"-created_at", ""},
			{"completed_at", ""},
			{"-completed_at", ""},
			{"completed_at,-created_at", ""},
			{"-completed_at,resource_id", ""},
			{"status,-created_at", ""},
			{"resource_type,-resource_id", ""},
			{"due_at", "eq(status,SUCCESS)"},
			{"-completed_at", "in(resource_type,customer,account)"},
		} {
			expr, err := filters.Parse(c.filter, erasured.ErasureRequests.Filters())
			if err != nil {
				t.Fatal(err)
			}
			opts := storage.ListOptions{StoreID: "s1", Sort: sorts(c.sort), Filter: expr}
			// The offset order is the reference: both read the same ORDER BY.
			ref, err := db.ErasureRequestPage(ctx, storage.ListOptions{StoreID: "s1", Sort: opts.Sort, Filter: expr, Page: pagination.Page{Limit: 100}})
			if err != nil {
				t.Fatal(err)
			}
			all, total := ref.Items, ref.Total
			want := idsOf(all)

			// Forwards, four at a time, from the start to the end.
			var got []string
			var cursors []*pagination.Cursor
			cp := &pagination.CursorPage{Size: 4}
			for {
				opts.Cursor = cp
				p, err := db.ErasureRequestPage(ctx, opts)
				if err != nil {
					t.Fatalf("sort %q: %v", c.sort, err)
				}
				if p.Total != total || p.Estimated {
					t.Errorf("sort %q: total %d (estimated %v), want %d", c.sort, p.Total, p.Estimated, total)
				}
				got = append(got, idsOf(p.Items)...)
				for range p.Items {
					cursors = append(cursors, nil)
				}
				if len(p.Items) > 0 {
					cursors[len(cursors)-len(p.Items)] = p.First
					cursors[len(cursors)-1] = p.Last
				}
				if !p.More {
					break
				}
				cp = &pagination.CursorPage{Size: 4, After: p.Last}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("sort %q filter %q forwards:\n got %v\nwant %v", c.sort, c.filter, got, want)
			}

			// Backwards, three at a time, from before the last record to the start.
			last := cursors[len(cursors)-1]
			back := []string{want[len(want)-1]}
			cp = &pagination.CursorPage{Size: 3, Before: last}
			for {
				opts.Cursor = cp
				p, err := db.ErasureRequestPage(ctx, opts)
				if err != nil {
					t.Fatal(err)
				}
				back = append(idsOf(p.Items), back...)
				if !p.More {
					break
				}
				cp = &pagination.CursorPage{Size: 3, Before: p.First}
			}
			if !slices.Equal(back, want) {
				t.Fatalf("sort %q filter %q backwards:\n got %v\nwant %v", c.sort, c.filter, back, want)
			}

			// A range between the cursors of the 1st and the 5th record (both page edges,
			// where the walk above kept cursors): the 2nd to the 4th.
			from, to := cursors[0], cursors[4]
			if from == nil || to == nil {
				t.Fatalf("no cursors at 0 and 4: %v", cursors)
			}
			for _, size := range []int{100, 2} {
				opts.Cursor = &pagination.CursorPage{Size: size, After: from, Before: to}
				p, err := db.ErasureRequestPage(ctx, opts)
				if err != nil {
					t.Fatal(err)
				}
				wantRange := want[1:4]
				if size < len(wantRange) {
					wantRange = wantRange[:size]
				}
				if !slices.Equal(idsOf(p.Items), wantRange) || p.More != (size < 3) {
					t.Errorf("sort %q range size %d: got %v more %v, want %v", c.sort, size, idsOf(p.Items), p.More, wantRange)
				}
			}
		}
	})
}

func TestCursorPageEdges(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		empty, err := db.ErasureRequestPage(ctx, storage.ListOptions{StoreID: "s1", Cursor: &pagination.CursorPage{Size: 5}})
		if err != nil || len(empty.Items) != 0 || empty.Total != 0 || empty.More || empty.First != nil {
			t.Fatalf("empty list: %+v, %v", empty, err)
		}
		seedForCursors(t, db)
		first, err := db.ErasureRequestPage(ctx, storage.ListOptions{StoreID: "s1", Cursor: &pagination.CursorPage{Size: 23}})
		if err != nil || len(first.Items) != 23 || first.More {
			t.Fatalf("a page of exactly all: %d items, more %v, %v", len(first.Items), first.More, err)
		}
		// After the last record: an empty page that still knows the total.
		past, err := db.ErasureRequestPage(ctx, storage.ListOptions{StoreID: "s1", Cursor: &pagination.CursorPage{Size: 5, After: first.Last}})
		if err != nil || len(past.Items) != 0 || past.Total != 23 || past.More {
			t.Errorf("past the end: %+v, %v", past, err)
		}
		// A cursor keeps its place when its record is gone: positions, not records.
		gone := &pagination.Cursor{Sort: "created_at", Keys: []any{"2026-01-01T00:00:03.5Z", "00000000-0000-0000-0000-000000000000"}}
		p, err := db.ErasureRequestPage(ctx, storage.ListOptions{StoreID: "s1", Cursor: &pagination.CursorPage{Size: 100, After: gone}})
		if err != nil || len(p.Items) != 23-12 {
			t.Errorf("after a position between records: %d items, %v", len(p.Items), err)
		}
	})
}

func TestCursorsThatDoNotFit(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		seedForCursors(t, db)
		cursor := func(sort string, keys ...any) *pagination.Cursor {
			c, err := pagination.DecodeCursor("page[after]", (&pagination.Cursor{Sort: sort, Keys: keys}).String())
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		const id = "3f1c2d4e-5a6b-4c7d-8e9f-0a1b2c3d4e5f"
		for _, c := range []struct {
			name string
			sort string
			cur  *pagination.Cursor
		}{
			{"another sort", "", cursor("-created_at", "2026-01-01T00:00:00Z", id)},
			{"the default made explicit is another sort", "", cursor("created_at,resource_id", "2026-01-01T00:00:00Z", "x", id)},
			{"too few keys", "", cursor("created_at", id)},
			{"not a time", "", cursor("created_at", "yesterday", id)},
			{"not a uuid", "", cursor("created_at", "2026-01-01T00:00:00Z", "1 OR 1=1")},
			{"null in a column that is never null", "", cursor("created_at", nil, id)},
			{"NUL byte", "resource_id", cursor("resource_id", "a\x00b", id)},
		} {
			_, err := db.ErasureRequestPage(context.Background(), storage.ListOptions{StoreID: "s1", Sort: sorts(c.sort),
				Cursor: &pagination.CursorPage{Size: 5, After: c.cur}})
			var e *pagination.Error
			if !errors.As(err, &e) || e.Parameter != "page[after]" || e.Type != pagination.TypeInvalidParameterValue {
				t.Errorf("%s: got %v", c.name, err)
			}
		}
		// NULL is a fine value where the column may be NULL.
		_, err := db.ErasureRequestPage(context.Background(), storage.ListOptions{StoreID: "s1", Sort: sorts("completed_at"),
			Cursor: &pagination.CursorPage{Size: 5, After: cursor("completed_at", nil, id)}})
		if err != nil {
			t.Error(err)
		}
	})
}

func TestRequestCursorPages(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		at := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
		for i := range 11 {
			in := map[string]any{"request_id": fmt.Sprintf("r-%02d", i), "requested_by": "alice", "requested_at": ptr(at.Add(time.Duration(i%4) * time.Minute))}
			if i%2 == 0 {
				in["note_id"] = ptr(fmt.Sprintf("00000000-0000-0000-0000-0000000000%02d", i))
			}
			newRequest(t, db, "s1", in, at)
		}
		for _, sort := range []string{"", "note_id", "-note_id,requested_at", "created_at"} {
			var got []string
			cp := &pagination.CursorPage{Size: 3}
			for {
				p, err := db.RequestPage(ctx, storage.ListOptions{StoreID: "s1", Sort: sorts(sort), Cursor: cp})
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range p.Items {
					got = append(got, r.RequestID)
				}
				if !p.More {
					break
				}
				cp = &pagination.CursorPage{Size: 3, After: p.Last}
			}
			ref, err := db.RequestPage(ctx, storage.ListOptions{StoreID: "s1", Sort: sorts(sort), Page: pagination.Page{Limit: 100}})
			if err != nil {
				t.Fatal(err)
			}
			all := ref.Items
			var want []string
			for _, r := range all {
				want = append(want, r.RequestID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("sort %q: got %v, want %v", sort, got, want)
			}
		}
	})
}

// seedMany inserts n erasure requests of store into the table with one statement, a
// second apart from 2026-01-01, every other one completed an hour after it was made.
// Autovacuum is off for the table, so that the planner's statistics change only when a
// test runs ANALYZE.
func seedMany(t testing.TB, raw *sqlx.DB, store string, n int) {
	t.Helper()
	_, err := raw.Exec(`ALTER TABLE erasure_requests SET (autovacuum_enabled = false)`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = raw.Exec(`INSERT INTO erasure_requests (id, store_id, resource_type, resource_id, status, initiator,
			created_at, updated_at, due_at, completed_at)
		SELECT gen_random_uuid(), $1, 'account', 'p-' || i, CASE WHEN i % 2 = 0 THEN 'completed' ELSE 'pending' END, '{}',
			t.at, now(), now(), CASE WHEN i % 2 = 0 THEN t.at + interval '1 hour' END
		FROM generate_series(1, $2) AS i,
			LATERAL (SELECT timestamptz '2026-01-01 00:00:00Z' + i * interval '1 second' AS at) AS t`, store, n)
	if err != nil {
		t.Fatal(err)
	}
}

func analyze(t *testing.T, raw *sqlx.DB) {
	t.Helper()
	if _, err := raw.Exec(`ANALYZE erasure_requests`); err != nil {
		t.Fatal(err)
	}
}

func TestTotalsOfLargeStoresAreEstimated(t *testing.T) {
	t.Parallel()
	u := storagetest.URL(t, "postgres")
	db, raw := storagetest.OpenURL(t, u), storagetest.SQL(t, u)
	ctx := context.Background()
	seedMany(t, raw, "small", 40)
	seedMany(t, raw, "big", 3*storage.ExactTotalMax)
	// Before the table is first analysed PostgreSQL has no statistics of the store: the
	// count stops past ExactTotalMax, and the total is at least that.
	p, err := db.ErasureRequestPage(ctx, storage.ListOptions{StoreID: "big", Cursor: &pagination.CursorPage{Size: 5}})
	if err != nil || p.Total <= storage.ExactTotalMax || !p.Estimated {
		t.Fatalf("never analysed: total %d estimated %v, %v", p.Total, p.Estimated, err)
	}
	analyze(t, raw)
	// A process keeps an estimate for a while; a new one sees the statistics at once.
	db = storagetest.OpenURL(t, u)
	exact := func(f string) filters.Expr {
		e, err := filters.Parse(f, erasured.ErasureRequests.Filters())
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	// Every page of a list is counted up to ExactTotalMax, and estimated beyond.
	first, err := db.ErasureRequestPage(ctx, storage.ListOptions{StoreID: "big", Cursor: &pagination.CursorPage{Size: 5}})
	if err != nil {
		t.Fatal(err)
	}
	past := &pagination.CursorPage{Size: 5, After: first.Last}
	newest, err := db.ErasureRequestPage(ctx, storage.ListOptions{StoreID: "big", Filter: exact("eq(resource_id,p-30000)"),
		Cursor: &pagination.CursorPage{Size: 1}})
	if err != nil || len(newest.Items) != 1 {
		t.Fatal(newest, err)
	}
	for _, c := range []struct {
		name      string
		opts      storage.ListOptions
		total     int
		estimated bool
	}{
		{"small store", storage.ListOptions{StoreID: "small", Cursor: &pagination.CursorPage{Size: 5}}, 40, false},
		{"big store, cursor", storage.ListOptions{StoreID: "big", Cursor: &pagination.CursorPage{Size: 5}}, 3 * storage.ExactTotalMax, true},
		{"big store, offset", storage.ListOptions{StoreID: "big", Page: pagination.Page{Offset: 10, Limit: 5}}, 3 * storage.ExactTotalMax, true},
		{"big store, filtered", storage.ListOptions{StoreID: "big", Filter: exact("eq(status,pending)"), Cursor: &pagination.CursorPage{Size: 5}}, 15_000, true},
		{"big store, filtered, offset", storage.ListOptions{StoreID: "big", Filter: exact("eq(status,pending)"), Page: pagination.Page{Offset: 10, Limit: 5}}, 15_000, true},
		{"big store, filtered to fewer", storage.ListOptions{StoreID: "big", Filter: exact("like(resource_id,p-3*)"), Cursor: &pagination.CursorPage{Size: 5}}, 1112, false},
		{"big store, filtered, past the first page", storage.ListOptions{StoreID: "big", Filter: exact("eq(status,pending)"), Cursor: past}, 15_000, true},
		{"big store, filtered, backwards", storage.ListOptions{StoreID: "big", Filter: exact("eq(status,pending)"),
			Cursor: &pagination.CursorPage{Size: 5, Before: first.Last}}, 15_000, true},
		{"big store, filtered, past the end", storage.ListOptions{StoreID: "big", Filter: exact("eq(status,pending)"),
			Cursor: &pagination.CursorPage{Size: 5, After: newest.Last}}, 15_000, true},
		{"big store, filtered to fewer, past the first page", storage.ListOptions{StoreID: "big", Filter: exact("like(resource_id,p-3*)"), Cursor: past}, 1112, false},
		{"unknown store", storage.ListOptions{StoreID: "nobody", Cursor: &pagination.CursorPage{Size: 5}}, 0, false},
	} {
		p, err := db.ErasureRequestPage(ctx, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		// ANALYZE samples 30,000 rows, so an estimate may be a little off.
		off := p.Total - c.total
		if p.Estimated != c.estimated || (!c.estimated && off != 0) || off < -c.total/10 || off > c.total/10 {
			t.Errorf("%s: total %d estimated %v, want %d estimated %v", c.name, p.Total, p.Estimated, c.total, c.estimated)
		}
	}
}

// planNode is a node of EXPLAIN (ANALYZE, FORMAT JSON).
type planNode struct {
	NodeType      string     `json:"Node Type"`
	RelationName  string     `json:"Relation Name"`
	IndexName     string     `json:"Index Name"`
	IndexCond     string     `json:"Index Cond"`
	ActualRows    float64    `json:"Actual Rows"`
	ActualLoops   float64    `json:"Actual Loops"`
	RemovedFilter float64    `json:"Rows Removed by Filter"`
	Plans         []planNode `json:"Plans"`
}

func (n planNode) walk(fn func(planNode)) {
	fn(n)
	for _, c := range n.Plans {
		c.walk(fn)
	}
}

// TestDeepCursorPagesSeek shows, with the row counts of PostgreSQL's own EXPLAIN
// ANALYZE, that a cursor page far into a large store reads as few rows as the first:
// the index scan starts at the cursor, and the total is estimated, not counted.
func TestDeepCursorPagesSeek(t *testing.T) {
	t.Parallel()
	u := storagetest.URL(t, "postgres")
	raw := storagetest.SQL(t, u)
	var (
		mu       sync.Mutex
		captured []string
		args     [][]any
	)
	db := storagetest.OpenURL(t, u, storage.WithStatementHook(func(q string, a []any) {
		mu.Lock()
		defer mu.Unlock()
		captured, args = append(captured, q), append(args, slices.Clone(a))
	}))
	const n = 50_000
	seedMany(t, raw, "s1", n)
	seedMany(t, raw, "s2", 1_000)
	analyze(t, raw)
	ctx := context.Background()
	// The first unfiltered page of a store asks PostgreSQL for its estimate; later
	// pages reuse it.
	if _, err := db.ErasureRequestPage(ctx, storage.ListOptions{StoreID: "s1", Cursor: &pagination.CursorPage{Size: 1}}); err != nil {
		t.Fatal(err)
	}

	// Cursors as a client following next would hold them: on the 49,970th record, and on
	// the records that sorts by completed_at place deep among those with a value (the
	// even ones, ascending) and deep among those without (the odd ones, first when
	// descending, ordered by id).
	cursor := func(sort, resourceID string) *pagination.Cursor {
		t.Helper()
		p, err := db.ErasureRequestPage(ctx, storage.ListOptions{StoreID: "s1", Sort: sorts(sort),
			Filter: mustFilter(t, "eq(resource_id,"+resourceID+")"), Cursor: &pagination.CursorPage{Size: 1}})
		if err != nil || len(p.Items) != 1 {
			t.Fatalf("cursor on %s: %v %v", resourceID, p, err)
		}
		return p.Last
	}
	var deepNull string
	if err := raw.Get(&deepNull, `SELECT resource_id FROM erasure_requests WHERE store_id = 's1' AND completed_at IS NULL
		ORDER BY id DESC OFFSET 20000 LIMIT 1`); err != nil {
		t.Fatal(err)
	}
	deep := cursor("", "p-49970")

	for _, c := range []struct {
		name  string
		cp    *pagination.CursorPage
		sort  string
		index string
		// conds are what the index conditions of the page's scans must say, one scan
		// for each index range it reads (see keyset.after).
		conds []string
	}{
		{"first page", &pagination.CursorPage{Size: 25}, "", "erasure_requests_created", []string{""}},
		{"50,000 deep", &pagination.CursorPage{Size: 25, After: deep}, "", "erasure_requests_created",
			[]string{"created_at >="}},
		{"backwards from 50,000 deep", &pagination.CursorPage{Size: 25, Before: deep}, "", "erasure_requests_created",
			[]string{"created_at <="}},
		{"completed_at, 25,000 deep among values", &pagination.CursorPage{Size: 25, After: cursor("completed_at", "p-49970")},
			"completed_at", "erasure_requests_completed", []string{"completed_at >=", "completed_at IS NULL"}},
		{"-completed_at, 20,000 deep among NULLs", &pagination.CursorPage{Size: 25, After: cursor("-completed_at", deepNull)},
			"-completed_at", "erasure_requests_completed", []string{"completed_at IS NULL) AND (id <", "completed_at IS NOT NULL"}},
		{"completed_at, backwards from 20,000 before the end", &pagination.CursorPage{Size: 25, Before: cursor("completed_at", deepNull)},
			"completed_at", "erasure_requests_completed", []string{"completed_at IS NULL) AND (id <", "completed_at IS NOT NULL"}},
	} {
		mu.Lock()
		captured, args = nil, nil
		mu.Unlock()
		p, err := db.ErasureRequestPage(ctx, storage.ListOptions{StoreID: "s1", Sort: sorts(c.sort), Cursor: c.cp})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(p.Items) != 25 || !p.Estimated {
			t.Fatalf("%s: %d items, estimated %v, %v", c.name, len(p.Items), p.Estimated, err)
		}
		mu.Lock()
		if len(captured) != 1 {
			t.Fatalf("%s: %d statements, want one round trip: %v", c.name, len(captured), captured)
		}
		var out []byte
		if err := raw.QueryRowx("EXPLAIN (ANALYZE, FORMAT JSON) "+captured[0], args[0]...).Scan(&out); err != nil {
			t.Fatal(err)
		}
		mu.Unlock()
		var plans []struct{ Plan planNode }
		if err := json.Unmarshal(out, &plans); err != nil {
			t.Fatal(err)
		}
		// Only the page's own index scans may read the table, each about a page of rows;
		// the COUNT(*) that the estimate replaces shows as a scan that never ran.
		var read, sorted float64
		var conds []string
		plans[0].Plan.walk(func(n planNode) {
			if n.NodeType == "Sort" {
				sorted++
			}
			if n.RelationName != "erasure_requests" || n.ActualLoops == 0 {
				return
			}
			read += n.ActualRows + n.RemovedFilter
			if n.IndexName == c.index {
				conds = append(conds, n.IndexCond)
			}
		})
		ok := len(conds) == len(c.conds) && sorted == 0 && read <= float64(len(c.conds)*(25+2))
		for i := range conds {
			ok = ok && strings.Contains(conds[i], c.conds[i])
		}
		if !ok {
			t.Errorf("%s: index conds %q, want %q; %v sorts, %v rows read; plan:\n%s", c.name, conds, c.conds, sorted, read, out)
		}
	}
}

func mustFilter(t testing.TB, s string) filters.Expr {
	t.Helper()
	e, err := filters.Parse(s, erasured.ErasureRequests.Filters())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// TestTotalsOnSQLiteStopAtTheCap: SQLite has no estimate to give, so a list longer than
// ExactTotalMax reports the count where it stopped, a lower bound, as an estimate.
func TestTotalsOnSQLiteStopAtTheCap(t *testing.T) {
	t.Parallel()
	u := storagetest.URL(t, "sqlite")
	db := storagetest.OpenURL(t, u)
	seedSQLite(t, storagetest.SQL(t, u), "big", 10050)
	ctx := context.Background()
	for _, opts := range []storage.ListOptions{
		{StoreID: "big", Cursor: &pagination.CursorPage{Size: 5}},
		{StoreID: "big", Page: pagination.Page{Offset: 100, Limit: 5}},
	} {
		p, err := db.ErasureRequestPage(ctx, opts)
		if err != nil || p.Total != storage.ExactTotalMax+1 || !p.Estimated {
			t.Errorf("total %d estimated %v, %v; want %d estimated", p.Total, p.Estimated, err, storage.ExactTotalMax+1)
		}
	}
}

// seedSQLite is seedMany on SQLite: n pending requests of store, p-1 to p-n.
func seedSQLite(t testing.TB, raw *sqlx.DB, store string, n int) {
	t.Helper()
	_, err := raw.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
		INSERT INTO erasure_requests (id, store_id, resource_type, resource_id, status, initiator, created_at, updated_at, due_at)
		SELECT printf('00000000-0000-0000-0000-%012d', i), $1, 'account', 'p-' || i, 'pending', '{}',
			'2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', '2026-02-01T00:00:00.000000Z' FROM n`, store, n)
	if err != nil {
		t.Fatal(err)
	}
}

// TestListsPastTheCapAreCountedOnce: once the count of a list has gone past
// ExactTotalMax, its other pages (cursor or offset, either way) run without a count
// and carry the same estimated total, while a list that has not is still counted.
func TestListsPastTheCapAreCountedOnce(t *testing.T) {
	storagetest.EachURL(t, func(t *testing.T, u string) {
		var (
			mu     sync.Mutex
			counts int
		)
		db := storagetest.OpenURL(t, u, storage.WithStatementHook(func(q string, _ []any) {
			if strings.Contains(q, "COUNT(*)") {
				mu.Lock()
				counts++
				mu.Unlock()
			}
		}))
		raw := storagetest.SQL(t, u)
		const n = storage.ExactTotalMax + 50
		if db.Dialect() == "sqlite" {
			seedSQLite(t, raw, "big", n)
		} else {
			seedMany(t, raw, "big", n)
		}
		counted := func() int {
			mu.Lock()
			defer mu.Unlock()
			return counts
		}
		ctx := context.Background()
		accounts := mustFilter(t, "eq(resource_type,account)")
		first, err := db.ErasureRequestPage(ctx, storage.ListOptions{StoreID: "big", Filter: accounts, Cursor: &pagination.CursorPage{Size: 5}})
		if err != nil || first.Total <= storage.ExactTotalMax || !first.Estimated || counted() != 1 {
			t.Fatalf("first page: total %d estimated %v after %d counts, %v", first.Total, first.Estimated, counted(), err)
		}
		for _, c := range []struct {
			name string
			opts storage.ListOptions
		}{
			{"next page", storage.ListOptions{Cursor: &pagination.CursorPage{Size: 5, After: first.Last}}},
			{"previous page", storage.ListOptions{Cursor: &pagination.CursorPage{Size: 5, Before: first.Last}}},
			{"offset page", storage.ListOptions{Page: pagination.Page{Offset: 10, Limit: 5}}},
		} {
			c.opts.StoreID, c.opts.Filter = "big", accounts
			p, err := db.ErasureRequestPage(ctx, c.opts)
			if err != nil || p.Total != first.Total || !p.Estimated || counted() != 1 {
				t.Errorf("%s: total %d estimated %v after %d counts, %v; want %d estimated after 1",
					c.name, p.Total, p.Estimated, counted(), err, first.Total)
			}
		}
		// p-1, p-10 to p-19, p-100 to p-199, p-1000 to p-1999 and p-10000 to p-10050.
		few, err := db.ErasureRequestPage(ctx, storage.ListOptions{StoreID: "big", Filter: mustFilter(t, "like(resource_id,p-1*)"),
			Cursor: &pagination.CursorPage{Size: 5}})
		if err != nil || few.Total != 1162 || few.Estimated || counted() != 2 {
			t.Errorf("another list: total %d estimated %v after %d counts, %v; want 1162 counted", few.Total, few.Estimated, counted(), err)
		}
	})
}
