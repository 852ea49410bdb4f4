// Package workers runs erasured's background jobs. A worker is a loop that claims one
// piece of work at a time through storage, with a lease kept in the database, and does
// it with the same storage methods the handlers use. It holds no state of its own, so
// any number of server processes can run workers side by side, and a worker that dies
// loses nothing: its lease runs out and another takes the work.
//
// It owns the loops: their pacing, backing off while the database fails, and the log
// lines they write. It never writes SQL and knows nothing of HTTP.
package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage"
)

// maxBackoff bounds the wait between attempts while the database fails, unless Poll is
// longer still.
const maxBackoff = time.Minute

// Erasure does this server's part of every erasure request: it erases the personal
// attributes of the person's Open Notes requests in the request's store and reports the
// service "requests" as erased (storage.DB.EraseHeldData). Which other services must
// report before a request completes is a setting of the DB (storage.WithErasureServices),
// shared with the handlers that take those reports.
type Erasure struct {
	DB *storage.DB
	// Lease is how long a claim keeps other workers off a request: longer than one
	// erasure takes, short enough that what a dead process held is soon picked up.
	Lease time.Duration
	// Poll is the wait when there is nothing to do, and the first wait after a failure;
	// waits after failures in a row double, up to a minute.
	Poll time.Duration
	// Log gets a line for every erasure done and every failure; nil discards them.
	Log *slog.Logger
}

// Run works until ctx is done, and then returns nil. It claims requests back to back
// while there are any, polls every Poll when there are none, and backs off while
// claiming or erasing fails (the database unreachable, say): failures are logged and
// retried, never fatal. It returns an error only when the Erasure is not set up.
func (w *Erasure) Run(ctx context.Context) error {
	if w.DB == nil || w.Lease <= 0 || w.Poll <= 0 {
		return errors.New("erasure worker: DB, Lease and Poll must be set")
	}
	var (
		wait    time.Duration
		backoff = w.Poll
		ceiling = max(maxBackoff, w.Poll)
	)
	for sleep(ctx, wait) {
		worked, err := w.RunOnce(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			wait, backoff = backoff, min(2*backoff, ceiling)
			w.log().ErrorContext(ctx, "erasure worker failed; retrying", "error", err, "retry_in", wait)
		case worked:
			wait, backoff = 0, w.Poll
		default:
			wait, backoff = w.Poll, w.Poll
		}
	}
	return nil
}

// RunOnce claims one erasure request and does this server's part of it. worked reports
// whether there was a request to claim. When the erasure fails after the claim, nothing
// of it is kept, and the request waits for its lease to run out to be claimed again.
func (w *Erasure) RunOnce(ctx context.Context) (worked bool, err error) {
	r, err := w.DB.ClaimErasure(ctx, w.Lease, erasured.Now())
	if err != nil {
		return false, fmt.Errorf("erasure worker: %w", err)
	}
	if r == nil {
		return false, nil
	}
	done, n, err := w.DB.EraseHeldData(ctx, r.StoreID, r.ID)
	if err != nil {
		return true, fmt.Errorf("erasure worker: %w", err)
	}
	// The request's ids only: the resource_id names the person.
	w.log().InfoContext(ctx, "erased the requests held for an erasure request",
		"erasure_request_id", r.ID, "store_id", r.StoreID, "requests_erased", n, "status", done.Status)
	return true, nil
}

func (w *Erasure) log() *slog.Logger {
	if w.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Log
}

// sleep waits for d, and reports whether ctx is still live afterwards.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
