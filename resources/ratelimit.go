package resources

import (
	"errors"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/erasured/erasured"
)

// sweepEvery is how often the rate limiter looks for buckets it can forget.
const sweepEvery = time.Minute

// rateLimits is a token bucket per API key (--rate-limit, --rate-burst).
//
// Buckets live in this process: with several processes behind a load balancer a key may
// send up to that many times its rate. Sharing them through the database would cost a
// write on every request, the very load the limit is there to shed.
//
// The map is keyed by the ids of keys that authenticated, so it never holds more
// entries than there are keys, and a bucket is forgotten once it has refilled, so it
// holds only the keys active lately.
type rateLimits struct {
	limit rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	swept   time.Time
}

// newRateLimits returns limits of perSecond requests per key, in bursts of up to burst;
// a burst of 0 means twice the rate, at least 1. It returns nil, no limits, when
// perSecond is 0.
func newRateLimits(perSecond float64, burst int) *rateLimits {
	if perSecond <= 0 {
		return nil
	}
	if burst <= 0 {
		// Bounded so that an absurd rate cannot overflow int.
		burst = int(max(1, min(math.Ceil(2*perSecond), math.MaxInt32)))
	}
	return &rateLimits{limit: rate.Limit(perSecond), burst: burst, buckets: map[string]*rate.Limiter{}}
}

// take spends one request of key keyID's budget at now. When the budget is spent it
// spends nothing and returns false and how long until the next request is allowed.
func (l *rateLimits) take(keyID string, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.buckets[keyID]
	if b == nil {
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[keyID] = b
	}
	res := b.ReserveN(now, 1)
	if wait := res.DelayFrom(now); wait > 0 {
		res.CancelAt(now)
		return wait, false
	}
	return 0, true
}

// sweep forgets, once every sweepEvery, the buckets that are full again. A full bucket
// is what a new one would be, so forgetting it changes no answer.
func (l *rateLimits) sweep(now time.Time) {
	if now.Sub(l.swept) < sweepEvery {
		return
	}
	l.swept = now
	for id, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, id)
		}
	}
}

// limit spends one request of key's budget, if requests are limited. Over the limit it
// returns ETOOMANY, with the wait the client is told in Retry-After.
func (s *Server) limit(key *erasured.Key) error {
	if s.limits == nil {
		return nil
	}
	wait, ok := s.limits.take(key.ID, time.Now())
	if ok {
		return nil
	}
	after := retryAfter{after: wait}
	after.err = erasured.Errorf(erasured.ETOOMANY, "this API key may send %g requests per second, in bursts of up to %d; retry in %d s",
		float64(s.limits.limit), s.limits.burst, after.seconds())
	return &after
}

// retryAfter is a refusal that the client may send again after a while.
type retryAfter struct {
	err   error
	after time.Duration
}

func (e *retryAfter) Error() string { return e.err.Error() }
func (e *retryAfter) Unwrap() error { return e.err }

// seconds is the wait as Retry-After gives it: whole seconds, rounded up, at least 1.
func (e *retryAfter) seconds() int { return max(1, int(math.Ceil(e.after.Seconds()))) }

// retryAfterSeconds is the Retry-After, in seconds, that err asks for; 0 for none.
func retryAfterSeconds(err error) int {
	var later *retryAfter
	if errors.As(err, &later) {
		return later.seconds()
	}
	return 0
}
