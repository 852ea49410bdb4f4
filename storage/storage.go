// Package storage keeps erasured's records in SQL: PostgreSQL in production, an embedded
// SQLite file by default, both behind the one DB type. It owns every SQL statement, the
// transactions, the migrations and the workers' claim queries, and turns a filter AST,
// a sort and a page into one query with bound parameters.
//
// It never imports net/http: failures come back as *erasured.Error kinds (ENOTFOUND,
// ECONFLICT, EUNAVAILABLE, ...) wrapped with %w, and the HTTP layer maps those.
package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	_ "modernc.org/sqlite" // the embedded store: pure Go, no cgo

	"github.com/erasured/erasured"
)

// DB is a connection pool to one database, PostgreSQL or SQLite. It is safe for
// concurrent use by many goroutines and, on PostgreSQL, by many processes.
type DB struct {
	db      *sqlx.DB
	dialect dialect
	sb      sq.StatementBuilderType
	// erasureServices are the services besides this server that every erasure request
	// waits for before it completes (--erasure-services).
	erasureServices []string
	// onStatement, when set, sees every statement before it runs (WithStatementHook).
	onStatement func(query string, args []any)
	// est caches PostgreSQL's estimates of the stores' sizes, for list totals.
	est estimates
	// stmts are the statements prepared so far.
	stmts statements
	// shapes are the list queries built so far (see listSQL).
	shapes shapes
	// memos decode the JSON columns of requests read one by one.
	memos memos
}

// Option configures a DB as Open makes it.
type Option func(*DB)

// WithErasureServices names the other services that must each report success or failure
// before an erasure request completes by itself (--erasure-services). Without it a
// request completes as soon as this server has erased what it holds.
//
// It is a setting of the DB rather than an argument of each call because the handlers
// (UpdateErasureRequest) and the workers (EraseHeldData) must agree on it: one value,
// given once where the process is wired, serves both.
func WithErasureServices(services []string) Option {
	return func(db *DB) { db.erasureServices = slices.Clone(services) }
}

// WithStatementHook calls fn with the text and arguments of every statement that a DB
// method runs, before it runs, from the goroutine that runs it. It is how the benchmarks
// give pgbench exactly the SQL the server runs; fn must not keep args past its return
// unless it copies them.
func WithStatementHook(fn func(query string, args []any)) Option {
	return func(db *DB) { db.onStatement = fn }
}

type dialect int

const (
	postgres dialect = iota
	sqlite
)

// sqliteTime is how SQLite holds timestamps: fixed width and UTC, so text order is time order.
const sqliteTime = "2006-01-02T15:04:05.000000Z"

