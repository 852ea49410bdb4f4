package workers_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
	"github.com/erasured/erasured/workers"
)

// pendingDeletion stores request requestID in store s1 and asks for its deletion.
func pendingDeletion(t *testing.T, db *storage.DB, requestID string) *erasured.Deletion {
	t.Helper()
	ctx := context.Background()
	content := "something personal"
	r := erasured.NewRequest("s1", erasured.Values{"request_id": requestID, "requested_by": "alice", "content": content}, erasured.Now())
	if _, err := db.CreateRequest(ctx, r, erasured.Initiator{}, nil); err != nil {
		t.Fatal(err)
	}
	d, err := db.RequestDeletion(ctx, "s1", requestID, erasured.Initiator{})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func requestRows(t *testing.T, raw *sqlx.DB, requestID string) int {
	t.Helper()
	var n int
	if err := raw.Get(&n, raw.Rebind(`SELECT count(*) FROM requests WHERE request_id = ?`), requestID); err != nil {
		t.Fatal(err)
	}
	return n
}

// wantDeleted checks that deletion id succeeded and its request is gone, for the API
// and in the table.
func wantDeleted(t *testing.T, db *storage.DB, raw *sqlx.DB, id int64, requestID string) {
	t.Helper()
	ctx := context.Background()
	d, err := db.Deletion(ctx, "s1", id)
	if err != nil || d.Status != erasured.DeletionSuccess || d.Message != "Request deleted successfully" {
		t.Fatalf("deletion %d: %+v, %v", id, d, err)
	}
	if _, err := db.Request(ctx, "s1", requestID); erasured.ErrorCode(err) != erasured.EGONE {
		t.Fatalf("request after its deletion: %v, want gone", err)
	}
	if n := requestRows(t, raw, requestID); n != 0 {
		t.Fatalf("%d rows of request %s remain", n, requestID)
	}
}

func TestDeletionRunOnce(t *testing.T) {
	t.Parallel()
	storagetest.EachSQL(t, func(t *testing.T, db *storage.DB, raw *sqlx.DB) {
		ctx := context.Background()
		w := &workers.Deletion{DB: db}
		if worked, err := w.RunOnce(ctx); worked || err != nil {
			t.Fatalf("RunOnce with nothing to do: %v, %v", worked, err)
		}
		d := pendingDeletion(t, db, "r1")
		if n := requestRows(t, raw, "r1"); n != 1 {
			t.Fatalf("%d rows before the worker ran, want 1", n)
		}
		if worked, err := w.RunOnce(ctx); !worked || err != nil {
			t.Fatalf("RunOnce: %v, %v", worked, err)
		}
		wantDeleted(t, db, raw, d.ID, "r1")
		if worked, err := w.RunOnce(ctx); worked || err != nil {
			t.Fatalf("RunOnce after the work was done: %v, %v", worked, err)
		}
	})
}

// A process claims a deletion and dies. While its lease lasts nobody touches the
// deletion; then a worker claims it and carries it out, once.
func TestDeletionLeaseRunsOut(t *testing.T) {
	t.Parallel()
	storagetest.EachSQL(t, func(t *testing.T, db *storage.DB, raw *sqlx.DB) {
		ctx := context.Background()
		const lease = time.Minute
		// r1's claim was made just now by a process that is still at it; r2's by one that
		// died long enough ago that its lease is over.
		live := pendingDeletion(t, db, "r1")
		if c, err := db.ClaimDeletion(ctx, lease, erasured.Now()); err != nil || c == nil || c.ID != live.ID {
			t.Fatalf("setting up the live claim: %+v, %v", c, err)
		}
		d := pendingDeletion(t, db, "r2")
		dead, err := db.ClaimDeletion(ctx, lease, erasured.Now().Add(-2*lease))
		if err != nil || dead == nil || dead.ID != d.ID {
			t.Fatalf("setting up the lapsed claim: %+v, %v", dead, err)
		}

		w := &workers.Deletion{DB: db, Lease: lease}
		if worked, err := w.RunOnce(ctx); !worked || err != nil {
			t.Fatalf("RunOnce: %v, %v", worked, err)
		}
		wantDeleted(t, db, raw, d.ID, "r2")
		if worked, err := w.RunOnce(ctx); worked || err != nil {
			t.Fatalf("RunOnce with only a live claim left: %v, %v", worked, err)
		}
		if got, err := db.Deletion(ctx, "s1", live.ID); err != nil || got.Status != erasured.DeletionPending || requestRows(t, raw, "r1") != 1 {
			t.Fatalf("the deletion under a live claim: %+v, %v", got, err)
		}

		// Had the dead process lived on and finished, it would change nothing.
		if err := db.PerformDeletion(ctx, dead); erasured.ErrorCode(err) != erasured.ECONFLICT {
			t.Fatalf("the lapsed claim's PerformDeletion: %v, want conflict", err)
		}
		wantDeleted(t, db, raw, d.ID, "r2")
		var deletions int
		if err := raw.Get(&deletions, raw.Rebind(`SELECT count(*) FROM deletions WHERE request_id = ?`), "r2"); err != nil || deletions != 1 {
			t.Fatalf("%d deletion rows (%v), want 1", deletions, err)
		}
	})
}

func TestDeletionRun(t *testing.T) {
	t.Parallel()
	storagetest.EachSQL(t, func(t *testing.T, db *storage.DB, raw *sqlx.DB) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- (&workers.Deletion{DB: db, Poll: 10 * time.Millisecond}).Run(ctx) }()

		// Work that arrives while the worker runs, more than one at a time.
		ids := map[string]int64{}
		for _, r := range []string{"r1", "r2", "r3"} {
			ids[r] = pendingDeletion(t, db, r).ID
		}
		deadline := time.Now().Add(10 * time.Second)
		for r, id := range ids {
			for {
				d, err := db.Deletion(context.Background(), "s1", id)
				if err != nil {
					t.Fatal(err)
				}
				if d.Status != erasured.DeletionPending {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("deletion %d still pending after 10s", id)
				}
				time.Sleep(10 * time.Millisecond)
			}
			wantDeleted(t, db, raw, id, r)
		}

		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
	})
}

// syncBuffer is a log sink that Run's goroutine writes while the test may read.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// With its database gone the worker neither panics nor spins: it logs, waits longer
// after each failure, and stops when told.
func TestDeletionRunBacksOff(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		db.Close()
		var logs syncBuffer
		w := &workers.Deletion{DB: db, Poll: 5 * time.Millisecond, Log: slog.New(slog.NewTextHandler(&logs, nil))}
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		if err := w.Run(ctx); err != nil {
			t.Fatalf("Run: %v", err)
		}
		// 5, 10, 20, 40, 80, 160 ms: about six attempts fit in 300 ms, not sixty.
		lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
		if len(lines) < 3 || len(lines) > 8 {
			t.Fatalf("%d attempts in 300ms:\n%s", len(lines), logs.String())
		}
		for i, want := range []string{"retry_in=5ms", "retry_in=10ms", "retry_in=20ms"} {
			if !strings.Contains(lines[i], "level=ERROR") || !strings.Contains(lines[i], want) {
				t.Errorf("log line %d: %s; want an error with %s", i, lines[i], want)
			}
		}
	})
}

func TestDeletionRunWithoutDatabase(t *testing.T) {
	if err := (&workers.Deletion{}).Run(context.Background()); err == nil {
		t.Fatal("Run without a database returned nil")
	}
}
