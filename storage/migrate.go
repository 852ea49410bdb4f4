package storage

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured"
)

type migration struct {
	version int
	name    string
	sql     string
}

// parseMigrations splits a schema file at its "-- migration: N name" lines.
func parseMigrations(schema string) ([]migration, error) {
	var (
		ms  []migration
		cur *migration
	)
	for line := range strings.Lines(schema) {
		if rest, ok := strings.CutPrefix(line, "-- migration:"); ok {
			num, name, _ := strings.Cut(strings.TrimSpace(rest), " ")
			v, err := strconv.Atoi(num)
			if err != nil || v != len(ms)+1 {
				return nil, fmt.Errorf("migration line %q: versions must count up from 1", strings.TrimSpace(line))
			}
			ms = append(ms, migration{version: v, name: name})
			cur = &ms[len(ms)-1]
			continue
		}
		if cur != nil {
			cur.sql += line
		}
	}
	return ms, nil
}

// migrate applies the versions the database has not recorded, all in one transaction.
// On PostgreSQL an advisory lock makes processes that start together take turns; the
// SQLite transaction holds the write lock from its start.
func (db *DB) migrate(ctx context.Context) error {
	schema := erasured.PostgresSchema
	if db.dialect == sqlite {
		schema = erasured.SQLiteSchema
	}
	ms, err := parseMigrations(schema)
	if err != nil {
		return err
	}
	apply := func(tx *sqlx.Tx) error {
		if db.dialect == postgres {
			if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(7283544690)`); err != nil {
				return db.wrap(fmt.Errorf("migrate: lock: %w", err))
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL)`); err != nil {
			return db.wrap(fmt.Errorf("migrate: %w", err))
		}
		var applied []int
		if err := tx.SelectContext(ctx, &applied, `SELECT version FROM schema_migrations`); err != nil {
			return db.wrap(fmt.Errorf("migrate: %w", err))
		}
		done := make(map[int]bool, len(applied))
		for _, v := range applied {
			done[v] = true
		}
		for _, m := range ms {
			if done[m.version] {
				continue
			}
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return db.wrap(fmt.Errorf("migrate: version %d (%s): %w", m.version, m.name, err))
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO schema_migrations (version, name) VALUES (?, ?)`), m.version, m.name); err != nil {
				return db.wrap(fmt.Errorf("migrate: record version %d: %w", m.version, err))
			}
		}
		return nil
	}
	if db.dialect == sqlite {
		return db.migrateSQLite(ctx, apply)
	}
	return db.inTx(ctx, apply)
}

// migrateSQLite runs apply in a transaction with foreign keys off, which SQLite's own
// procedure for the schema changes ALTER TABLE cannot make asks for: a version may
// rebuild a table that others reference (to change a CHECK constraint, say), and with
// foreign keys on, dropping the old table would delete through them. The keys are
// checked before the transaction commits, and are on again before the connection goes
// back to the pool; the pragma has no effect inside a transaction, so it is set around
// it, on one connection.
func (db *DB) migrateSQLite(ctx context.Context, apply func(tx *sqlx.Tx) error) (err error) {
	conn, err := db.db.Connx(ctx)
	if err != nil {
		return db.wrap(fmt.Errorf("migrate: %w", err))
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return db.wrap(fmt.Errorf("migrate: %w", err))
	}
	defer func() {
		if _, onErr := conn.ExecContext(context.WithoutCancel(ctx), "PRAGMA foreign_keys = ON"); onErr != nil && err == nil {
			err = fmt.Errorf("migrate: foreign keys back on: %w", onErr)
		}
	}()
	tx, err := conn.BeginTxx(ctx, nil)
	if err != nil {
		return db.wrap(fmt.Errorf("migrate: %w", err))
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := apply(tx); err != nil {
		return err
	}
	var broken []struct {
		Table  string        `db:"table"`
		RowID  sql.NullInt64 `db:"rowid"`
		Parent string        `db:"parent"`
		FKID   int64         `db:"fkid"`
	}
	if err := tx.SelectContext(ctx, &broken, "PRAGMA foreign_key_check"); err != nil {
		return db.wrap(fmt.Errorf("migrate: foreign key check: %w", err))
	}
	if len(broken) > 0 {
		return fmt.Errorf("migrate: %d rows of %s refer to no row of %s", len(broken), broken[0].Table, broken[0].Parent)
	}
	return db.wrap(tx.Commit())
}
