package storage_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
)

func TestIdempotency(t *testing.T) {
	t.Parallel()
	storagetest.EachURL(t, func(t *testing.T, u string) {
		ctx := context.Background()
		db, raw := storagetest.OpenURL(t, u), storagetest.SQL(t, u)
		post := func(store, key, hash string) (*erasured.ErasureRequest, *erasured.ErasureRequest, error) {
			r := erasured.NewErasureRequest(mustKey(t, store), erasureValues("account", "acc-1", nil), erasured.Now(), time.Hour)
			got, err := db.CreateErasureRequest(ctx, r, &storage.Idempotency{Key: key, RequestHash: hash})
			return r, got, err
		}
		stored := func(store string) int {
			return countRows(t, raw, `SELECT COUNT(*) FROM erasure_requests WHERE store_id = ?`, store)
		}

		r, first, err := post("s1", "k1", "h1")
		if err != nil || first.ID != r.ID {
			t.Fatalf("first use: %+v %v", first, err)
		}
		if _, err := db.ErasureRequest(ctx, "s1", r.ID); err != nil {
			t.Fatal(err)
		}
		if fresh, again, err := post("s1", "k1", "h1"); err != nil || again.ID != r.ID || fresh.ID == r.ID {
			t.Errorf("replay: %+v %v, want %s", again, err, r.ID)
		}
		if _, _, err := post("s1", "k1", "h2"); erasured.ErrorCode(err) != erasured.EUNPROCESSABLE {
			t.Errorf("another body: got %v, want unprocessable", err)
		}
		_, err = db.CreateRequest(ctx, requestOf(t, "s1", map[string]any{"request_id": "r9", "requested_by": "x"}, erasured.Now()), erasured.Initiator{},
			&storage.Idempotency{Key: "k1", RequestHash: "h1"})
		if erasured.ErrorCode(err) != erasured.EUNPROCESSABLE {
			t.Errorf("another resource type: got %v, want unprocessable", err)
		}
		if other, got, err := post("s2", "k1", "h1"); err != nil || got.ID != other.ID {
			t.Errorf("the same key in another store: %+v %v, want a new resource", got, err)
		}
		if n := stored("s1"); n != 1 {
			t.Errorf("store s1 holds %d erasure requests, want 1", n)
		}

		// A create that fails records no key: the same key then creates.
		newRequest(t, db, "s1", map[string]any{"request_id": "taken", "requested_by": "alice"}, erasured.Now())
		retry := &storage.Idempotency{Key: "k2", RequestHash: "h1"}
		_, err = db.CreateRequest(ctx, requestOf(t, "s1", map[string]any{"request_id": "taken", "requested_by": "bob"}, erasured.Now()), erasured.Initiator{}, retry)
		wantCode(t, "a failing create", err, erasured.ECONFLICT)
		if got, err := db.CreateRequest(ctx, requestOf(t, "s1", map[string]any{"request_id": "free", "requested_by": "bob"}, erasured.Now()), erasured.Initiator{}, retry); err != nil || got.RequestID != "free" {
			t.Errorf("after a failed create: %+v, %v", got, err)
		}
	})
}

// TestIdempotencyRace sends first uses of one key at once: they yield one resource, and
// the others replay it. On PostgreSQL every insert is held at a barrier (a trigger that
// waits for an advisory lock the test holds) until all of them have looked the key up
// and found nothing; then they all insert, and the losers fail on the key, or earlier, on
// the resource's own id when the client chose it. SQLite lets one transaction in at a
// time: there the others wait, and replay.
func TestIdempotencyRace(t *testing.T) {
	t.Parallel()
	storagetest.EachURL(t, func(t *testing.T, u string) {
		ctx := context.Background()
		db, raw := storagetest.OpenURL(t, u), storagetest.SQL(t, u)
		hold := func(int) func() { return func() {} }
		if strings.HasPrefix(u, "postgres") {
			hold = barrier(t, raw)
		}
		for _, sameID := range []bool{false, true} {
			store := fmt.Sprintf("race-same-id-%v", sameID)
			id := erasured.NewID()
			const n = 10
			release := hold(n)
			var (
				wg  sync.WaitGroup
				mu  sync.Mutex
				ids = map[string]int{}
			)
			for range n {
				wg.Go(func() {
					r := erasured.NewErasureRequest(mustKey(t, store), erasureValues("account", "acc-1", nil), erasured.Now(), time.Hour)
					if sameID {
						r.ID = id
					}
					got, err := db.CreateErasureRequest(ctx, r, &storage.Idempotency{Key: "race", RequestHash: "h"})
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						t.Error(err)
						return
					}
					ids[got.ID]++
				})
			}
			release()
			wg.Wait()
			if n := countRows(t, raw, `SELECT COUNT(*) FROM erasure_requests WHERE store_id = ?`, store); len(ids) != 1 || n != 1 {
				t.Errorf("racing first uses, same id %v: ids %v, %d stored; want one", sameID, ids, n)
			}
		}
	})
}

// barrier makes every insert into erasure_requests wait, in a trigger, for an advisory
// lock that holding takes, when it holds it. hold takes the lock and returns what lets
// the inserts go, once n of them wait.
func barrier(t *testing.T, raw *sqlx.DB) (hold func(n int) (release func())) {
	t.Helper()
	ctx := context.Background()
	key := rand.Int32N(1<<30) + 1
	for _, stmt := range []string{
		fmt.Sprintf(`CREATE FUNCTION insert_barrier() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN PERFORM pg_advisory_xact_lock_shared(%d); RETURN NEW; END $$`, key),
		`CREATE TRIGGER insert_barrier BEFORE INSERT ON erasure_requests FOR EACH ROW EXECUTE FUNCTION insert_barrier()`,
	} {
		if _, err := raw.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	return func(n int) func() {
		conn, err := raw.Connx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
			t.Fatal(err)
		}
		return func() {
			defer conn.Close()
			for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
				var waiting int
				if err := raw.GetContext(ctx, &waiting, `SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory'
					AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND objid = $1 AND NOT granted`, key); err != nil {
					t.Fatal(err)
				}
				if waiting == n {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("%d of %d inserts reached the barrier", waiting, n)
				}
			}
			if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, key); err != nil {
				t.Fatal(err)
			}
		}
	}
}
