package storage_test

import (
	"context"
	"encoding/json"
	"reflect"
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

func ptr[T any](v T) *T { return &v }

// requestOf is the request a client creates in store with attributes, decoded as a POST's
// are.
func requestOf(t *testing.T, store string, attributes map[string]any, now time.Time) *erasured.Request {
	t.Helper()
	in, err := erasured.Requests.Decode(membersOf(t, attributes), erasured.Create)
	if err != nil {
		t.Fatal(err)
	}
	return erasured.NewRequest(store, in, now)
}

// membersOf is attributes as a body's members.
func membersOf(t *testing.T, attributes map[string]any) map[string]json.RawMessage {
	t.Helper()
	out := make(map[string]json.RawMessage, len(attributes))
	for k, v := range attributes {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = b
	}
	return out
}

// newRequest stores the request a client creates in store with attributes.
func newRequest(t *testing.T, db *storage.DB, store string, attributes map[string]any, now time.Time) *erasured.Request {
	t.Helper()
	r, err := db.CreateRequest(context.Background(), requestOf(t, store, attributes, now), erasured.Initiator{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// erasureValues are the attributes of a new erasure request.
func erasureValues(resourceType, resourceID string, reason *string) erasured.Values {
	in := erasured.Values{"resource_type": resourceType, "resource_id": resourceID}
	if reason != nil {
		in["reason"] = *reason
	}
	return in
}

// holdRow makes a transaction of raw's lock request requestID's row (and, on SQLite, the
// whole database) until the returned function is called, which it does after a pause:
// calls started meanwhile all arrive before any of them can write, as in a real race.
func holdRow(t *testing.T, raw *sqlx.DB, requestID string) (release func()) {
	t.Helper()
	tx, err := raw.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(tx.Rebind(`UPDATE requests SET version = version WHERE request_id = ?`), requestID); err != nil {
		t.Fatal(err)
	}
	return func() {
		time.Sleep(200 * time.Millisecond)
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	if got := erasured.ErrorCode(err); got != code || err == nil {
		t.Errorf("%s: got %v (%s), want %s", what, err, got, code)
	}
}

func TestRequestRoundTrip(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		r := newRequest(t, db, "s1", map[string]any{
			"request_id":          "Req 1: ünïcode & spaces?",
			"requested_by":        "alice",
			"status":              ptr("IN_PROGRESS"),
			"note_id":             ptr("0F850C15-D643-480A-A2B4-9E3C26067178"),
			"community_server_id": ptr("cs-1"),
			"requested_at":        ptr(time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)),
			"content":             ptr("Is this claim true?\nLine two."),
			"platform_message_id": ptr("m-1"),
			"platform_channel_id": ptr("c-1"),
			"metadata":            json.RawMessage(`{"big": 12345678901234567890, "f": 0.1, "nested": {"a": [1, "x", null, true]}, "s": "é\"\\"}`),
			"similarity_score":    ptr(0.87654321),
			"dataset_name":        ptr("ds"),
			"dataset_item_id":     ptr("item-1"),
		}, erasured.Now())
		got, err := db.Request(ctx, "s1", r.RequestID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("read back\n%+v\nwrote\n%+v", got, r)
		}
		if n := got.Metadata["big"].(json.Number); n.String() != "12345678901234567890" {
			t.Errorf("metadata number read back as %s", n)
		}

		// Only what the client gave: the optional attributes read back null.
		bare := newRequest(t, db, "s1", map[string]any{"request_id": "bare", "requested_by": "bob"}, erasured.Now())
		got, err = db.Request(ctx, "s1", "bare")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, bare) || got.Metadata != nil || got.NoteID != nil || got.SimilarityScore != nil || got.Content != nil {
			t.Fatalf("read back %+v, wrote %+v", got, bare)
		}

		wantCode(t, "other store", func() error { _, err := db.Request(ctx, "s2", r.RequestID); return err }(), erasured.ENOTFOUND)
		wantCode(t, "unknown", func() error { _, err := db.Request(ctx, "s1", "nope"); return err }(), erasured.ENOTFOUND)
	})
}

func TestCreateRequestDuplicate(t *testing.T) {
	t.Parallel()
	storagetest.EachSQL(t, func(t *testing.T, db *storage.DB, raw *sqlx.DB) {
		ctx := context.Background()
		newRequest(t, db, "s1", map[string]any{"request_id": "r1", "requested_by": "alice", "content": ptr("first")}, erasured.Now())
		dup := requestOf(t, "s1", map[string]any{"request_id": "r1", "requested_by": "mallory", "content": ptr("second")}, erasured.Now())
		_, err := db.CreateRequest(ctx, dup, erasured.Initiator{}, nil)
		wantCode(t, "duplicate", err, erasured.ECONFLICT)
		got, err := db.Request(ctx, "s1", "r1")
		if err != nil || *got.Content != "first" || *got.RequestedBy != "alice" {
			t.Fatalf("after a refused duplicate: %+v, %v", got, err)
		}
		// The same request_id in another store is another request.
		other := newRequest(t, db, "s2", map[string]any{"request_id": "r1", "requested_by": "bob"}, erasured.Now())
		if got, err := db.Request(ctx, "s2", "r1"); err != nil || *got.RequestedBy != "bob" || got.StoreID != other.StoreID {
			t.Fatalf("s2's r1: %+v, %v", got, err)
		}
		var n int
		if err := raw.Get(&n, raw.Rebind(`SELECT COUNT(*) FROM requests WHERE request_id = ?`), "r1"); err != nil || n != 2 {
			t.Fatalf("%d rows for r1 (%v), want 2", n, err)
		}
	})
}

func TestRequestsList(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	const (
		n0 = "30000000-0000-4000-8000-000000000000"
		n3 = "10000000-0000-4000-8000-000000000000"
		n5 = "a0000000-0000-4000-8000-000000000000"
	)
	seeds := []struct {
		status, by string
		cs, ds     *string
		note       *string
		minute     int // requested_at, minutes after base
	}{
		{"PENDING", "alice", ptr("cs-a"), ptr("ds-1"), ptr(n0), 5},         // r-00
		{"IN_PROGRESS", "bob", nil, ptr("ds-1"), nil, 10},                  // r-01
		{"COMPLETED", "carol", ptr("cs-a"), ptr("ds-2"), nil, 3},           // r-02
		{"FAILED", "alice", ptr("cs-b"), nil, ptr(n3), 8},                  // r-03
		{"PENDING", "bob", nil, nil, nil, 1},                               // r-04
		{"PENDING", "erased later", ptr("cs-a"), ptr("ds-2"), ptr(n5), 12}, // r-05
	}
	storagetest.EachSQL(t, func(t *testing.T, db *storage.DB, raw *sqlx.DB) {
		ctx := context.Background()
		for i, s := range seeds {
			newRequest(t, db, "s1", map[string]any{
				"request_id":          "r-0" + string(rune('0'+i)),
				"requested_by":        s.by,
				"status":              &s.status,
				"community_server_id": s.cs,
				"dataset_name":        s.ds,
				"note_id":             s.note,
				"requested_at":        ptr(base.Add(time.Duration(s.minute) * time.Minute)),
			}, base.Add(time.Duration(i)*time.Second))
		}
		// Another store's requests, alike in every attribute, are never listed nor counted.
		for i, s := range seeds {
			newRequest(t, db, "s2", map[string]any{
				"request_id": "r-0" + string(rune('0'+i)), "requested_by": s.by, "status": &s.status,
				"community_server_id": s.cs, "dataset_name": s.ds, "note_id": s.note,
			}, base)
		}
		// An erasure request turns requested_by to NULL; that is another branch's code.
		if _, err := raw.Exec(raw.Rebind(`UPDATE requests SET requested_by = NULL WHERE store_id = ? AND request_id = ?`), "s1", "r-05"); err != nil {
			t.Fatal(err)
		}
		parse := func(s string) filters.Expr {
			e, err := filters.Parse(s, erasured.Requests.Filters())
			if err != nil {
				t.Fatal(err)
			}
			return e
		}
		sort := func(spec string) []erasured.Sort {
			var out []erasured.Sort
			for _, a := range strings.Split(spec, ",") {
				if a != "" {
					name, desc := strings.CutPrefix(a, "-")
					out = append(out, erasured.Sort{Attribute: name, Desc: desc})
				}
			}
			return out
		}
		all := pagination.Page{Limit: 25}
		cases := []struct {
			filter, sort string
			page         pagination.Page
			total        int
			want         string
		}{
			{"", "", all, 6, "r-05 r-01 r-03 r-00 r-02 r-04"}, // default: -requested_at
			{"", "", pagination.Page{Offset: 4, Limit: 4}, 6, "r-02 r-04"},
			{"", "", pagination.Page{Offset: 10, Limit: 4}, 6, ""},
			{"eq(status,PENDING)", "", all, 3, "r-05 r-00 r-04"},
			{"eq(status,PENDING)", "", pagination.Page{Offset: 2, Limit: 2}, 3, "r-04"},
			{"eq(status,PENDING)", "", pagination.Page{Offset: 5, Limit: 2}, 3, ""},
			{"in(status,COMPLETED,FAILED)", "", all, 2, "r-03 r-02"},
			{"eq(requested_by,alice)", "", all, 2, "r-03 r-00"},
			{"like(requested_by,*o*)", "", all, 3, "r-01 r-02 r-04"},
			{"gt(requested_by,bob)", "", all, 1, "r-02"},
			{"eq(community_server_id,cs-a)", "", all, 3, "r-05 r-00 r-02"},
			{"like(community_server_id,cs-*)", "", all, 4, "r-05 r-03 r-00 r-02"},
			{"eq(dataset_name,ds-2)", "", all, 2, "r-05 r-02"},
			{"in(dataset_name,ds-1,ds-2)", "", all, 4, "r-05 r-01 r-00 r-02"},
			{"eq(note_id," + strings.ToUpper(n3) + ")", "", all, 1, "r-03"},
			{"in(note_id," + n0 + "," + n5 + ")", "", all, 2, "r-05 r-00"},
			{"ge(requested_at,2026-01-01T00:05:00Z):lt(requested_at,2026-01-01T00:12:00Z)", "", all, 3, "r-01 r-03 r-00"},
			{"gt(created_at,2026-01-01T00:00:03Z)", "", all, 2, "r-05 r-04"},
			{"le(created_at,2026-01-01T00:00:01Z)", "created_at", all, 2, "r-00 r-01"},
			{"eq(status,PENDING):eq(requested_by,bob)", "", all, 1, "r-04"},
			// Sorts; NULLs come last ascending and first descending, on both stores.
			{"", "requested_by", all, 6, "r-00 r-03 r-01 r-04 r-02 r-05"},
			{"", "-requested_by", all, 6, "r-05 r-02 r-04 r-01 r-03 r-00"},
			{"", "community_server_id", all, 6, "r-00 r-02 r-05 r-03 r-01 r-04"},
			{"", "-dataset_name", all, 6, "r-04 r-03 r-05 r-02 r-01 r-00"},
			{"", "note_id", all, 6, "r-03 r-00 r-05 r-01 r-02 r-04"},
			{"", "status", all, 6, "r-02 r-03 r-01 r-00 r-04 r-05"},
			{"", "-created_at", all, 6, "r-05 r-04 r-03 r-02 r-01 r-00"},
			{"", "requested_at", all, 6, "r-04 r-02 r-00 r-03 r-01 r-05"},
			{"", "dataset_name,-requested_at", all, 6, "r-01 r-00 r-05 r-02 r-03 r-04"},
		}
		for _, c := range cases {
			page, err := db.RequestPage(ctx, storage.ListOptions{StoreID: "s1", Filter: parse(c.filter), Sort: sort(c.sort), Page: c.page})
			if err != nil {
				t.Fatalf("filter %q sort %q: %v", c.filter, c.sort, err)
			}
			got, total := page.Items, page.Total
			ids := make([]string, len(got))
			for i, r := range got {
				ids[i] = r.RequestID
				if r.StoreID != "s1" {
					t.Errorf("filter %q: listed %s of store %s", c.filter, r.RequestID, r.StoreID)
				}
			}
			if strings.Join(ids, " ") != c.want || total != c.total {
				t.Errorf("filter %q sort %q page %+v: got %v, total %d; want %s, total %d", c.filter, c.sort, c.page, ids, total, c.want, c.total)
			}
		}
	})
}

func TestUpdateRequest(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		note := "0f850c15-d643-480a-a2b4-9e3c26067178"
		orig := newRequest(t, db, "s1", map[string]any{"request_id": "r1", "requested_by": "alice", "note_id": &note, "content": ptr("text")}, created)
		status := func(s string) erasured.Values { return erasured.Values{"status": s} }
		v1 := &erasured.Match{Versions: []int64{1}}

		r, err := db.UpdateRequest(ctx, "s1", "r1", erasured.Initiator{}, v1, status("COMPLETED"))
		if err != nil {
			t.Fatal(err)
		}
		if r.Version != 2 || r.Status != erasured.RequestCompleted || !r.UpdatedAt.After(created) || *r.NoteID != note {
			t.Fatalf("patched: %+v", r)
		}
		stored, err := db.Request(ctx, "s1", "r1")
		if err != nil || !reflect.DeepEqual(stored, r) {
			t.Fatalf("stored %+v (%v), returned %+v", stored, err, r)
		}
		if *stored.Content != "text" || !stored.CreatedAt.Equal(orig.CreatedAt) {
			t.Errorf("a patch of status changed other attributes: %+v", stored)
		}

		_, err = db.UpdateRequest(ctx, "s1", "r1", erasured.Initiator{}, v1, status("FAILED"))
		wantCode(t, "stale If-Match", err, erasured.EPRECONDITION)
		_, err = db.UpdateRequest(ctx, "s1", "r1", erasured.Initiator{}, &erasured.Match{Versions: []int64{1, 3}}, status("FAILED"))
		wantCode(t, "If-Match that names other versions", err, erasured.EPRECONDITION)
		_, err = db.UpdateRequest(ctx, "s1", "r1", erasured.Initiator{}, &erasured.Match{}, status("FAILED"))
		wantCode(t, "If-Match that names no version", err, erasured.EPRECONDITION)
		if r, err := db.Request(ctx, "s1", "r1"); err != nil || r.Version != 2 || r.Status != erasured.RequestCompleted {
			t.Fatalf("refused patches changed the request: %+v, %v", r, err)
		}

		// An If-Match that lists the version among others; then none; null clears note_id.
		if r, err = db.UpdateRequest(ctx, "s1", "r1", erasured.Initiator{}, &erasured.Match{Versions: []int64{7, 2}}, status("COMPLETED")); err != nil || r.Version != 3 {
			t.Fatalf("If-Match with a list: %+v, %v", r, err)
		}
		r, err = db.UpdateRequest(ctx, "s1", "r1", erasured.Initiator{}, nil, erasured.Values{"note_id": nil})
		if err != nil || r.Version != 4 || r.NoteID != nil || r.Status != erasured.RequestCompleted {
			t.Fatalf("clear note_id: %+v, %v", r, err)
		}
		if r, err := db.Request(ctx, "s1", "r1"); err != nil || r.NoteID != nil || r.Version != 4 {
			t.Fatalf("stored after clearing note_id: %+v, %v", r, err)
		}

		_, err = db.UpdateRequest(ctx, "s2", "r1", erasured.Initiator{}, nil, status("FAILED"))
		wantCode(t, "other store", err, erasured.ENOTFOUND)
		_, err = db.UpdateRequest(ctx, "s1", "nope", erasured.Initiator{}, nil, status("FAILED"))
		wantCode(t, "unknown", err, erasured.ENOTFOUND)
	})
}

// Patches that race with the same If-Match: the row lock lets exactly one win.
func TestUpdateRequestConcurrentIfMatch(t *testing.T) {
	t.Parallel()
	storagetest.EachSQL(t, func(t *testing.T, db *storage.DB, raw *sqlx.DB) {
		ctx := context.Background()
		newRequest(t, db, "s1", map[string]any{"request_id": "r1", "requested_by": "alice"}, erasured.Now())
		hold := holdRow(t, raw, "r1")
		const n = 10
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, errs[i] = db.UpdateRequest(ctx, "s1", "r1", erasured.Initiator{}, &erasured.Match{Versions: []int64{1}}, erasured.Values{"status": "IN_PROGRESS"})
			})
		}
		hold()
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch erasured.ErrorCode(err) {
			case erasured.EPRECONDITION:
			default:
				if err != nil {
					t.Fatalf("concurrent patch: %v", err)
				}
				ok++
			}
		}
		r, err := db.Request(ctx, "s1", "r1")
		if ok != 1 || err != nil || r.Version != 2 {
			t.Fatalf("%d patches won, version %d (%v); want 1 and 2", ok, r.Version, err)
		}
	})
}
