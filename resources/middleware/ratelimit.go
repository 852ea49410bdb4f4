package middleware

import (
	"fmt"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// sweepEvery is how often the rate limiter looks for buckets it can forget.
const sweepEvery = time.Minute

// RateLimits is a token bucket per API key (--rate-limit, --rate-burst).
//
// Buckets live in this process: with several processes behind a load balancer a key may
// send up to that many times its rate. Sharing them through the database would cost a
// write on every request, the very load the limit is there to shed.
//
// The map is keyed by the ids of keys that authenticated, so it never holds more
// entries than there are keys, and a bucket is forgotten once it has refilled, so it
// holds only the keys active lately.
type RateLimits struct {
	limit rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
	swept   time.Time
}

// NewRateLimits returns limits of perSecond requests per key, in bursts of up to burst;
// a burst of 0 means twice the rate, at least 1. It returns nil, no limits, when
// perSecond is 0.
func NewRateLimits(perSecond float64, burst int) *RateLimits {
	if perSecond <= 0 {
		return nil
	}
	if burst <= 0 {
		// Bounded so that an absurd rate cannot overflow int.
		burst = int(max(1, min(math.Ceil(2*perSecond), math.MaxInt32)))
	}
	return &RateLimits{limit: rate.Limit(perSecond), burst: burst, buckets: map[string]*rate.Limiter{}}
}

// Take spends one request of key keyID's budget at now. When the budget is spent it
// spends nothing and returns false and how long until the next request is allowed.
func (l *RateLimits) Take(keyID string, now time.Time) (time.Duration, bool) {
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

// Describe says what the limits allow, for a client that is refused.
func (l *RateLimits) Describe() string {
	return fmt.Sprintf("%g requests per second, in bursts of up to %d", float64(l.limit), l.burst)
}

// sweep forgets, once every sweepEvery, the buckets that are full again. A full bucket
// is what a new one would be, so forgetting it changes no answer.
func (l *RateLimits) sweep(now time.Time) {
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
