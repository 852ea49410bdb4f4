package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured"
)

// Claim is a piece of background work that a worker holds a lease on.
type Claim struct {
	StoreID, ID string
}

// erasureWork is the condition of the requests whose in-store erasure is still to do:
// the predicate of the index erasure_requests_open, written as it is there so that the
// planner can use the index. A request cancelled before its erasure is left alone.
var erasureWork = sq.Expr("requests_erased_at IS NULL AND status <> 'cancelled'")

// ClaimErasure leases to the caller, until now+lease, the oldest erasure request whose
// in-store erasure (EraseHeldData) is still to do and that nobody holds a live lease on.
// It returns nil and no error when there is none.
//
// The claim is one statement, so two workers never claim the same request at once; on
// PostgreSQL SKIP LOCKED lets them pass each other instead of queueing on one row. A
// worker that dies keeps its claim only until the lease runs out; then the request is
// claimed again. The claim reads only the request's ids, which are always readable, so
// that a request whose other values cannot be read (ErrUnreadable, from EraseHeldData)
// costs its own lease and never the claims of the others.
//
// What makes a request claimable is its in-store erasure being undone, not its status:
// a request that waits only for other services to report is never claimed, and one that
// a client completed before this server did its part still is.
func (db *DB) ClaimErasure(ctx context.Context, lease time.Duration, now time.Time) (*Claim, error) {
	var c struct {
		StoreID string `db:"store_id"`
		ID      string `db:"id"`
	}
	err := db.claim(ctx, "erasure_requests", erasureWork, []string{"created_at", "id"}, lease, now, []string{"store_id", "id"}, &c)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim erasure request: %w", err)
	}
	return &Claim{StoreID: c.StoreID, ID: c.ID}, nil
}

// EraseHeldData does this server's part of erasure request erasureID of store storeID,
// in one transaction: it erases the personal data set of the request's subject, the
// person whose set its resource belongs to (its resource_id, or, for resource_type
// requests, that request's requested_by). That is the personal attributes (those
// erasured.Requests declares Personal) of every Open Notes request of the store whose
// requested_by is the subject, and every value of their personal data logs; each
// erased request gets a log entry of its erasure, by the erasure request's initiator.
// It records that (erasured.ErasureRequest.ErasedHere: pending moves to in_progress, the
// service erasured.ServiceRequests is erased). When nobody else is to report (see
// WithErasureServices) the request completes too (Settle). It returns the request as it
// now is and how many Open Notes requests it erased.
//
// A crash part-way leaves nothing behind: the transaction rolls back, the claim's lease
// runs out and another worker does it all again. It is safe to call twice: when the
// work is already done (a worker whose lease ran out was overtaken) it changes nothing
// and returns 0. It returns ENOTFOUND when the store has no such request.
func (db *DB) EraseHeldData(ctx context.Context, storeID, erasureID string) (*erasured.ErasureRequest, int64, error) {
	var (
		r      *erasured.ErasureRequest
		erased int64
	)
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var (
			doneAt *time.Time
			err    error
		)
		r, doneAt, err = db.lockErasure(ctx, tx, storeID, erasureID)
		if err != nil || doneAt != nil || r.Status == erasured.StatusCancelled {
			// Done already, or withdrawn while it was being claimed: nothing to erase.
			return err
		}
		now := erasured.Now()
		subject, err := db.subjectOf(ctx, tx, r)
		if err != nil {
			return err
		}
		if subject != nil {
			if erased, err = db.eraseSet(ctx, tx, r, *subject, now); err != nil {
				return err
			}
		}
		was := r.Status
		events := []*erasured.Event{r.ErasedHere(now)}
		if done := r.Settle(r.Required(db.erasureServices), now); done != nil {
			events = append(events, done)
		}
		if err := db.record(ctx, tx, r, was, events, map[string]any{"requests_erased_at": db.timeArg(now), "claimed_until": nil}, now, ""); err != nil {
			return err
		}
		if erased == 0 {
			return nil
		}
		return db.markVacuumDue(ctx, tx, now)
	})
	if err != nil {
		return nil, 0, fmt.Errorf("erase held data for erasure request %s: %w", erasureID, err)
	}
	if erased > 0 {
		db.scrub(ctx)
	}
	return r, erased, nil
}

// subjectOf is the person whose personal data set r asks to erase: its resource_id, or
// the requested_by of the request it names. Nil when that request is not held, or its
// person was erased already: nothing of theirs is left here.
func (db *DB) subjectOf(ctx context.Context, tx sqlx.QueryerContext, r *erasured.ErasureRequest) (*string, error) {
	if r.ResourceType != erasured.ResourceRequests {
		return &r.ResourceID, nil
	}
	var by sql.NullString
	err := db.getRow(ctx, tx, &by, db.sb.Select("requested_by").From("requests").
		Where(sq.Eq{"store_id": r.StoreID, "request_id": r.ResourceID}))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("subject of the erasure: %w", err)
	}
	return nullString(by), nil
}

// eraseSet erases, in tx, the personal attributes of subject's requests in r's store and
// the values of their logs, logs each erasure, and returns how many requests it erased.
func (db *DB) eraseSet(ctx context.Context, tx *sqlx.Tx, r *erasured.ErasureRequest, subject string, now time.Time) (int64, error) {
	set := map[string]any{
		"erased_at":  db.timeArg(now),
		"updated_at": db.timeArg(now),
		// The representation changed, so its ETag must too.
		"version": sq.Expr("version + 1"),
	}
	for _, a := range erasured.Requests.Attributes() {
		if a.Can(erasured.Personal) {
			set[a.Column] = nil
		}
	}
	var ids []string
	if err := db.selectRows(ctx, tx, &ids, db.sb.Update("requests").SetMap(set).
		Where(sq.Eq{"store_id": r.StoreID, "requested_by": subject}).Suffix("RETURNING request_id")); err != nil {
		return 0, fmt.Errorf("erase requests: %w", err)
	}
	if err := db.eraseLogs(ctx, tx, sq.Eq{"store_id": r.StoreID, "subject": subject}); err != nil {
		return 0, err
	}
	entries := make([]*erasured.LogEntry, len(ids))
	for i, id := range ids {
		entries[i] = erasured.RequestLog(&erasured.Request{StoreID: r.StoreID, RequestID: id}, erasured.RequestErased, r.Initiator, now)
	}
	return int64(len(ids)), db.insertLogs(ctx, tx, entries...)
}
