package storage

import (
	"context"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"
)

// claim leases to the caller, until now+lease, the first row of table that matches
// where and has no live lease, in order, and scans it (columns) into dest. It returns
// sql.ErrNoRows when there is none. On PostgreSQL the row is picked FOR UPDATE SKIP
// LOCKED, so workers in any number of processes skip what another is claiming instead
// of queueing behind it; SQLite has one writer, so its UPDATE is atomic as it stands.
func (db *DB) claim(ctx context.Context, table string, where sq.Sqlizer, order []string, lease time.Duration, now time.Time, columns []string, dest any) error {
	// A plain builder, not db.sb: the inner SELECT keeps "?" placeholders and the
	// outer UPDATE numbers them all for PostgreSQL at once.
	next := sq.Select("id").From(table).
		Where(where).
		Where(sq.Or{sq.Eq{"claimed_until": nil}, sq.Lt{"claimed_until": db.timeArg(now)}}).
		OrderBy(order...).
		Limit(1)
	if db.dialect == postgres {
		next = next.Suffix("FOR UPDATE SKIP LOCKED")
	}
	return db.getRow(ctx, db.db, dest, db.sb.Update(table).
		Set("claimed_until", db.timeArg(now.Add(lease))).
		Where(sq.Expr("id = (?)", next)).
		Suffix("RETURNING "+strings.Join(columns, ", ")))
}
