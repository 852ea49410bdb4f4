package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage"
)

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
	// Skipped, when set, counts the requests that could not be read (see
	// storage.ErrUnreadable), which the worker skips.
	Skipped prometheus.Counter
}

// Run works until ctx is done, and then returns nil. It claims requests back to back
// while there are any, polls every Poll when there are none, and backs off while
// claiming or erasing fails (the database unreachable, say): failures are logged and
// retried, never fatal. It returns an error only when the Erasure is not set up.
func (w *Erasure) Run(ctx context.Context) error {
	if w.DB == nil || w.Lease <= 0 || w.Poll <= 0 {
		return errors.New("erasure worker: DB, Lease and Poll must be set")
	}
	loop(ctx, "erasure worker", w.Poll, w.log(), w.RunOnce)
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
	if errors.Is(err, storage.ErrUnreadable) {
		// Its lease keeps it off while the others go on; it is tried again after it.
		w.log().ErrorContext(ctx, "skipped an erasure request that cannot be read; repair it in the database",
			"erasure_request_id", r.ID, "store_id", r.StoreID, "err", err, "retry_in", w.Lease)
		if w.Skipped != nil {
			w.Skipped.Inc()
		}
		return true, nil
	}
	if err != nil {
		return true, fmt.Errorf("erasure worker: %w", err)
	}
	// The request's ids only: the resource_id names the person.
	w.log().InfoContext(ctx, "erased the requests held for an erasure request",
		"erasure_request_id", r.ID, "store_id", r.StoreID, "requests_erased", n, "status", done.Status)
	return true, nil
}

func (w *Erasure) log() *slog.Logger { return logger(w.Log) }