// Open connects to databaseURL, "postgres://..." (or "postgresql://...") or "sqlite:PATH",
// and brings the schema up to date. It returns EUNAVAILABLE when the database cannot be
// reached and EINVALID for a URL it does not understand or an option it cannot honour.
func Open(ctx context.Context, databaseURL string, opts ...Option) (*DB, error) {
	var (
		db  *DB
		err error
	)
	switch {
	case strings.HasPrefix(databaseURL, "postgres://"), strings.HasPrefix(databaseURL, "postgresql://"):
		db, err = openPostgres(databaseURL)
	case strings.HasPrefix(databaseURL, "sqlite:"):
		db, err = openSQLite(strings.TrimPrefix(databaseURL, "sqlite:"))
	default:
		return nil, erasured.Errorf(erasured.EINVALID, "database URL must start with postgres:// or sqlite:")
	}
	if err != nil {
		return nil, err
	}
	for _, opt := range opts {
		opt(db)
	}
	if err := erasured.ValidateServices(db.erasureServices); err != nil {
		db.Close()
		return nil, err
	}
	if err := db.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func openPostgres(databaseURL string) (*DB, error) {
	u, err := url.Parse(databaseURL)
	if err != nil {
		return nil, erasured.Errorf(erasured.EINVALID, "database URL: %v", err)
	}
	// A database that is down must answer 503 quickly, never hang a request.
	q := u.Query()
	if q.Get("connect_timeout") == "" {
		q.Set("connect_timeout", "5")
	}
	// One round trip per statement instead of two: without it lib/pq prepares each
	// statement and waits for the answer before it binds and runs it. The cost is that
	// []byte arguments would be sent in binary format, which a text or jsonb column
	// refuses; storage binds none (JSON goes as text, see jsonColumn).
	if q.Get("binary_parameters") == "" {
		q.Set("binary_parameters", "yes")
	}
	u.RawQuery = q.Encode()
	db, err := sqlx.Open("postgres", u.String())
	if err != nil {
		return nil, fmt.Errorf("open postgres: %w", err)
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	db.SetConnMaxIdleTime(5 * time.Minute)
	return newDB(db, postgres), nil
}

func openSQLite(path string) (*DB, error) {
	if path == "" {
		return nil, erasured.Errorf(erasured.EINVALID, "database URL sqlite: needs a file path, as in sqlite:erasured.db")
	}
	// secure_delete: erased and deleted personal data is overwritten in the file, not
	// just unlinked from the b-tree, so it is gone for good (see scrub).
	// Every transaction takes the write lock at BEGIN (_txlock=immediate): SQLite has one
	// writer, and a transaction that reads and then upgrades to write would otherwise
	// fail with SQLITE_BUSY instead of waiting its turn.
	dsn := "file:" + path + "?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_pragma=case_sensitive_like(1)&_pragma=secure_delete(1)"
	db, err := sqlx.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open sqlite: %w", err)
	}
	db.SetMaxOpenConns(8)
	return newDB(db, sqlite), nil
}

func newDB(db *sqlx.DB, d dialect) *DB {
	ph := sq.PlaceholderFormat(sq.Dollar)
	if d == sqlite {
		ph = sq.Question
	}
	return &DB{db: db, dialect: d, sb: sq.StatementBuilder.PlaceholderFormat(ph), memos: newMemos()}
}

// Close closes the pool.
func (db *DB) Close() error {
	db.stmts.close()
	return db.db.Close()
}

// Dialect names the database behind db: "postgres" or "sqlite".
func (db *DB) Dialect() string {
	if db.dialect == sqlite {
		return "sqlite"
	}
	return "postgres"
}

// Ping checks that the database answers. It returns EUNAVAILABLE when it does not.
func (db *DB) Ping(ctx context.Context) error {
	return db.wrap(db.db.PingContext(ctx))
}

// Stats reports the pool's figures, for metrics.
func (db *DB) Stats() sql.DBStats { return db.db.Stats() }

// scrub makes personal data that was just erased or deleted leave the disk as far as
// the database can see to it. On SQLite, secure_delete has zeroed it in the pages, but
// the old page images stay in the write-ahead log until a checkpoint; a TRUNCATE
// checkpoint copies the zeroed pages back and empties the log. It is best effort: a
// checkpoint that readers block is simply done by a later one. PostgreSQL keeps dead
// row versions until (auto)vacuum reclaims them; that is left to the operator's
// vacuum settings.
func (db *DB) scrub(ctx context.Context) {
	if db.dialect == sqlite {
		_, _ = db.db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)")
	}
}

// timeArg is how a time is bound as a parameter in this dialect.
func (db *DB) timeArg(t time.Time) any {
	t = t.UTC().Truncate(time.Microsecond)
	if db.dialect == sqlite {
		return t.Format(sqliteTime)
	}
	return t
}

func (db *DB) nullTimeArg(t *time.Time) any {
	if t == nil {
		return nil
	}
	return db.timeArg(*t)
}

// selectRows runs a statement that yields rows (a SELECT, or a write with RETURNING),
// prepared, on q (the pool or a transaction) into dest through sqlx.
func (db *DB) selectRows(ctx context.Context, q sqlx.QueryerContext, dest any, b sq.Sqlizer) error {
	query, args, err := b.ToSql()
	if err != nil {
		return fmt.Errorf("build query: %w", err)
	}
	return db.selectSQL(ctx, q, dest, query, args)
}

// selectSQL is selectRows for a query already built.
func (db *DB) selectSQL(ctx context.Context, q sqlx.QueryerContext, dest any, query string, args []any) error {
	db.observe(query, args)
	return db.wrap(db.run(ctx, q, query, func(stmt *sqlx.Stmt) error {
		return stmt.SelectContext(ctx, dest, args...)
	}))
}

// scanner is a row type that gives its scan destinations itself, in the order of its
// statement's columns (as erasureRow.fields does), with its JSON columns decoding through
// the DB's memos.
type scanner interface{ fields(memos) []any }

