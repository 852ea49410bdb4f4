package workers

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage"
)

// Deletion carries out the deletions of requests that clients asked for with DELETE,
// one at a time: storage.DB.PerformDeletion deletes the request and marks the deletion
// SUCCESS in one transaction, or marks it FAILURE with the reason.
//
// The zero value of each field but DB is usable.
type Deletion struct {
	DB *storage.DB
	// Lease is how long a claimed deletion is this worker's. It must be longer than a
	// deletion takes: once it runs out another worker may claim the deletion, and then
	// the slower one finds it done and leaves it alone. Zero means one minute.
	Lease time.Duration
	// Poll is how long to wait when there is nothing to do, and the first wait after an
	// error; waits after further errors double, up to a minute. Zero means one second.
	Poll time.Duration
	// Log receives what the worker did and what went wrong. Nil discards it.
	Log *slog.Logger
}

const (
	defaultDeletionLease = time.Minute
	defaultDeletionPoll  = time.Second
)

// Run carries out deletions until ctx is done, then returns nil. When there is nothing
// to do it waits Poll; when the database fails it logs the error and waits longer after
// each failure in a row. It returns an error only when w cannot work at all (no DB).
func (w *Deletion) Run(ctx context.Context) error {
	if w.DB == nil {
		return errors.New("deletion worker: no database")
	}
	loop(ctx, "deletion worker", w.poll(), w.log(), w.RunOnce)
	return nil
}

// RunOnce claims one pending deletion and carries it out. It reports whether there was
// one. A deletion that failed is not an error of RunOnce's: its outcome is recorded, and
// logged. RunOnce returns an error when it could neither claim nor record an outcome,
// as when the database is unavailable; the deletion is then retried after its lease.
func (w *Deletion) RunOnce(ctx context.Context) (worked bool, err error) {
	d, err := w.DB.ClaimDeletion(ctx, w.lease(), erasured.Now())
	if err != nil {
		return false, err
	}
	if d == nil {
		return false, nil
	}
	err = w.DB.PerformDeletion(ctx, d)
	switch {
	case erasured.ErrorCode(err) == erasured.ECONFLICT:
		// This worker's lease ran out and another worker finished the deletion.
		w.log().Warn("deletion finished by another worker; is the lease too short?",
			"deletion_id", d.ID, "lease", w.lease())
		return true, nil
	case err != nil:
		return true, err
	case d.Status == erasured.DeletionFailure:
		w.log().Warn("deletion failed", "deletion_id", d.ID, "store_id", d.StoreID, "reason", d.Message)
	default:
		w.log().Info("request deleted", "deletion_id", d.ID, "store_id", d.StoreID)
	}
	return true, nil
}

func (w *Deletion) lease() time.Duration {
	if w.Lease <= 0 {
		return defaultDeletionLease
	}
	return w.Lease
}

func (w *Deletion) poll() time.Duration {
	if w.Poll <= 0 {
		return defaultDeletionPoll
	}
	return w.Poll
}

func (w *Deletion) log() *slog.Logger { return logger(w.Log) }
