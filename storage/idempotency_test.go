package storage_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage/storagetest"
)

func TestIdempotent(t *testing.T) {
	t.Parallel()
	storagetest.EachURL(t, func(t *testing.T, u string) {
		ctx := context.Background()
		db, raw := storagetest.OpenURL(t, u), storagetest.SQL(t, u)
		post := func(store, key, hash string) (*erasured.ErasureRequest, string, bool, error) {
			r, err := erasured.NewErasureRequest(mustKey(t, store), "account", "acc-1", nil, erasured.Now(), time.Hour)
			if err != nil {
				t.Fatal(err)
			}
			id, replayed, err := db.Idempotent(ctx, store, key, hash, "erasure_request", db.ErasureRequestCreator(r))
			return r, id, replayed, err
		}
		stored := func(store string) int {
			return countRows(t, raw, `SELECT COUNT(*) FROM erasure_requests WHERE store_id = ?`, store)
		}

		r, id, replayed, err := post("s1", "k1", "h1")
		if err != nil || replayed || id != r.ID {
			t.Fatalf("first use: %s %v %v", id, replayed, err)
		}
		if _, err := db.ErasureRequest(ctx, "s1", id); err != nil {
			t.Fatal(err)
		}
		if _, again, replayed, err := post("s1", "k1", "h1"); err != nil || !replayed || again != id {
			t.Errorf("replay: %s %v %v, want %s replayed", again, replayed, err, id)
		}
		if _, _, _, err := post("s1", "k1", "h2"); erasured.ErrorCode(err) != erasured.EUNPROCESSABLE {
			t.Errorf("another body: got %v, want unprocessable", err)
		}
		if _, _, err := db.Idempotent(ctx, "s1", "k1", "h1", "requests", func(context.Context, *sqlx.Tx) (string, error) {
			t.Error("create ran for a known key")
			return "", nil
		}); erasured.ErrorCode(err) != erasured.EUNPROCESSABLE {
			t.Errorf("another resource type: got %v, want unprocessable", err)
		}
		if other, otherID, replayed, err := post("s2", "k1", "h1"); err != nil || replayed || otherID != other.ID {
			t.Errorf("the same key in another store: %s %v %v, want a new resource", otherID, replayed, err)
		}
		if n := stored("s1"); n != 1 {
			t.Errorf("store s1 holds %d erasure requests, want 1", n)
		}

		// A create that fails records no key: the same key then creates.
		boom := erasured.Errorf(erasured.EINVALID, "boom")
		if _, _, err := db.Idempotent(ctx, "s1", "k2", "h1", "erasure_request", func(ctx context.Context, tx *sqlx.Tx) (string, error) {
			return "", boom
		}); erasured.ErrorCode(err) != erasured.EINVALID {
			t.Fatalf("failing create: got %v", err)
		}
		if _, _, replayed, err := post("s1", "k2", "h1"); err != nil || replayed {
			t.Errorf("after a failed create: replayed %v, %v", replayed, err)
		}

		// First uses that race: one resource, the others replay it. Each create waits
		// until every racer has got that far, so on PostgreSQL all of them look the key
		// up before any records it; SQLite lets one transaction in at a time, so there the
		// first waits out the deadline alone and the others replay. The losers fail on
		// the key, or earlier, on the resource's own id when the client chose it.
		for _, sameID := range []bool{false, true} {
			store := fmt.Sprintf("race-same-id-%v", sameID)
			id := erasured.NewID()
			const n = 10
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				start   = make(chan struct{})
				ids     = map[string]int{}
				fresh   int
				creates atomic.Int32
			)
			for range n {
				wg.Go(func() {
					<-start
					r, err := erasured.NewErasureRequest(mustKey(t, store), "account", "acc-1", nil, erasured.Now(), time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					if sameID {
						r.ID = id
					}
					got, replayed, err := db.Idempotent(ctx, store, "race", "h", "erasure_request", func(ctx context.Context, tx *sqlx.Tx) (string, error) {
						creates.Add(1)
						for deadline := time.Now().Add(time.Second); creates.Load() < n && time.Now().Before(deadline); {
							time.Sleep(5 * time.Millisecond)
						}
						return db.ErasureRequestCreator(r)(ctx, tx)
					})
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						t.Error(err)
						return
					}
					ids[got]++
					if !replayed {
						fresh++
					}
				})
			}
			close(start)
			wg.Wait()
			if len(ids) != 1 || fresh != 1 || stored(store) != 1 {
				t.Errorf("racing first uses, same id %v (%d creates ran): ids %v, %d created, %d stored; want one", sameID, creates.Load(), ids, fresh, stored(store))
			}
		}
	})
}
