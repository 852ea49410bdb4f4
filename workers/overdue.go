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

// overdueBatch is how many requests one round marks overdue, each in a transaction of
// its own; a round that marks that many is followed by another at once.
const overdueBatch = 100

// Overdue finds the erasure requests that have passed their due date unfinished, marks
// each once (an event in its audit trail, and the deliveries of erasure_request.overdue:
// storage.DB.MarkOverdue), and keeps Gauge at the number of such requests across every
// store. Processes that do it at once mark each request once.
type Overdue struct {
	DB *storage.DB
	// Poll is the wait between rounds, and the first wait after a failure.
	Poll time.Duration
	// Gauge, when set, is set to the number of overdue requests after each round.
	Gauge prometheus.Gauge
	// Log gets a line for every request marked and every failure; nil discards them.
	Log *slog.Logger
}

// Run works until ctx is done, and then returns nil. It returns an error only when the
// Overdue is not set up.
func (w *Overdue) Run(ctx context.Context) error {
	if w.DB == nil || w.Poll <= 0 {
		return errors.New("overdue worker: DB and Poll must be set")
	}
	loop(ctx, "overdue worker", w.Poll, logger(w.Log), w.RunOnce)
	return nil
}

// RunOnce marks up to a batch of overdue requests and counts them all. worked reports
// whether the batch was full, and more may be waiting.
func (w *Overdue) RunOnce(ctx context.Context) (worked bool, err error) {
	now := erasured.Now()
	n, err := w.DB.MarkOverdue(ctx, now, overdueBatch)
	if n > 0 {
		logger(w.Log).InfoContext(ctx, "erasure requests are overdue", "marked", n)
	}
	if err != nil {
		return true, fmt.Errorf("overdue worker: %w", err)
	}
	if w.Gauge != nil {
		count, err := w.DB.OverdueCount(ctx, now)
		if err != nil {
			return true, fmt.Errorf("overdue worker: %w", err)
		}
		w.Gauge.Set(float64(count))
	}
	return n == overdueBatch, nil
}
