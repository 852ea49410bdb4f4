// Package storagetest hands each test a fresh, migrated database of either kind: a file
// in the test's temporary directory for SQLite, a schema of its own for PostgreSQL. Tests
// can run in parallel and leave nothing behind. For tests that must look behind storage
// (rows of tables storage has no methods for yet, what a column really holds) it opens
// plain connections to the same database.
//
// The PostgreSQL tests use the server at ERASURED_TEST_POSTGRES when it is set; otherwise
// the machine's server, postgres://postgres@127.0.0.1:5432/test?sslmode=disable, when
// anything answers on that port; otherwise a throwaway cluster that the test process
// starts on first use with the machine's own initdb and pg_ctl (see Cluster) and that ends
// with the process. Each test process (one per package under go test ./...) that needs
// PostgreSQL starts its own, so packages tested in parallel share nothing; initdb and a
// start cost a second or two per package.
//
// PostgreSQL tests never skip: when the server cannot be reached, or there is none and
// no binaries to start one, they fail and say why, so a green run always means both
// stores were tested.
package storagetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the PostgreSQL driver for the schema set-up

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage"
)

// Kinds are the stores every storage test runs against.
var Kinds = []string{"sqlite", "postgres"}

// machineServer is the PostgreSQL server that the machine runs, with the database
// test, trust authentication on loopback.
const machineServer = "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"

// PostgresURL is the server the PostgreSQL tests use: ERASURED_TEST_POSTGRES, the
// machine's server, or this process's own cluster, started on the first call. It fails
// the test when it can start none.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	s, err := postgresServer()
	if err != nil {
		tb.Fatalf("storagetest: %v", err)
	}
	return s.url
}

// server is the PostgreSQL server of this test process.
type server struct {
	url string
	// cluster, when the process started one, is held here for as long as the process
	// lives: a Cluster that nothing refers to any more would have its reaper's pipe
	// closed by the garbage collector, and the reaper would remove it.
	cluster *Cluster
}

// postgresServer chooses the server once per test process. The cluster it may start
// lives as long as the process; its reaper removes it when the process ends.
var postgresServer = sync.OnceValues(func() (server, error) {
	if u := os.Getenv("ERASURED_TEST_POSTGRES"); u != "" {
		return server{url: u}, nil
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:5432", 2*time.Second); err == nil {
		c.Close()
		return server{url: machineServer}, nil
	}
	c, err := startCluster()
	if err != nil {
		return server{}, fmt.Errorf("nothing answers on 127.0.0.1:5432 and ERASURED_TEST_POSTGRES is unset, so the PostgreSQL tests start a cluster of their own, and cannot: %w", err)
	}
	return server{url: c.URL(), cluster: c}, nil
})

// URL returns the URL of a new, empty database of the given kind ("sqlite" or
// "postgres"), removed when the test ends. Several processes or pools may open it.
func URL(tb testing.TB, kind string) string {
	tb.Helper()
	switch kind {
	case "sqlite":
		return "sqlite:" + filepath.Join(tb.TempDir(), "erasured.db")
	case "postgres":
		return postgresSchema(tb)
	}
	tb.Fatalf("storagetest: unknown kind %q", kind)
	return ""
}

func postgresSchema(tb testing.TB) string {
	tb.Helper()
	return throwaway(tb, "CREATE SCHEMA %s", "DROP SCHEMA %s CASCADE", func(u *url.URL, name string) {
		q := u.Query()
		q.Set("search_path", name)
		u.RawQuery = q.Encode()
	})
}

// PostgresDatabase returns the URL of a new, empty PostgreSQL database on the test
// server, dropped when the test ends. It is for tests that a schema of their own does
// not isolate: what they watch is per database, as the oldest open transaction that
// VACUUM must respect, or they install extensions, which are per database too.
func PostgresDatabase(tb testing.TB) string {
	tb.Helper()
	// template0, which takes no connections, so that a session on template1 cannot make
	// the copy fail; FORCE ends the sessions that the test's pools may still have open.
	return throwaway(tb, "CREATE DATABASE %s TEMPLATE template0", "DROP DATABASE %s WITH (FORCE)",
		func(u *url.URL, name string) { u.Path = "/" + name })
}

