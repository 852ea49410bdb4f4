package storage_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
)

func backlog(t *testing.T, db *storage.DB) erasured.Backlog {
	t.Helper()
	b, err := db.Backlog(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The backlog counts every store's waiting work and dates the oldest of each kind; work
// done leaves it.
func TestBacklog(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		if b := backlog(t, db); b != (erasured.Backlog{}) {
			t.Fatalf("empty database: %+v", b)
		}

		base := erasured.Now().Add(-time.Hour)
		first := newErasureRequest(t, db, "s1", "alice", base)
		second := newErasureRequest(t, db, "s2", "bob", base.Add(time.Minute))
		newErasureRequest(t, db, "s1", "carol", base.Add(2*time.Minute))
		var deletions []*erasured.Deletion
		for i, store := range []string{"s1", "s2", "s2"} {
			r := newRequest(t, db, store, map[string]any{"request_id": fmt.Sprintf("r%d", i), "requested_by": "dave"}, erasured.Now())
			d, err := db.RequestDeletion(ctx, store, r.RequestID, erasured.Initiator{})
			if err != nil {
				t.Fatal(err)
			}
			deletions = append(deletions, d)
		}
		b := backlog(t, db)
		if b.Erasures.Pending != 3 || !b.Erasures.Oldest.Equal(first.CreatedAt) ||
			b.Deletions.Pending != 3 || !b.Deletions.Oldest.Equal(deletions[0].CreatedAt) {
			t.Fatalf("backlog %+v, want 3 erasures from %v and 3 deletions from %v", b, first.CreatedAt, deletions[0].CreatedAt)
		}

		// The oldest of each is done: the count drops and the next oldest dates the queue.
		if _, _, err := db.EraseHeldData(ctx, "s1", first.ID); err != nil {
			t.Fatal(err)
		}
		d, err := db.ClaimDeletion(ctx, time.Minute, erasured.Now())
		if err != nil || d == nil || d.ID != deletions[0].ID {
			t.Fatalf("claimed %+v (%v), want deletion %d", d, err, deletions[0].ID)
		}
		if err := db.PerformDeletion(ctx, d); err != nil {
			t.Fatal(err)
		}
		b = backlog(t, db)
		if b.Erasures.Pending != 2 || !b.Erasures.Oldest.Equal(second.CreatedAt) ||
			b.Deletions.Pending != 2 || !b.Deletions.Oldest.Equal(deletions[1].CreatedAt) {
			t.Errorf("backlog after work %+v, want 2 erasures from %v and 2 deletions from %v", b, second.CreatedAt, deletions[1].CreatedAt)
		}
	})
}
