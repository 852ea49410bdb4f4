package workers_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage/storagetest"
	"github.com/erasured/erasured/workers"
)

// Both workers keep running through a database outage: while PostgreSQL is out of
// reach they fail, log and back off; once it is back they finish the work, once.
func TestWorkersSurviveADatabaseOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	u, proxy := storagetest.ProxiedURL(t)
	db := storagetest.OpenURL(t, u)
	er := file(t, db, "s1", "alice")
	if _, err := db.CreateRequest(ctx, erasured.NewRequest("s1", erasured.Values{"request_id": "doomed", "requested_by": "bob"}, erasured.Now()), erasured.Initiator{}, nil); err != nil {
		t.Fatal(err)
	}
	del, err := db.RequestDeletion(ctx, "s1", "doomed", erasured.Initiator{})
	if err != nil {
		t.Fatal(err)
	}

	proxy.Cut()
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for _, w := range []interface{ Run(context.Context) error }{
		&workers.Erasure{DB: db, Lease: time.Minute, Poll: 20 * time.Millisecond},
		&workers.Deletion{DB: db, Poll: 20 * time.Millisecond},
	} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Run(runCtx); err != nil {
				t.Error(err)
			}
		}()
	}
	time.Sleep(500 * time.Millisecond)
	proxy.Restore(t)

	deadline := time.Now().Add(15 * time.Second)
	for {
		got, err1 := db.ErasureRequest(ctx, "s1", er.ID)
		d, err2 := db.Deletion(ctx, "s1", del.ID)
		if err1 == nil && err2 == nil && got.Status == erasured.StatusCompleted && d.Status == erasured.DeletionSuccess {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("work not done after the outage: %v %v %v %v", got, err1, d, err2)
		}
		time.Sleep(50 * time.Millisecond)
	}
	stop()
	wg.Wait()

	events, err := db.ErasureEvents(ctx, "s1", er.ID)
	if err != nil {
		t.Fatal(err)
	}
	inProgress := 0
	for _, e := range events {
		if e.NewStatus == erasured.StatusInProgress {
			inProgress++
		}
	}
	if inProgress != 1 {
		t.Errorf("the erasure was started %d times", inProgress)
	}
}
