package storage_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erasured/erasured/pagination"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
)

// TestListShapesServeEveryRequestOfTheirShape: a DB keeps the SQL of each list shape it
// has built and fills in the values of each request. Every request here shares its
// shape with others that differ only in values (a NULL among them, and the computed
// conditions of status and overdue), and must get from a DB that has served all the
// others the same page and total as from a DB that has served none.
func TestListShapesServeEveryRequestOfTheirShape(t *testing.T) {
	storagetest.EachURL(t, func(t *testing.T, u string) {
		ctx := context.Background()
		var (
			mu       sync.Mutex
			overdues []string // the arguments of each statement that asked for overdue requests
		)
		warm := storagetest.OpenURL(t, u, storage.WithStatementHook(func(q string, args []any) {
			if strings.Contains(q, "due_at <") {
				mu.Lock()
				overdues = append(overdues, fmt.Sprint(args))
				mu.Unlock()
			}
		}))
		seedForCursors(t, warm)
		page := func(db *storage.DB, opts storage.ListOptions) ([]string, int, *pagination.Cursor) {
			t.Helper()
			p, err := db.ErasureRequestPage(ctx, opts)
			if err != nil {
				t.Fatal(err)
			}
			return idsOf(p.Items), p.Total, p.Last
		}
		// Cursors on a row whose completed_at is NULL and on one whose is not.
		byCompleted := storage.ListOptions{StoreID: "s1", Sort: sorts("completed_at"), Cursor: &pagination.CursorPage{Size: 10}}
		_, _, onValue := page(warm, byCompleted)
		byCompleted.Cursor = &pagination.CursorPage{Size: 20}
		_, _, onNull := page(warm, byCompleted)
		if onValue.Keys[0] == nil || onNull.Keys[0] != nil {
			t.Fatalf("cursors %v and %v: want one on a completed_at, one on a NULL", onValue.Keys, onNull.Keys)
		}
		at := time.Date(2026, 1, 1, 0, 0, 3, 0, time.UTC)
		var opts []storage.ListOptions
		for _, f := range []string{
			"eq(resource_type,customer)", "eq(resource_type,account)",
			"in(resource_id,p-01,p-02)", "in(resource_id,p-03,p-05)", "in(resource_id,p-03,p-05,p-07)",
			"like(resource_id,p-1*)", "like(resource_id,p-0*)",
			"eq(status,pending)", "eq(status,completed)", "eq(status,SUCCESS)",
			"eq(overdue,true)", "eq(overdue,false)",
			"gt(created_at," + at.Format(time.RFC3339) + ")", "gt(created_at," + at.Add(3*time.Second).Format(time.RFC3339) + ")",
		} {
			for _, o := range []storage.ListOptions{
				{Page: pagination.Page{Limit: 5}},
				{Page: pagination.Page{Limit: 5, Offset: 2}},
				{Cursor: &pagination.CursorPage{Size: 3}},
				{Sort: sorts("completed_at"), Cursor: &pagination.CursorPage{Size: 3, After: onValue}},
				{Sort: sorts("completed_at"), Cursor: &pagination.CursorPage{Size: 3, After: onNull}},
				{Sort: sorts("completed_at"), Cursor: &pagination.CursorPage{Size: 3, Before: onNull}},
			} {
				o.StoreID, o.Filter = "s1", mustFilter(t, f)
				opts = append(opts, o)
			}
		}
		opts = append(opts,
			storage.ListOptions{StoreID: "s2", Page: pagination.Page{Limit: 5}},
			storage.ListOptions{StoreID: "s2", Cursor: &pagination.CursorPage{Size: 3}})
		for _, o := range opts {
			page(warm, o) // every shape is built before any is checked
		}
		// overdue's condition reads the clock: its "now" is bound afresh for every page.
		mu.Lock()
		overdues = nil
		mu.Unlock()
		overdue := storage.ListOptions{StoreID: "s1", Filter: mustFilter(t, "eq(overdue,true)"), Page: pagination.Page{Limit: 5}}
		page(warm, overdue)
		page(warm, overdue)
		mu.Lock()
		if len(overdues) != 2 || overdues[0] == overdues[1] {
			t.Errorf("two overdue pages bound %q: want two statements, each with its own now", overdues)
		}
		mu.Unlock()
		for _, o := range opts {
			got, gotTotal, _ := page(warm, o)
			cold, err := storage.Open(ctx, u)
			if err != nil {
				t.Fatal(err)
			}
			want, wantTotal, _ := page(cold, o)
			if err := cold.Close(); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, want) || gotTotal != wantTotal {
				t.Errorf("%s %v %+v %+v: got %v (total %d), want %v (total %d)",
					o.StoreID, o.Filter, o.Page, o.Cursor, got, gotTotal, want, wantTotal)
			}
		}
	})
}