// selectList runs a list's query into rows. Rows whose pointer is a scanner are read by
// explicit scans: a page of erasure requests spent more of its time in sqlx's reflection
// and in decoding the same few JSON texts again, row after row, than in the database.
// Other rows are read by sqlx.
func selectList[R any](ctx context.Context, db *DB, query string, args []any) ([]R, error) {
	var rows []R
	if _, ok := any((*R)(nil)).(scanner); !ok {
		err := db.selectSQL(ctx, db.db, &rows, query, args)
		return rows, err
	}
	db.observe(query, args)
	err := db.run(ctx, db.db, query, func(stmt *sqlx.Stmt) error {
		rs, err := stmt.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var r R
			if err := rs.Scan(any(&r).(scanner).fields(db.memos)...); err != nil {
				return err
			}
			rows = append(rows, r)
		}
		return rs.Err()
	})
	return rows, db.wrap(err)
}

// getRow runs a statement that yields one row (a SELECT, or a write with RETURNING) into
// dest; no row is sql.ErrNoRows.
func (db *DB) getRow(ctx context.Context, q sqlx.QueryerContext, dest any, b sq.Sqlizer) error {
	query, args, err := b.ToSql()
	if err != nil {
		return fmt.Errorf("build query: %w", err)
	}
	return db.getSQL(ctx, q, dest, query, args)
}

// getSQL is getRow for a query already built.
func (db *DB) getSQL(ctx context.Context, q sqlx.QueryerContext, dest any, query string, args []any) error {
	return db.one(ctx, q, query, args, func(stmt *sqlx.Stmt) error { return stmt.GetContext(ctx, dest, args...) })
}

// scanSQL is getSQL into the columns dest, in the order the query selects them.
func (db *DB) scanSQL(ctx context.Context, q sqlx.QueryerContext, query string, args []any, dest ...any) error {
	return db.one(ctx, q, query, args, func(stmt *sqlx.Stmt) error { return stmt.QueryRowxContext(ctx, args...).Scan(dest...) })
}

// one runs query, which yields one row, through read; no row is sql.ErrNoRows.
func (db *DB) one(ctx context.Context, q sqlx.QueryerContext, query string, args []any, read func(*sqlx.Stmt) error) error {
	db.observe(query, args)
	err := db.run(ctx, q, query, read)
	if errors.Is(err, sql.ErrNoRows) {
		return err
	}
	return db.wrap(err)
}

// exec runs an INSERT, UPDATE or DELETE builder and returns the number of rows it touched.
func (db *DB) exec(ctx context.Context, e sqlx.ExecerContext, b sq.Sqlizer) (int64, error) {
	query, args, err := b.ToSql()
	if err != nil {
		return 0, fmt.Errorf("build statement: %w", err)
	}
	return db.execSQL(ctx, e, query, args)
}

// execSQL is exec for a statement already built.
func (db *DB) execSQL(ctx context.Context, e sqlx.ExecerContext, query string, args []any) (int64, error) {
	db.observe(query, args)
	var res sql.Result
	err := db.run(ctx, e, query, func(stmt *sqlx.Stmt) (err error) {
		res, err = stmt.ExecContext(ctx, args...)
		return err
	})
	if err != nil {
		return 0, db.wrap(err)
	}
	return res.RowsAffected()
}

func (db *DB) observe(query string, args []any) {
	if db.onStatement != nil {
		db.onStatement(query, args)
	}
}

// inTx runs fn in a transaction, committed when fn returns nil and rolled back otherwise.
func (db *DB) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := db.db.BeginTxx(ctx, nil)
	if err != nil {
		return db.wrap(err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	return db.wrap(tx.Commit())
}

// wrap turns the ways a database can be out of reach into EUNAVAILABLE, keeping the
// cause for the log, and leaves other errors as they are.
func (db *DB) wrap(err error) error {
	if err == nil || !unavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", erasured.Errorf(erasured.EUNAVAILABLE, "the database is unavailable; try again shortly"), err)
}

func unavailable(err error) bool {
	var (
		opErr *net.OpError
		pqErr *pq.Error
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, driver.ErrBadConn),
		errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF),
		errors.As(err, &opErr):
		return true
	case errors.As(err, &pqErr):
		// Class 08 is "connection exception"; 57P01-57P03 are the server shutting down
		// or not yet accepting connections.
		return pqErr.Code.Class() == "08" || pqErr.Code == "57P01" || pqErr.Code == "57P02" || pqErr.Code == "57P03"
	}
	// SQLite: another writer held the lock for longer than busy_timeout.
	return strings.Contains(err.Error(), "SQLITE_BUSY")
}

// isUniqueViolation reports whether err is a unique constraint failure in either dialect.
func isUniqueViolation(err error) bool {
	var pqErr *pq.Error
	if errors.As(err, &pqErr) {
		return pqErr.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}
