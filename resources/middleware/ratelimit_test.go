package middleware

import (
	"testing"
	"time"
)

func TestRateLimitsBurstAndRefill(t *testing.T) {
	l := NewRateLimits(2, 0)
	if l.burst != 4 {
		t.Fatalf("default burst %d, want twice the rate", l.burst)
	}
	if NewRateLimits(0.1, 0).burst != 1 {
		t.Errorf("default burst of a slow rate is not 1")
	}
	if NewRateLimits(0, 5) != nil {
		t.Errorf("a rate of 0 limits")
	}
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 4 {
		if _, ok := l.Take("k", t0); !ok {
			t.Fatalf("request %d of a burst of 4 refused", i+1)
		}
	}
	wait, ok := l.Take("k", t0)
	if ok || wait != 500*time.Millisecond {
		t.Fatalf("fifth request: allowed %v, wait %v; want refused, 500ms", ok, wait)
	}
	// A refusal spends nothing: after the wait, exactly one more goes through.
	if _, ok := l.Take("k", t0.Add(wait)); !ok {
		t.Errorf("refused after the wait")
	}
	if _, ok := l.Take("k", t0.Add(wait)); ok {
		t.Errorf("two requests allowed after one token's wait")
	}
}

// The map forgets buckets that are full again, and only those: forgetting a bucket must
// not hand a busy key a fresh burst.
func TestRateLimitsForgetIdleKeys(t *testing.T) {
	l := NewRateLimits(1, 2)
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l.Take("idle", t0)
	l.Take("busy", t0)
	later := t0.Add(sweepEvery)
	l.Take("busy", later.Add(-time.Second))
	l.Take("busy", later.Add(-time.Second))
	l.Take("other", later) // sweeps
	if _, ok := l.buckets["idle"]; ok {
		t.Errorf("a refilled bucket is kept")
	}
	if _, ok := l.buckets["busy"]; !ok {
		t.Errorf("a bucket still refilling was forgotten")
	}
	if len(l.buckets) != 2 {
		t.Errorf("%d buckets, want busy and other", len(l.buckets))
	}
}
