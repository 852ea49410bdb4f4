package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/egress"
	"github.com/erasured/erasured/storage"
)

// Webhooks delivers the outbox: each announcement becomes a delivery per webhook that
// wanted it (storage.DB.FanOut), and each delivery that is due is claimed through the
// database (storage.DB.ClaimDelivery), signed and sent (egress), and its outcome
// recorded (storage.DB.RecordAttempt). A delivery that the receiver answered with a 2xx
// is never sent again; any other outcome is retried after erasured.RetryDelay, until
// RetryFor has passed since the event. A process that dies between sending and
// recording leaves the delivery to be claimed again when its lease runs out, and sent
// again with the same webhook-id: deliveries are at least once.
type Webhooks struct {
	DB     *storage.DB
	Client *egress.Client
	// Lease is how long a claim keeps other workers off a delivery: longer than an
	// attempt can take (egress.Timeout), so that a slow receiver is not sent a delivery
	// twice at once.
	Lease time.Duration
	// Poll is the wait when nothing is due, and the first wait after a failure.
	Poll time.Duration
	// RetryFor is how long after its event a delivery is retried. A webhook none of whose
	// deliveries succeeded for that long is made inactive.
	RetryFor time.Duration
	// Backoff is the first retry's delay (erasured.RetryDelay); zero is
	// erasured.RetryBase.
	Backoff time.Duration
	// Concurrency is how many deliveries are under way at once, so that a slow receiver
	// does not hold the others up; zero is one.
	Concurrency int
	// Log gets a line for every failed attempt and every failure of the worker itself;
	// nil discards them.
	Log *slog.Logger
	// Now is the clock that decides what is due and when retrying ends; nil is
	// erasured.Now. A test sets it to step through a retry period without waiting it out.
	Now func() time.Time
}

// Run delivers until ctx is done, and then returns nil: one loop makes announcements
// into deliveries, and Concurrency loops each claim deliveries back to back while any
// are due; each polls every Poll when it has nothing to do, and backs off while the
// database fails. It returns an error only when the Webhooks is not set up.
func (w *Webhooks) Run(ctx context.Context) error {
	if w.DB == nil || w.Client == nil || w.Lease <= 0 || w.Poll <= 0 || w.RetryFor <= 0 {
		return errors.New("webhook worker: DB, Client, Lease, Poll and RetryFor must be set")
	}
	var wg sync.WaitGroup
	wg.Go(func() { loop(ctx, "webhook fan-out", w.Poll, w.log(), w.fanOut) })
	for range max(w.Concurrency, 1) {
		wg.Go(func() { loop(ctx, "webhook worker", w.Poll, w.log(), w.deliver) })
	}
	wg.Wait()
	return nil
}

// fanOutBatch is how many announcements one round makes into deliveries at most.
const fanOutBatch = 100

// RunOnce does one round of both of Run's loops: it makes new announcements into
// deliveries, then claims one due delivery, sends it and records the outcome. worked
// reports whether there was anything to do.
func (w *Webhooks) RunOnce(ctx context.Context) (worked bool, err error) {
	fanned, err := w.fanOut(ctx)
	if err != nil {
		return false, err
	}
	delivered, err := w.deliver(ctx)
	return fanned || delivered, err
}

// fanOut makes a batch of announcements into deliveries (storage.DB.FanOut). worked
// reports whether there were any.
func (w *Webhooks) fanOut(ctx context.Context) (worked bool, err error) {
	n, err := w.DB.FanOut(ctx, w.now(), fanOutBatch)
	if err != nil {
		return false, fmt.Errorf("webhook fan-out: %w", err)
	}
	return n > 0, nil
}

// deliver claims one due delivery, sends it and records the outcome. worked reports
// whether there was a delivery to claim.
func (w *Webhooks) deliver(ctx context.Context) (worked bool, err error) {
	d, hook, err := w.DB.ClaimDelivery(ctx, w.Lease, w.now())
	if err != nil {
		return false, fmt.Errorf("webhook worker: %w", err)
	}
	if d == nil {
		return false, nil
	}
	if hook == nil {
		return true, nil // the webhook was deleted, and its deliveries with it
	}
	if !hook.Active {
		d.Abandon("not sent: the webhook is not active", w.now())
		return true, w.record(ctx, d, nil)
	}
	status, sendErr := w.Client.Send(ctx, egress.Message{URL: hook.URL, Secret: hook.Secret, ID: d.ID, Body: d.Payload}, w.now())
	if ctx.Err() != nil {
		// Stopping: the claim's lease runs out and another process sends it again.
		return true, nil
	}
	now := w.now()
	ok := sendErr == nil && status >= 200 && status < 300
	switch {
	case ok:
		d.Succeeded(status, now)
	case sendErr != nil:
		d.Failed(nil, sendErr.Error(), now, w.RetryFor, w.backoff(), rand.Float64())
	default:
		d.Failed(&status, fmt.Sprintf("the receiver answered %d %s", status, http.StatusText(status)), now, w.RetryFor, w.backoff(), rand.Float64())
	}
	if !ok {
		w.log().WarnContext(ctx, "a webhook delivery failed", "delivery_id", d.ID, "webhook_id", hook.ID, "store_id", d.StoreID,
			"attempts", d.Attempts, "status", d.Status, "error", *d.LastError)
	}
	return true, w.record(ctx, d, hook)
}

// record records d's attempt. A delivery that another worker recorded meanwhile (this
// one's lease ran out while it sent) is no failure: it was sent twice, as at least once
// allows.
func (w *Webhooks) record(ctx context.Context, d *erasured.WebhookDelivery, hook *erasured.Webhook) error {
	err := w.DB.RecordAttempt(ctx, d, hook)
	if erasured.ErrorCode(err) == erasured.ECONFLICT {
		w.log().InfoContext(ctx, "a webhook delivery was recorded by another worker first", "delivery_id", d.ID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("webhook worker: %w", err)
	}
	return nil
}

func (w *Webhooks) backoff() time.Duration {
	if w.Backoff <= 0 {
		return erasured.RetryBase
	}
	return w.Backoff
}

func (w *Webhooks) now() time.Time {
	if w.Now == nil {
		return erasured.Now()
	}
	return w.Now()
}

func (w *Webhooks) log() *slog.Logger { return logger(w.Log) }
