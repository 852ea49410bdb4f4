package storage_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/pagination"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
)

func countRows(t *testing.T, raw *sqlx.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := raw.Get(&n, raw.Rebind(query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

func TestDeletion(t *testing.T) {
	t.Parallel()
	storagetest.EachSQL(t, func(t *testing.T, db *storage.DB, raw *sqlx.DB) {
		ctx := context.Background()
		newRequest(t, db, "s1", map[string]any{"request_id": "r1", "requested_by": "alice", "content": ptr("private words")}, erasured.Now())
		newRequest(t, db, "s2", map[string]any{"request_id": "r1", "requested_by": "bob"}, erasured.Now())

		_, err := db.RequestDeletion(ctx, "s1", "nope", erasured.Initiator{})
		wantCode(t, "deletion of an unknown request", err, erasured.ENOTFOUND)
		_, err = db.RequestDeletion(ctx, "s3", "r1", erasured.Initiator{})
		wantCode(t, "deletion of another store's request", err, erasured.ENOTFOUND)

		d, err := db.RequestDeletion(ctx, "s1", "r1", erasured.Initiator{})
		if err != nil {
			t.Fatal(err)
		}
		if d.ID == 0 || d.Status != erasured.DeletionPending || d.Message != "Deletion is pending" || d.StoreID != "s1" || d.RequestID != "r1" {
			t.Fatalf("requested: %+v", d)
		}
		again, err := db.RequestDeletion(ctx, "s1", "r1", erasured.Initiator{})
		if err != nil || again.ID != d.ID {
			t.Fatalf("a second DELETE gave %+v (%v), want the pending deletion %d", again, err, d.ID)
		}
		got, err := db.Deletion(ctx, "s1", d.ID)
		if err != nil || *got != *d {
			t.Fatalf("read back %+v (%v), want %+v", got, err, d)
		}
		_, err = db.Deletion(ctx, "s2", d.ID)
		wantCode(t, "another store's deletion", err, erasured.ENOTFOUND)
		_, err = db.Deletion(ctx, "s1", d.ID+100)
		wantCode(t, "unknown deletion", err, erasured.ENOTFOUND)

		// Until a worker gets to it, the request is still there.
		if _, err := db.Request(ctx, "s1", "r1"); err != nil {
			t.Fatalf("request with a pending deletion: %v", err)
		}

		claimed, err := db.ClaimDeletion(ctx, time.Minute, erasured.Now())
		if err != nil || claimed == nil || claimed.ID != d.ID {
			t.Fatalf("claimed %+v (%v), want deletion %d", claimed, err, d.ID)
		}
		if err := db.PerformDeletion(ctx, claimed); err != nil {
			t.Fatal(err)
		}
		if claimed.Status != erasured.DeletionSuccess || claimed.Message != "Request deleted successfully" {
			t.Fatalf("performed: %+v", claimed)
		}
		got, err = db.Deletion(ctx, "s1", d.ID)
		if err != nil || got.Status != erasured.DeletionSuccess || got.Message != "Request deleted successfully" || !got.UpdatedAt.After(d.UpdatedAt) {
			t.Fatalf("after the deletion: %+v (%v)", got, err)
		}
		if n := countRows(t, raw, `SELECT COUNT(*) FROM requests WHERE store_id = ? AND request_id = ?`, "s1", "r1"); n != 0 {
			t.Fatalf("%d rows remain of the deleted request", n)
		}
		if n := countRows(t, raw, `SELECT COUNT(*) FROM requests WHERE content = ? OR requested_by = ?`, "private words", "alice"); n != 0 {
			t.Fatalf("%d rows still hold the deleted request's personal attributes", n)
		}

		_, err = db.Request(ctx, "s1", "r1")
		wantCode(t, "get after the deletion", err, erasured.EGONE)
		_, err = db.UpdateRequest(ctx, "s1", "r1", erasured.Initiator{}, nil, erasured.Values{})
		wantCode(t, "patch after the deletion", err, erasured.EGONE)
		_, err = db.RequestDeletion(ctx, "s1", "r1", erasured.Initiator{})
		wantCode(t, "delete after the deletion", err, erasured.EGONE)
		// The other store's r1 is another request, untouched.
		if r, err := db.Request(ctx, "s2", "r1"); err != nil || *r.RequestedBy != "bob" {
			t.Fatalf("s2's r1 after s1's was deleted: %+v, %v", r, err)
		}
		if d, err := db.ClaimDeletion(ctx, time.Minute, erasured.Now()); d != nil || err != nil {
			t.Fatalf("claimed %+v (%v) from an empty queue", d, err)
		}

		// The request_id is free again: a new request under it is a new resource.
		newRequest(t, db, "s1", map[string]any{"request_id": "r1", "requested_by": "carol"}, erasured.Now())
		if r, err := db.Request(ctx, "s1", "r1"); err != nil || *r.RequestedBy != "carol" {
			t.Fatalf("re-created r1: %+v, %v", r, err)
		}
	})
}

// failures are ways to make a deletion fail, each a trigger the test installs: the DELETE
// itself refused, or the DELETE done and the statement after it in the transaction
// refused, so that only the rollback can bring the row back.
var failures = []struct {
	name     string
	postgres []string
	sqlite   []string
}{
	{
		name: "delete refused",
		postgres: []string{
			`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'refused by the test trigger'; END $$`,
			`CREATE TRIGGER refuse BEFORE DELETE ON requests FOR EACH ROW
			WHEN (OLD.request_id = 'stuck') EXECUTE FUNCTION refuse()`,
		},
		sqlite: []string{
			`CREATE TRIGGER refuse BEFORE DELETE ON requests WHEN OLD.request_id = 'stuck'
			BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END`,
		},
	},
	{
		name: "success refused after the delete",
		postgres: []string{
			`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN RAISE EXCEPTION 'refused by the test trigger'; END $$`,
			`CREATE TRIGGER refuse BEFORE UPDATE ON deletions FOR EACH ROW
			WHEN (NEW.request_id = 'stuck' AND NEW.status = 'SUCCESS') EXECUTE FUNCTION refuse()`,
		},
		sqlite: []string{
			`CREATE TRIGGER refuse BEFORE UPDATE ON deletions WHEN NEW.request_id = 'stuck' AND NEW.status = 'SUCCESS'
			BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END`,
		},
	},
}

func TestDeletionFailureRollsBack(t *testing.T) {
	t.Parallel()
	for _, f := range failures {
		t.Run(f.name, func(t *testing.T) {
			t.Parallel()
			storagetest.EachSQL(t, func(t *testing.T, db *storage.DB, raw *sqlx.DB) {
				ctx := context.Background()
				stmts := f.sqlite
				if db.Dialect() == "postgres" {
					stmts = f.postgres
				}
				for _, s := range stmts {
					if _, err := raw.Exec(s); err != nil {
						t.Fatal(err)
					}
				}
				orig := newRequest(t, db, "s1", map[string]any{"request_id": "stuck", "requested_by": "alice", "content": ptr("still here")}, erasured.Now())
				d, err := db.RequestDeletion(ctx, "s1", "stuck", erasured.Initiator{})
				if err != nil {
					t.Fatal(err)
				}
				claimed, err := db.ClaimDeletion(ctx, time.Minute, erasured.Now())
				if err != nil || claimed == nil || claimed.ID != d.ID {
					t.Fatalf("claimed %+v (%v)", claimed, err)
				}
				if err := db.PerformDeletion(ctx, claimed); err != nil {
					t.Fatalf("a failed deletion whose failure was recorded: %v", err)
				}
				got, err := db.Deletion(ctx, "s1", d.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Status != erasured.DeletionFailure || !strings.Contains(got.Message, "refused by the test trigger") || *got != *claimed {
					t.Fatalf("deletion after the failure: %+v; PerformDeletion left %+v", got, claimed)
				}
				t.Logf("failure message: %s", got.Message)
				r, err := db.Request(ctx, "s1", "stuck")
				if err != nil || *r.Content != "still here" || *r.RequestedBy != "alice" || r.Version != orig.Version {
					t.Fatalf("the request after the rollback: %+v, %v", r, err)
				}
				if n := countRows(t, raw, `SELECT COUNT(*) FROM requests WHERE request_id = ? AND content = ?`, "stuck", "still here"); n != 1 {
					t.Fatalf("%d rows of the request remain, want 1", n)
				}
				// A failed deletion is finished: no worker claims it again, and a new DELETE
				// starts a new deletion.
				if again, err := db.ClaimDeletion(ctx, time.Minute, erasured.Now().Add(time.Hour)); again != nil || err != nil {
					t.Fatalf("claimed %+v (%v) after the failure", again, err)
				}
				retry, err := db.RequestDeletion(ctx, "s1", "stuck", erasured.Initiator{})
				if err != nil || retry.ID == d.ID || retry.Status != erasured.DeletionPending {
					t.Fatalf("a DELETE after a failed deletion: %+v, %v", retry, err)
				}
			})
		})
	}
}

func TestRequestDeletionConcurrent(t *testing.T) {
	t.Parallel()
	storagetest.EachSQL(t, func(t *testing.T, db *storage.DB, raw *sqlx.DB) {
		ctx := context.Background()
		newRequest(t, db, "s1", map[string]any{"request_id": "r1", "requested_by": "alice"}, erasured.Now())
		const n = 20
		warmPool(t, db, n)
		hold := holdRow(t, raw, "r1")
		ids := make([]int64, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				d, err := db.RequestDeletion(ctx, "s1", "r1", erasured.Initiator{})
				if err == nil {
					ids[i] = d.ID
				}
				errs[i] = err
			})
		}
		hold()
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		slices.Sort(ids)
		if ids[0] == 0 || ids[0] != ids[n-1] {
			t.Fatalf("concurrent DELETEs gave deletions %v, want one", slices.Compact(ids))
		}
		if c := countRows(t, raw, `SELECT COUNT(*) FROM deletions WHERE request_id = ?`, "r1"); c != 1 {
			t.Fatalf("%d deletion rows, want 1", c)
		}
	})
}

// warmPool opens n connections in db's pool, so that n calls that start together
// run together, instead of one after another as each waits for a new connection.
func warmPool(t *testing.T, db *storage.DB, n int) {
	t.Helper()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := db.RequestPage(context.Background(), storage.ListOptions{StoreID: "s1", Page: pagination.Page{Limit: 1}}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// Claims are exclusive while their lease lasts, and a lapsed lease is claimed again: the
// deletion is then done once, by whoever finishes first.
func TestClaimDeletionLease(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		var pending []*erasured.Deletion
		for _, id := range []string{"r1", "r2"} {
			newRequest(t, db, "s1", map[string]any{"request_id": id, "requested_by": "alice"}, erasured.Now())
			d, err := db.RequestDeletion(ctx, "s1", id, erasured.Initiator{})
			if err != nil {
				t.Fatal(err)
			}
			pending = append(pending, d)
		}
		now := erasured.Now()
		first, err := db.ClaimDeletion(ctx, time.Minute, now)
		if err != nil || first == nil || first.ID != pending[0].ID {
			t.Fatalf("first claim %+v (%v), want the oldest, %d", first, err, pending[0].ID)
		}
		second, err := db.ClaimDeletion(ctx, time.Minute, now)
		if err != nil || second == nil || second.ID != pending[1].ID {
			t.Fatalf("second claim %+v (%v), want %d", second, err, pending[1].ID)
		}
		if d, err := db.ClaimDeletion(ctx, time.Minute, now.Add(59*time.Second)); d != nil || err != nil {
			t.Fatalf("claimed %+v (%v) while both leases last", d, err)
		}
		// The worker that claimed first died; after its lease, another claims it.
		reclaimed, err := db.ClaimDeletion(ctx, time.Minute, now.Add(61*time.Second))
		if err != nil || reclaimed == nil || reclaimed.ID != first.ID {
			t.Fatalf("claim after the lease %+v (%v), want %d", reclaimed, err, first.ID)
		}
		if err := db.PerformDeletion(ctx, reclaimed); err != nil || reclaimed.Status != erasured.DeletionSuccess {
			t.Fatalf("perform the reclaimed deletion: %v, %+v", err, reclaimed)
		}
		// The first worker wakes up and finishes too: it learns that it lost the claim,
		// and changes nothing.
		err = db.PerformDeletion(ctx, first)
		wantCode(t, "perform a deletion that another worker finished", err, erasured.ECONFLICT)
		if first.Status != erasured.DeletionPending {
			t.Errorf("a lost claim changed the caller's deletion to %+v", first)
		}
		if d, err := db.Deletion(ctx, "s1", first.ID); err != nil || d.Status != erasured.DeletionSuccess || d.Message != "Request deleted successfully" {
			t.Fatalf("deletion after both workers: %+v, %v", d, err)
		}
	})
}

// Workers that claim at once each get deletions of their own.
func TestClaimDeletionConcurrent(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		const deletions, workers = 12, 6
		for i := range deletions {
			id := "r" + string(rune('a'+i))
			newRequest(t, db, "s1", map[string]any{"request_id": id, "requested_by": "alice"}, erasured.Now())
			if _, err := db.RequestDeletion(ctx, "s1", id, erasured.Initiator{}); err != nil {
				t.Fatal(err)
			}
		}
		var (
			mu      sync.Mutex
			claimed []int64
			wg      sync.WaitGroup
		)
		now := erasured.Now()
		for range workers {
			wg.Go(func() {
				for {
					d, err := db.ClaimDeletion(ctx, time.Minute, now)
					if err != nil {
						t.Error(err)
						return
					}
					if d == nil {
						return
					}
					mu.Lock()
					claimed = append(claimed, d.ID)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		slices.Sort(claimed)
		if len(claimed) != deletions || len(slices.Compact(slices.Clone(claimed))) != deletions {
			t.Fatalf("claimed %v, want each of %d deletions once", claimed, deletions)
		}
	})
}
