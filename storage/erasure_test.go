package storage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/filters"
	"github.com/erasured/erasured/pagination"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
)

func mustKey(t *testing.T, store string) *erasured.Key {
	t.Helper()
	k, _, err := erasured.NewKey("ops", "ops@example.com", store, erasured.AllScopes, erasured.Now())
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// seed stores n requests in store, one second apart from base, cycling resource types.
func seed(t *testing.T, db *storage.DB, store string, n int, base time.Time) []*erasured.ErasureRequest {
	t.Helper()
	key := mustKey(t, store)
	var out []*erasured.ErasureRequest
	for i := range n {
		r := erasured.NewErasureRequest(key, erasureValues(erasured.ResourceTypes[i%3], fmt.Sprintf("Person-%03d", i), nil), base.Add(time.Duration(i)*time.Second), 720*time.Hour)
		if _, err := db.CreateErasureRequest(context.Background(), r, nil); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestErasureRequestRoundTrip(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		reason := "customer asked"
		r := erasured.NewErasureRequest(mustKey(t, "s1"), erasureValues("account", "acc-1", &reason), erasured.Now(), 720*time.Hour)
		if _, err := db.CreateErasureRequest(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
		got, err := db.ErasureRequest(ctx, "s1", r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ResourceID != "acc-1" || *got.Reason != reason || !got.CreatedAt.Equal(r.CreatedAt) ||
			!got.DueAt.Equal(r.DueAt) || got.Initiator != r.Initiator || got.Status != erasured.StatusPending ||
			got.CompletedAt != nil || len(got.ServicesErased) != 0 || got.ServicesErased == nil {
			t.Fatalf("read back %+v, wrote %+v", got, r)
		}
		for _, c := range []struct{ store, id string }{{"s2", r.ID}, {"s1", erasured.NewID()}, {"s1", "not-a-uuid"}} {
			if _, err := db.ErasureRequest(ctx, c.store, c.id); erasured.ErrorCode(err) != erasured.ENOTFOUND {
				t.Errorf("store %s id %s: got %v, want not found", c.store, c.id, err)
			}
		}
	})
}

func TestErasureRequestsList(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		seed(t, db, "s1", 30, base)
		seed(t, db, "s2", 5, base)
		ids := func(rs []*erasured.ErasureRequest) []string {
			var out []string
			for _, r := range rs {
				out = append(out, r.ResourceID)
			}
			return out
		}
		parse := func(s string) filters.Expr {
			e, err := filters.Parse(s, erasured.ErasureRequests.Filters())
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		cases := []struct {
			name   string
			filter string
			sort   []erasured.Sort
			page   pagination.Page
			total  int
			first  string
			n      int
		}{
			{"all, default sort", "", nil, pagination.Page{Limit: 25}, 30, "Person-000", 25},
			{"second page", "", nil, pagination.Page{Offset: 25, Limit: 25}, 30, "Person-025", 5},
			{"past the end", "", nil, pagination.Page{Offset: 100, Limit: 25}, 30, "", 0},
			{"desc", "", []erasured.Sort{{Attribute: "created_at", Desc: true}}, pagination.Page{Limit: 2}, 30, "Person-029", 2},
			{"eq", "eq(resource_id,Person-007)", nil, pagination.Page{Limit: 25}, 1, "Person-007", 1},
			{"eq two", "eq(resource_type,account):eq(resource_id,Person-001)", nil, pagination.Page{Limit: 25}, 1, "Person-001", 1},
			{"in", "in(resource_id,Person-001,Person-002,nobody)", nil, pagination.Page{Limit: 25}, 2, "Person-001", 2},
			{"like", "like(resource_id,Person-00*)", nil, pagination.Page{Limit: 25}, 10, "Person-000", 10},
			{"like is case-sensitive", "like(resource_id,person-*)", nil, pagination.Page{Limit: 25}, 0, "", 0},
			{"like escapes", "like(resource_id,Person_00*)", nil, pagination.Page{Limit: 25}, 0, "", 0},
			{"gt time", "gt(created_at,2026-01-01T00:00:27Z)", nil, pagination.Page{Limit: 25}, 2, "Person-028", 2},
			{"ge le time", "ge(created_at,2026-01-01T00:00:10Z):le(created_at,2026-01-01T00:00:11Z)", nil, pagination.Page{Limit: 25}, 2, "Person-010", 2},
			{"lt due", "lt(due_at,2026-01-31T00:00:02Z)", nil, pagination.Page{Limit: 25}, 2, "Person-000", 2},
			{"status stored", "eq(status,pending)", nil, pagination.Page{Limit: 1}, 30, "Person-000", 1},
			{"status view", "in(status,CREATED,IN_PROGRESS)", nil, pagination.Page{Limit: 1}, 30, "Person-000", 1},
			{"status success", "eq(status,SUCCESS)", nil, pagination.Page{Limit: 25}, 0, "", 0},
			{"resource type", "eq(resource_type,account-member)", []erasured.Sort{{Attribute: "resource_id", Desc: true}}, pagination.Page{Limit: 25}, 10, "Person-029", 10},
			{"two keys", "", []erasured.Sort{{Attribute: "completed_at"}, {Attribute: "created_at", Desc: true}}, pagination.Page{Limit: 1}, 30, "Person-029", 1},
		}
		for _, c := range cases {
			page, err := db.ErasureRequestPage(context.Background(), storage.ListOptions{StoreID: "s1", Filter: parse(c.filter), Sort: c.sort, Page: c.page})
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			got, total := page.Items, page.Total
			if total != c.total || len(got) != c.n || (c.n > 0 && got[0].ResourceID != c.first) {
				t.Errorf("%s: total %d, page %v; want total %d, %d starting %s", c.name, total, ids(got), c.total, c.n, c.first)
			}
		}
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	for _, kind := range storagetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			u := storagetest.URL(t, kind)
			for range 2 {
				db, err := storage.Open(context.Background(), u)
				if err != nil {
					t.Fatal(err)
				}
				db.Close()
			}
		})
	}
}
