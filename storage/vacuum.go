package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// On PostgreSQL an UPDATE or DELETE leaves the old row version where it was, and its
// index entries too: what an erasure or a deletion removed from requests is still in the
// table's files until a vacuum reclaims the dead versions. Autovacuum would get there,
// but nobody can say when (and operators switch it off), so storage does it itself,
// through Vacuum, at most once per interval, one process at a time.
//
// A vacuum frees the dead versions' space but does not clear it: a btree page keeps the
// bytes of index entries it deleted, and a heap or TOAST page keeps the bytes of a
// reclaimed version until live rows are moved or written over them. The index that holds
// a personal value (requested_by) is therefore rebuilt, concurrently, on every vacuum; a
// rebuilt index is written afresh and its old file is emptied when the rebuild commits.
// Only a rewrite clears a heap page's free space, and every rewrite in PostgreSQL itself
// (VACUUM FULL, CLUSTER) locks out writers for as long as it runs, so storage does not.

// vacuumed is the table that erasures and deletions mark for Vacuum. The same
// transactions take the personal data out of the personal data logs, so each vacuum
// takes them out of the pages of both: vacuumedIndexes are the tables it vacuums, each
// with its index that holds a personal value. All are identifiers written into
// statements, so they are constants, never input.
const vacuumed = "requests"

var vacuumedIndexes = [...]struct{ table, index string }{
	{vacuumed, "requests_requested_by"},
	{"personal_data_logs", "personal_data_logs_subject"},
}

// vacuumLock is the first key of the session advisory lock that one process holds while
// it vacuums a table; the table's oid is the second, so vacuums of different tables (or
// of the same table in different schemas) never wait for each other.
const vacuumLock = 728354469

// VacuumOutcome is what one call of Vacuum did.
type VacuumOutcome int

const (
	// VacuumIdle: nothing was to be done yet, because nothing was erased or deleted
	// since the last vacuum, or the last one started less than an interval ago, or
	// another process is vacuuming now.
	VacuumIdle VacuumOutcome = iota
	// VacuumWaiting: a vacuum is due, but a transaction that may still see the removed
	// rows is open (Vacuum's Blocker names it); vacuuming now could not remove them.
	VacuumWaiting
	// VacuumDone: the table was vacuumed and its index rebuilt.
	VacuumDone
)

// VacuumReport says what one call of Vacuum did, for the log.
type VacuumReport struct {
	Outcome VacuumOutcome
	// Blocker names what a waiting vacuum waits for: a backend's pid, a replication
	// slot or a prepared transaction.
	Blocker string
	// BlockerSince is when the blocking transaction started, when PostgreSQL says.
	BlockerSince *time.Time
	// Took is how long the vacuum and the rebuild took.
	Took time.Duration
}

// markVacuumDue records, in tx, that the transaction removes personal data from
// requests, so that the next Vacuum takes it away. Only the first change after a vacuum
// writes the row; the rest find it marked and write nothing, so concurrent erasures do
// not queue on it.
func (db *DB) markVacuumDue(ctx context.Context, tx *sqlx.Tx, now time.Time) error {
	if db.dialect != postgres {
		return nil
	}
	if _, err := db.exec(ctx, tx, db.sb.Update("vacuums").Set("due_since", db.timeArg(now)).
		Where(sq.Eq{"relation": vacuumed, "due_since": nil})); err != nil {
		return fmt.Errorf("mark %s for vacuum: %w", vacuumed, err)
	}
	return nil
}