// throwaway creates a schema or a database of a new name on the test server with create
// (a statement with %s for the name), drops it with drop when the test ends, and returns
// the server's URL that place makes the new one's.
func throwaway(tb testing.TB, create, drop string, place func(u *url.URL, name string)) string {
	tb.Helper()
	base := PostgresURL(tb)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := sqlx.Open("postgres", base)
	if err != nil {
		tb.Fatalf("storagetest: %v", err)
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		tb.Fatalf("storagetest: PostgreSQL at %s is unreachable (%v); start it, or set ERASURED_TEST_POSTGRES to a server that answers", base, err)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	name := "test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, fmt.Sprintf(create, name)); err != nil {
		admin.Close()
		tb.Fatalf("storagetest: %s: %v", fmt.Sprintf(create, name), err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, fmt.Sprintf(drop, name)); err != nil {
			tb.Errorf("storagetest: %s: %v", fmt.Sprintf(drop, name), err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("storagetest: %v", err)
	}
	place(u, name)
	return u.String()
}

// Open returns a migrated DB of the given kind on a new database, closed when the test ends.
func Open(tb testing.TB, kind string) *storage.DB {
	tb.Helper()
	return OpenURL(tb, URL(tb, kind))
}

// OpenURL opens the database at databaseURL (from URL) with opts, migrated, and closes
// it when the test ends. Call it twice for two pools on one database, as two server
// processes have.
func OpenURL(tb testing.TB, databaseURL string, opts ...storage.Option) *storage.DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := storage.Open(ctx, databaseURL, opts...)
	if err != nil {
		tb.Fatalf("storagetest: open %s: %v", databaseURL, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// SQL opens a plain connection to the database at databaseURL (from URL), for tests
// that must write rows storage has no method for yet, or look at the tables themselves
// to see what storage really stored. Write queries with "?" and pass them through
// Rebind. It is closed when the test ends.
func SQL(tb testing.TB, databaseURL string) *sqlx.DB {
	tb.Helper()
	driver, dsn := "postgres", databaseURL
	if path, ok := strings.CutPrefix(databaseURL, "sqlite:"); ok {
		driver, dsn = "sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
	}
	db, err := sqlx.Open(driver, dsn)
	if err != nil {
		tb.Fatalf("storagetest: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Each runs fn once per store kind, as parallel subtests named for the kind.
func Each(t *testing.T, fn func(t *testing.T, db *storage.DB)) {
	t.Helper()
	EachURL(t, func(t *testing.T, databaseURL string) { fn(t, OpenURL(t, databaseURL)) })
}

// EachURL is Each for tests that open the database themselves: with options, with
// several pools, or with SQL beside storage. fn gets the URL of a new, empty database.
func EachURL(t *testing.T, fn func(t *testing.T, databaseURL string)) {
	t.Helper()
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			fn(t, URL(t, kind))
		})
	}
}

// EachSQL is Each that also hands fn a plain connection (see SQL) to db's database.
func EachSQL(t *testing.T, fn func(t *testing.T, db *storage.DB, raw *sqlx.DB)) {
	t.Helper()
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			u := URL(t, kind)
			fn(t, OpenURL(t, u), SQL(t, u))
		})
	}
}

// InsertRequest writes an Open Notes request of store storeID straight into the requests
// table, every personal attribute (those erasured.Requests declares Personal) filled in
// with PersonalValue, for the tests of the erasure that must find them. raw comes from
// SQL.
func InsertRequest(tb testing.TB, raw *sqlx.DB, storeID, requestID, requestedBy string) {
	tb.Helper()
	// Text timestamps suit both stores: PostgreSQL parses them, SQLite keeps them.
	const at = "2026-01-01T00:00:00.000000Z"
	columns := []string{"store_id", "request_id", "status", "requested_at", "created_at", "updated_at"}
	args := []any{storeID, requestID, "PENDING", at, at, at}
	for _, a := range personal() {
		columns = append(columns, a.Column)
		args = append(args, PersonalValue(a, requestID, requestedBy))
	}
	_, err := raw.Exec(raw.Rebind(`INSERT INTO requests (`+strings.Join(columns, ", ")+`)
		VALUES (?`+strings.Repeat(", ?", len(columns)-1)+`)`), args...)
	if err != nil {
		tb.Fatalf("storagetest: insert request %s: %v", requestID, err)
	}
}

// personal are the attributes of a request that an erasure clears.
func personal() []erasured.Attribute {
	var out []erasured.Attribute
	for _, a := range erasured.Requests.Attributes() {
		if a.Can(erasured.Personal) {
			out = append(out, a)
		}
	}
	return out
}

// PersonalValue is what InsertRequest writes in personal attribute a of request
// requestID of requestedBy: each names the person, so that a search of the database for
// the person finds every one of them.
func PersonalValue(a erasured.Attribute, requestID, requestedBy string) string {
	switch {
	case a.Name == "requested_by":
		return requestedBy
	case a.Kind == erasured.Object{}:
		b, _ := json.Marshal(map[string]string{"author": requestedBy}) // cannot fail: strings only
		return string(b)
	}
	return a.Name + " of " + requestID + " by " + requestedBy
}

// RequestRow is what the requests table holds of one request's personal attributes.
type RequestRow struct {
	Personal map[string]sql.NullString // by attribute
	ErasedAt sql.NullString
}

// Erased reports whether every personal attribute is gone and the erasure is dated.
func (r RequestRow) Erased() bool {
	for _, v := range r.Personal {
		if v.Valid {
			return false
		}
	}
	return r.ErasedAt.Valid
}

// Untouched reports whether the row is as InsertRequest wrote it for requestID and
// requestedBy. (An object reads back as the database writes JSON, so only its presence
// is compared.)
func (r RequestRow) Untouched(requestID, requestedBy string) bool {
	for _, a := range personal() {
		v := r.Personal[a.Name]
		if !v.Valid || (a.Kind != erasured.Object{} && v.String != PersonalValue(a, requestID, requestedBy)) {
			return false
		}
	}
	return !r.ErasedAt.Valid
}

// Request reads the personal attributes of request requestID of store storeID from the
// table itself.
func Request(tb testing.TB, raw *sqlx.DB, storeID, requestID string) RequestRow {
	tb.Helper()
	attrs := personal()
	columns := make([]string, len(attrs))
	values := make([]sql.NullString, len(attrs)+1)
	dest := make([]any, len(values))
	for i, a := range attrs {
		columns[i] = a.Column
	}
	for i := range values {
		dest[i] = &values[i]
	}
	err := raw.QueryRow(raw.Rebind(`SELECT `+strings.Join(columns, ", ")+`, erased_at FROM requests
		WHERE store_id = ? AND request_id = ?`), storeID, requestID).Scan(dest...)
	if err != nil {
		tb.Fatalf("storagetest: read request %s: %v", requestID, err)
	}
	row := RequestRow{Personal: map[string]sql.NullString{}, ErasedAt: values[len(attrs)]}
	for i, a := range attrs {
		row.Personal[a.Name] = values[i]
	}
	return row
}
