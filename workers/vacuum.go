package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/erasured/erasured/storage"
)

// Vacuum takes what erasures and deletions removed out of PostgreSQL's pages
// (storage.DB.Vacuum): after an erasure or a deletion commits, the next vacuum starts
// within Interval, once no transaction that may still see the removed rows is open.
// Every process runs one; they agree through the database, so one vacuum runs at a time
// and at most one starts per Interval, however many processes there are.
type Vacuum struct {
	DB *storage.DB
	// Interval is the least time between the starts of two vacuums: what an erasure
	// waits at most for the next one, and what bounds their cost on a busy database.
	Interval time.Duration
	// Poll is how often the worker asks whether a vacuum is due, and the first wait
	// after a failure; waits after failures in a row double, up to a minute.
	Poll time.Duration
	// Log gets a line for every vacuum and every wait for a transaction; nil discards
	// them.
	Log *slog.Logger

	// waitLogged is when a wait was last logged, so that a long wait is logged once
	// per Interval rather than on every poll.
	waitLogged time.Time
}

// Run vacuums until ctx is done, and then returns nil. Failures are logged and retried,
// never fatal. It returns an error only when the Vacuum is not set up.
func (w *Vacuum) Run(ctx context.Context) error {
	if w.DB == nil || w.Interval <= 0 || w.Poll <= 0 {
		return errors.New("vacuum worker: DB, Interval and Poll must be set")
	}
	loop(ctx, "vacuum worker", w.Poll, w.log(), w.RunOnce)
	return nil
}

// RunOnce vacuums if a vacuum is due (see storage.DB.Vacuum), and reports whether it
// did.
func (w *Vacuum) RunOnce(ctx context.Context) (worked bool, err error) {
	r, err := w.DB.Vacuum(ctx, w.Interval)
	if err != nil {
		return false, fmt.Errorf("vacuum worker: %w", err)
	}
	switch r.Outcome {
	case storage.VacuumDone:
		w.waitLogged = time.Time{}
		w.log().InfoContext(ctx, "vacuumed erased and deleted data", "duration_us", r.Took.Microseconds())
		return true, nil
	case storage.VacuumWaiting:
		if time.Since(w.waitLogged) >= w.Interval {
			w.waitLogged = time.Now()
			args := []any{"blocker", r.Blocker}
			if r.BlockerSince != nil {
				args = append(args, "blocker_since", *r.BlockerSince)
			}
			w.log().WarnContext(ctx, "vacuum of erased data waits for an older transaction to end", args...)
		}
	}
	return false, nil
}

func (w *Vacuum) log() *slog.Logger { return logger(w.Log) }
