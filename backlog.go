package erasured

import "time"

// Backlog is the background work not yet done, across every store: what an operator
// watches to see that the workers keep up.
type Backlog struct {
	// Erasures are the erasure requests whose erasure of what this server holds is still
	// to do, whatever their status (a request that only waits for other services to
	// report is not in it).
	Erasures Queue
	// Deletions are the pending deletions of requests.
	Deletions Queue
}

// Queue is one kind of background work waiting to be done.
type Queue struct {
	Pending int64
	// Oldest is when the oldest waiting job was created; zero when none waits.
	Oldest time.Time
}

// Age is how long the oldest waiting job has waited at now: zero when none waits, and
// never negative, so a clock that differs between processes cannot make it so.
func (q Queue) Age(now time.Time) time.Duration {
	if q.Pending == 0 || q.Oldest.IsZero() {
		return 0
	}
	return max(now.Sub(q.Oldest), 0)
}