// Vacuum takes what erasures and deletions removed from requests, and from their
// personal data logs, out of the heap, TOAST and index pages of both, when they have
// removed anything since the last vacuum and the last vacuum started at least every
// ago: it runs VACUUM on each table (which vacuums its TOAST table too) and REINDEX
// INDEX CONCURRENTLY on requests_requested_by and personal_data_logs_subject. Neither
// blocks reads or writes of the tables. On SQLite it does nothing: the file is scrubbed
// as each erasure or deletion commits.
//
// One process at a time vacuums a table: it holds the session advisory lock whose keys
// are 728354469 and the table's oid; the others return VacuumIdle at once. A vacuum
// waits (VacuumWaiting, with the blocker) while any transaction, replication slot or
// prepared transaction that may still see a removed row is open, since VACUUM must keep
// what such a transaction may read; it is retried by the next call. A vacuum cut short
// (ctx ends, the process dies) is resumed by the next call in any process.
//
// To see other roles' transactions, the role needs pg_read_all_stats; without it, their
// transactions are not waited for, and a vacuum may leave what they could still see
// until the vacuum after the next erasure or deletion.
func (db *DB) Vacuum(ctx context.Context, every time.Duration) (VacuumReport, error) {
	if db.dialect != postgres {
		return VacuumReport{}, nil
	}
	conn, err := db.db.Connx(ctx)
	if err != nil {
		return VacuumReport{}, fmt.Errorf("vacuum %s: %w", vacuumed, db.wrap(err))
	}
	var locked bool
	err = conn.GetContext(ctx, &locked, `SELECT pg_try_advisory_lock($1, $2::regclass::oid::int)`, vacuumLock, vacuumed)
	if err != nil || !locked {
		conn.Close()
		if err != nil {
			return VacuumReport{}, fmt.Errorf("vacuum %s: lock: %w", vacuumed, db.wrap(err))
		}
		return VacuumReport{}, nil
	}
	defer db.unlockVacuum(conn)
	report, err := db.vacuum(ctx, conn, every)
	if err != nil {
		return VacuumReport{}, fmt.Errorf("vacuum %s: %w", vacuumed, db.wrap(err))
	}
	return report, nil
}

// unlockVacuum releases the advisory lock and gives conn back to the pool. A connection
// that may still hold the lock is closed rather than pooled, so the lock goes with it.
func (db *DB) unlockVacuum(conn *sqlx.Conn) {
	// Not the vacuum's context, which may have ended: the lock must go all the same.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var unlocked bool
	err := conn.GetContext(ctx, &unlocked, `SELECT pg_advisory_unlock($1, $2::regclass::oid::int)`, vacuumLock, vacuumed)
	if err != nil || !unlocked {
		_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	}
	conn.Close()
}

// vacuumHorizonSQL finds the oldest of what keeps VACUUM from removing the changes of
// a vacuum under way ($1 the table): a backend of this database (or a physical
// replica's feedback, which has no database) whose snapshot or transaction is older than
// the vacuum's horizon, a replication slot's xmin, or a prepared transaction. No row:
// VACUUM can remove them all.
const vacuumHorizonSQL = `SELECT h.who, h.since FROM vacuums v, LATERAL (
		SELECT 'backend ' || pid AS who, xact_start AS since,
			greatest(age(backend_xmin), age(backend_xid)) AS age
		FROM pg_stat_activity
		WHERE pid <> pg_backend_pid() AND (datname = current_database() OR datid IS NULL)
		UNION ALL
		SELECT 'replication slot ' || slot_name, NULL, age(xmin) FROM pg_replication_slots
		UNION ALL
		SELECT 'prepared transaction ' || gid, prepared, age(transaction)
		FROM pg_prepared_xacts WHERE database = current_database()
	) h
	WHERE v.relation = $1 AND h.age > age(xid(v.horizon))
	ORDER BY h.age DESC LIMIT 1`

func (db *DB) vacuum(ctx context.Context, conn *sqlx.Conn, every time.Duration) (VacuumReport, error) {
	started, err := db.startVacuum(ctx, every)
	if err != nil || !started {
		return VacuumReport{}, err
	}
	var blocker struct {
		Who   string       `db:"who"`
		Since sql.NullTime `db:"since"`
	}
	err = conn.GetContext(ctx, &blocker, vacuumHorizonSQL, vacuumed)
	if err == nil {
		r := VacuumReport{Outcome: VacuumWaiting, Blocker: blocker.Who}
		if blocker.Since.Valid {
			r.BlockerSince = &blocker.Since.Time
		}
		return r, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return VacuumReport{}, fmt.Errorf("horizon: %w", err)
	}
	t0 := time.Now()
	// Plain VACUUM takes a lock that only other vacuums and schema changes conflict
	// with. Its index clean-up is left to VACUUM's own judgement: the one index of each
	// table that held a personal value is rebuilt below, and the others hold none.
	for _, v := range vacuumedIndexes {
		if _, err := conn.ExecContext(ctx, "VACUUM "+v.table); err != nil {
			return VacuumReport{}, err
		}
	}
	for _, v := range vacuumedIndexes {
		if err := dropAbandonedIndexes(ctx, conn, v.table, v.index); err != nil {
			return VacuumReport{}, err
		}
		// CONCURRENTLY builds the new index beside the old one while writes go on, and
		// cannot run in a transaction block: conn is in autocommit.
		if _, err := conn.ExecContext(ctx, "REINDEX INDEX CONCURRENTLY "+v.index); err != nil {
			return VacuumReport{}, err
		}
	}
	took := time.Since(t0)
	if _, err := conn.ExecContext(ctx, `UPDATE vacuums SET horizon = NULL WHERE relation = $1`, vacuumed); err != nil {
		return VacuumReport{}, fmt.Errorf("record the vacuum: %w", err)
	}
	return VacuumReport{Outcome: VacuumDone, Took: took}, nil
}

