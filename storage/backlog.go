package storage

import (
	"context"
	"fmt"

	sq "github.com/Masterminds/squirrel"

	"github.com/erasured/erasured"
)

// Backlog counts, across every store, the background work still to do and when the
// oldest of each kind was created: erasure requests whose in-store erasure is undone
// (what ClaimErasure takes from) and pending deletions (what ClaimDeletion takes from).
// Both queries are answered from the partial indexes the claims use. It returns
// EUNAVAILABLE when the database cannot be reached.
func (db *DB) Backlog(ctx context.Context) (erasured.Backlog, error) {
	var (
		b   erasured.Backlog
		err error
	)
	b.Erasures, err = db.queue(ctx, "erasure_requests", erasureWork)
	if err != nil {
		return erasured.Backlog{}, fmt.Errorf("backlog of erasures: %w", err)
	}
	b.Deletions, err = db.queue(ctx, "deletions", sq.Eq{"status": erasured.DeletionPending})
	if err != nil {
		return erasured.Backlog{}, fmt.Errorf("backlog of deletions: %w", err)
	}
	return b, nil
}

// queue counts the rows of table that match waiting, and finds the oldest one's created_at.
func (db *DB) queue(ctx context.Context, table string, waiting sq.Sqlizer) (erasured.Queue, error) {
	var row struct {
		Pending int64          `db:"pending"`
		Oldest  nullTimeColumn `db:"oldest"`
	}
	if err := db.getRow(ctx, db.db, &row, db.sb.Select("COUNT(*) AS pending", "MIN(created_at) AS oldest").
		From(table).Where(waiting)); err != nil {
		return erasured.Queue{}, err
	}
	q := erasured.Queue{Pending: row.Pending}
	if row.Oldest.Time != nil {
		q.Oldest = *row.Oldest.Time
	}
	return q, nil
}
