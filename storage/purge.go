package storage

import (
	"context"
	"fmt"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/erasured/erasured"
)

// purgeChore is the row of chores through which processes agree on who purges logs.
const purgeChore = "purge_logs"

// PurgeReport says what one call of PurgeLogs did.
type PurgeReport struct {
	// Claimed is false when another process holds the purge, or the last one started
	// less than an interval ago: nothing was done.
	Claimed bool
	// Deleted is how many log entries went, in Batches statements.
	Deleted, Batches int64
}

// PurgeLogs deletes the personal data log entries that are older than their store's
// time to live (erasured.DefaultLogsTTL days for a store that set none) at now, when no
// other process is purging and the last purge started at least every ago; processes
// agree through the database (a lease on the row purge_logs of chores, renewed as the
// purge goes), so that one purges at a time however many there are.
//
// It deletes batch entries per statement, each statement its own transaction, oldest
// first, so that writers of the logs wait for one batch at most (on SQLite, whose one
// writer is then the purge; on PostgreSQL they do not wait at all: the rows a batch
// deletes are old, and nobody writes them). A purge cut short (ctx ends, the process
// dies) is taken up by the next once its lease has run out.
func (db *DB) PurgeLogs(ctx context.Context, now time.Time, every, lease time.Duration, batch int) (PurgeReport, error) {
	var r PurgeReport
	claimed, err := db.exec(ctx, db.db, db.sb.Update("chores").
		Set("claimed_until", db.timeArg(now.Add(lease))).Set("started_at", db.timeArg(now)).
		Where(sq.Eq{"name": purgeChore}).
		Where(sq.Or{sq.Eq{"claimed_until": nil}, sq.Lt{"claimed_until": db.timeArg(now)}}).
		Where(sq.Or{sq.Eq{"started_at": nil}, sq.LtOrEq{"started_at": db.timeArg(now.Add(-every))}}))
	if err != nil || claimed == 0 {
		return r, db.purgeErr(err)
	}
	r.Claimed = true
	var stores []struct {
		StoreID string `db:"store_id"`
		Days    int64  `db:"days"`
	}
	if err := db.selectRows(ctx, db.db, &stores, db.sb.Select("store_id", "days").From("logs_ttl")); err != nil {
		return r, db.purgeErr(err)
	}
	// Each store that set its own time to live, along its (store_id, time) index; then
	// every other store at the default, along the index on time.
	for _, s := range stores {
		ttl := erasured.TimeToLive{StoreID: s.StoreID, Days: s.Days}
		if err := db.purge(ctx, &r, sq.Eq{"store_id": s.StoreID}, ttl.Cutoff(now), lease, batch); err != nil {
			return r, db.purgeErr(err)
		}
	}
	others := sq.Expr("store_id NOT IN (SELECT store_id FROM logs_ttl)")
	def := erasured.TimeToLive{Days: erasured.DefaultLogsTTL}
	if err := db.purge(ctx, &r, others, def.Cutoff(now), lease, batch); err != nil {
		return r, db.purgeErr(err)
	}
	_, err = db.exec(ctx, db.db, db.sb.Update("chores").Set("claimed_until", nil).Where(sq.Eq{"name": purgeChore}))
	return r, db.purgeErr(err)
}

// purge deletes the entries that where selects and that are older than cutoff, batch
// at a time, renewing the purge's lease after each batch.
func (db *DB) purge(ctx context.Context, r *PurgeReport, where sq.Sqlizer, cutoff time.Time, lease time.Duration, batch int) error {
	for {
		// The inner SELECT keeps "?" placeholders; the outer DELETE numbers them all.
		oldest := sq.Select("id").From("personal_data_logs").Where(where).
			Where(sq.Lt{"time": db.timeArg(cutoff)}).OrderBy("time").Limit(uint64(batch))
		n, err := db.exec(ctx, db.db, db.sb.Delete("personal_data_logs").Where(sq.Expr("id IN (?)", oldest)))
		if err != nil {
			return err
		}
		r.Deleted += n
		r.Batches++
		if n < int64(batch) {
			return nil
		}
		if _, err := db.exec(ctx, db.db, db.sb.Update("chores").
			Set("claimed_until", db.timeArg(erasured.Now().Add(lease))).Where(sq.Eq{"name": purgeChore})); err != nil {
			return err
		}
	}
}

func (db *DB) purgeErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("purge personal data logs: %w", err)
}