// vacuumStateSQL reads whether a vacuum of table $1 is under way, and whether one is
// due: a change is marked and the last vacuum started at least $2 seconds ago.
const vacuumStateSQL = `SELECT horizon IS NOT NULL AS under_way,
		due_since IS NOT NULL AND (started_at IS NULL OR started_at <= now() - make_interval(secs => $2)) AS due
	FROM vacuums WHERE relation = $1`

type vacuumState struct {
	UnderWay bool `db:"under_way"`
	Due      bool `db:"due"`
}

// startVacuum reports whether a vacuum is under way, starting one if one is due.
// Starting sets the vacuum's horizon, the next transaction id to be assigned, and clears
// the mark, in one transaction that first locks the row. Any change whose mark found the
// row marked before that lock has a smaller transaction id, and so is this vacuum's; any
// later mark waits for the lock and then marks the row for the next vacuum.
func (db *DB) startVacuum(ctx context.Context, every time.Duration) (bool, error) {
	// Read first without the lock, which writes to the row: most polls find nothing due.
	var state vacuumState
	if err := db.db.GetContext(ctx, &state, vacuumStateSQL, vacuumed, every.Seconds()); err != nil {
		return false, fmt.Errorf("start: %w", db.wrap(err))
	}
	if state.UnderWay || !state.Due {
		return state.UnderWay, nil
	}
	var started bool
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := tx.GetContext(ctx, &state, vacuumStateSQL+" FOR UPDATE", vacuumed, every.Seconds()); err != nil {
			return db.wrap(err)
		}
		if state.UnderWay || !state.Due {
			started = state.UnderWay
			return nil
		}
		// A statement of its own: in READ COMMITTED it takes its snapshot, and so the
		// horizon, after the lock above was granted.
		if _, err := tx.ExecContext(ctx, `UPDATE vacuums SET due_since = NULL, started_at = now(),
				horizon = pg_snapshot_xmax(pg_current_snapshot()) WHERE relation = $1`, vacuumed); err != nil {
			return db.wrap(err)
		}
		started = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("start: %w", err)
	}
	return started, nil
}

// dropAbandonedIndexes drops what a rebuild that was cut short left behind: REINDEX
// CONCURRENTLY that fails or is cancelled (the process stopped) leaves an invalid copy of
// the index, named after it with _ccnew or _ccold, which every write would go on
// maintaining and the next rebuild would not reuse. Their names come from the catalog and
// are quoted.
func dropAbandonedIndexes(ctx context.Context, conn *sqlx.Conn, table, index string) error {
	var names []string
	if err := conn.SelectContext(ctx, &names, `SELECT c.relname FROM pg_index i
		JOIN pg_class c ON c.oid = i.indexrelid
		WHERE i.indrelid = $1::regclass AND NOT i.indisvalid AND left(c.relname, length($2) + 3) = $2 || '_cc'`,
		table, index); err != nil {
		return fmt.Errorf("find abandoned rebuilds: %w", err)
	}
	for _, name := range names {
		if _, err := conn.ExecContext(ctx, "DROP INDEX CONCURRENTLY "+pq.QuoteIdentifier(name)); err != nil {
			return fmt.Errorf("drop abandoned rebuild %s: %w", name, err)
		}
	}
	return nil
}
