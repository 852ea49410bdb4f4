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

var deletionColumns = []string{"id", "store_id", "request_id", "status", "message", "created_at", "updated_at", "initiator"}

type deletionRow struct {
	ID        int64                          `db:"id"`
	StoreID   string                         `db:"store_id"`
	RequestID string                         `db:"request_id"`
	Status    string                         `db:"status"`
	Message   string                         `db:"message"`
	CreatedAt timeColumn                     `db:"created_at"`
	UpdatedAt timeColumn                     `db:"updated_at"`
	Initiator jsonColumn[erasured.Initiator] `db:"initiator"` // NULL before version 3: the zero Initiator
}

func (r *deletionRow) deletion() *erasured.Deletion {
	return &erasured.Deletion{
		ID:        r.ID,
		StoreID:   r.StoreID,
		RequestID: r.RequestID,
		Status:    r.Status,
		Message:   r.Message,
		CreatedAt: r.CreatedAt.Time,
		UpdatedAt: r.UpdatedAt.Time,
		Initiator: r.Initiator.V,
	}
}

// RequestDeletion asks, on behalf of by, for request requestID of store storeID to be
// deleted in the background and returns the pending deletion: the one already pending for the request,
// if any, else a new one. It returns ENOTFOUND or EGONE as Request does.
//
// It locks the request's row, as PerformDeletion's DELETE does, so that concurrent calls
// take turns and the second returns the first one's deletion, and so that no pending
// deletion is added for a request that a worker has just deleted. The partial unique
// index deletions_one_pending is the same rule, kept by the database itself.
func (db *DB) RequestDeletion(ctx context.Context, storeID, requestID string, by erasured.Initiator) (*erasured.Deletion, error) {
	var d *erasured.Deletion
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := db.request(ctx, tx, storeID, requestID, true); err != nil {
			return err
		}
		var row deletionRow
		err := db.getRow(ctx, tx, &row, db.sb.Select(deletionColumns...).From("deletions").
			Where(sq.Eq{"store_id": storeID, "request_id": requestID, "status": erasured.DeletionPending}))
		if err == nil {
			d = row.deletion()
			return nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		d = erasured.NewDeletion(storeID, requestID, erasured.Now())
		d.Initiator = by
		return db.getRow(ctx, tx, &d.ID, db.sb.Insert("deletions").
			Columns("store_id", "request_id", "status", "message", "created_at", "updated_at", "initiator").
			Values(d.StoreID, d.RequestID, d.Status, d.Message, db.timeArg(d.CreatedAt), db.timeArg(d.UpdatedAt), jsonArg(d.Initiator)).
			Suffix("RETURNING id"))
	})
	if err != nil {
		return nil, fmt.Errorf("request deletion of %q: %w", requestID, err)
	}
	return d, nil
}

// Deletion returns deletion id of store storeID. It returns ENOTFOUND when there is
// none, including when it belongs to another store.
func (db *DB) Deletion(ctx context.Context, storeID string, id int64) (*erasured.Deletion, error) {
	var row deletionRow
	err := db.getRow(ctx, db.db, &row, db.sb.Select(deletionColumns...).From("deletions").
		Where(sq.Eq{"store_id": storeID, "id": id}))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, erasured.Errorf(erasured.ENOTFOUND, "no deletion %d", id)
	}
	if err != nil {
		return nil, fmt.Errorf("deletion %d: %w", id, err)
	}
	return row.deletion(), nil
}

// ClaimDeletion claims the oldest pending deletion that no worker holds, or whose
// worker's lease ran out before now (the worker died or stalled), for lease from now.
// It returns nil and no error when there is none. Claims are atomic: two workers, in one
// process or several, never hold one deletion at once.
func (db *DB) ClaimDeletion(ctx context.Context, lease time.Duration, now time.Time) (*erasured.Deletion, error) {
	var row deletionRow
	err := db.claim(ctx, "deletions", sq.Eq{"status": erasured.DeletionPending}, []string{"id"}, lease, now, deletionColumns, &row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("claim deletion: %w", err)
	}
	return row.deletion(), nil
}

// PerformDeletion deletes the request of d, a deletion claimed with ClaimDeletion, and
// records the outcome in d and in the database.
//
// The request's row goes, its personal data logs lose their values, its log entry (by
// the deletion's initiator) is written, and d turns SUCCESS, in one transaction. When that fails, it is
// rolled back, leaving the row as it was, and d turns FAILURE with the database's reason
// as its message; PerformDeletion then still returns nil, as the outcome is recorded.
//
// It returns an error, and leaves d PENDING for a later claim to retry once the lease
// runs out, when the database is unavailable or ctx ends. It returns ECONFLICT when d is
// no longer pending, because another worker finished it after d's lease ran out.
func (db *DB) PerformDeletion(ctx context.Context, d *erasured.Deletion) error {
	done := *d
	done.Succeed(erasured.Now())
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		n, err := db.exec(ctx, tx, db.sb.Delete("requests").
			Where(sq.Eq{"store_id": d.StoreID, "request_id": d.RequestID}))
		if err != nil {
			return fmt.Errorf("delete the request: %w", err)
		}
		if n > 0 {
			logs := sq.Eq{"store_id": d.StoreID, "resource_type": erasured.ResourceRequests, "resource_id": d.RequestID}
			if err := db.eraseLogs(ctx, tx, logs); err != nil {
				return err
			}
			r := &erasured.Request{StoreID: d.StoreID, RequestID: d.RequestID}
			if err := db.insertLogs(ctx, tx, erasured.RequestLog(r, erasured.RequestDeleted, d.Initiator, done.UpdatedAt)); err != nil {
				return err
			}
		}
		if err := db.finishDeletion(ctx, tx, &done); err != nil {
			return err
		}
		return db.markVacuumDue(ctx, tx, done.UpdatedAt)
	})
	if err == nil {
		*d = done
		db.scrub(ctx)
		return nil
	}
	if code := erasured.ErrorCode(err); code == erasured.ECONFLICT || code == erasured.EUNAVAILABLE || ctx.Err() != nil {
		return fmt.Errorf("perform deletion %d: %w", d.ID, err)
	}
	failed := *d
	failed.Fail(failureReason(err), erasured.Now())
	if ferr := db.finishDeletion(ctx, db.db, &failed); ferr != nil {
		return fmt.Errorf("perform deletion %d: %w; then recording the failure: %w", d.ID, err, ferr)
	}
	*d = failed
	return nil
}

// finishDeletion records d's outcome if d is still pending, and clears its claim.
func (db *DB) finishDeletion(ctx context.Context, e sqlx.ExecerContext, d *erasured.Deletion) error {
	n, err := db.exec(ctx, e, db.sb.Update("deletions").
		Set("status", d.Status).
		Set("message", d.Message).
		Set("updated_at", db.timeArg(d.UpdatedAt)).
		Set("claimed_until", nil).
		Where(sq.Eq{"id": d.ID, "status": erasured.DeletionPending}))
	if err != nil {
		return fmt.Errorf("record %s: %w", d.Status, err)
	}
	if n == 0 {
		return erasured.Errorf(erasured.ECONFLICT, "deletion %d is no longer pending", d.ID)
	}
	return nil
}

// failureReason is what a failed deletion tells the client: the step that failed and
// the database's account of why. It holds nothing personal: the statements bind only
// ids and the deletion's own fields, and lib/pq leaves out PostgreSQL's DETAIL, where
// row values go.
func failureReason(err error) string {
	return "The request could not be deleted: " + err.Error()
}
