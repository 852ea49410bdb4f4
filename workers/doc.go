// Package workers runs erasured's background work: each worker claims a piece of work
// through storage, with a lease, does it with the same storage methods the HTTP handlers
// use, and records the outcome there.
//
// Workers hold no state that another process would need, so any number of server
// processes can run them side by side on one PostgreSQL database; a claim whose process
// died is taken up again once its lease runs out. A worker's Run polls until its context
// ends, backs off while the database is unavailable, and never panics.
//
// The package knows nothing of HTTP and writes no SQL.
package workers
