package erasured_test

import (
	"testing"
	"time"

	"github.com/erasured/erasured"
)

func TestQueueAge(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		q    erasured.Queue
		want time.Duration
	}{
		{"empty", erasured.Queue{}, 0},
		{"waiting", erasured.Queue{Pending: 3, Oldest: now.Add(-90 * time.Second)}, 90 * time.Second},
		{"created after now, by another process's clock", erasured.Queue{Pending: 1, Oldest: now.Add(time.Second)}, 0},
	} {
		if got := tc.q.Age(now); got != tc.want {
			t.Errorf("%s: age %v, want %v", tc.name, got, tc.want)
		}
	}
}
