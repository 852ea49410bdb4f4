package workers

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// maxBackoff bounds the wait between attempts while the database fails, unless the poll
// interval is longer still.
const maxBackoff = time.Minute

// loop runs round until ctx is done. round claims one piece of work and does it,
// reporting whether there was any: while there is, the next round starts at once; when
// there is none, loop waits poll; when round fails (the database unreachable, say), the
// failure is logged and the wait doubles with every failure in a row, up to a minute. A
// panic in round is a failure like any other, so a bug costs one piece of work its
// lease, not the server.
func loop(ctx context.Context, name string, poll time.Duration, log *slog.Logger, round func(context.Context) (bool, error)) {
	var (
		wait    time.Duration
		backoff = poll
		ceiling = max(maxBackoff, poll)
	)
	for sleep(ctx, wait) {
		worked, err := safely(ctx, round)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.ErrorContext(ctx, name+" failed; will retry", "err", err, "retry_in", backoff)
			wait, backoff = backoff, min(2*backoff, ceiling)
		case worked:
			wait, backoff = 0, poll
		default:
			wait, backoff = poll, poll
		}
	}
}

func safely(ctx context.Context, round func(context.Context) (bool, error)) (worked bool, err error) {
	defer func() {
		if v := recover(); v != nil {
			worked, err = true, fmt.Errorf("panic: %v", v)
		}
	}()
	return round(ctx)
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

// logger returns l, or a logger that discards when l is nil.
func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}
