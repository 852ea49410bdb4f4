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

// LogPurge deletes the personal data log entries that have outlived their store's time
// to live (storage.DB.PurgeLogs). Every process runs one; they agree through the
// database, so one purges at a time, at most once per Interval.
type LogPurge struct {
	DB *storage.DB
	// Interval is the least time between the starts of two purges: how long an entry
	// may outlive its time to live, beyond the purge itself.
	Interval time.Duration
	// Poll is how often the worker asks whether a purge is due, and the first wait
	// after a failure; waits after failures in a row double, up to a minute.
	Poll time.Duration
	// Lease is how long a purge keeps other processes off before it renews its claim
	// (after each batch); a purge whose process died is taken up once it runs out.
	Lease time.Duration
	// Batch is how many entries one statement deletes.
	Batch int
	// Log gets a line for every purge that deleted something; nil discards them.
	Log *slog.Logger
}

// Run purges until ctx is done, and then returns nil. Failures are logged and retried.
// It returns an error only when the LogPurge is not set up.
func (w *LogPurge) Run(ctx context.Context) error {
	if w.DB == nil || w.Interval <= 0 || w.Poll <= 0 || w.Lease <= 0 || w.Batch <= 0 {
		return errors.New("log purge worker: DB, Interval, Poll, Lease and Batch must be set")
	}
	loop(ctx, "log purge worker", w.Poll, logger(w.Log), w.RunOnce)
	return nil
}

// RunOnce purges if a purge is due and no other process is purging, and reports
// whether it did.
func (w *LogPurge) RunOnce(ctx context.Context) (bool, error) {
	t0 := time.Now()
	r, err := w.DB.PurgeLogs(ctx, erasured.Now(), w.Interval, w.Lease, w.Batch)
	if err != nil {
		return false, fmt.Errorf("log purge worker: %w", err)
	}
	if r.Deleted > 0 {
		logger(w.Log).InfoContext(ctx, "purged expired personal data logs", "deleted", r.Deleted, "batches", r.Batches,
			"duration_us", time.Since(t0).Microseconds())
	}
	// A purge is a round of its own; the next one is an interval away however much
	// this one did, so the loop waits its poll either way.
	return false, nil
}
