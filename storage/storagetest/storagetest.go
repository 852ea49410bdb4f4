// Package storagetest hands each test a fresh, migrated database of either kind: a file
// in the test's temporary directory for SQLite, a schema of its own for PostgreSQL. Tests
// can run in parallel and leave nothing behind.
//
// PostgreSQL tests never skip: when the server at ERASURED_TEST_POSTGRES (default
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable) cannot be reached they fail,
// so a green run always means both stores were tested.
package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq" // the PostgreSQL driver for the schema set-up

	"github.com/erasured/erasured/storage"
)

// Kinds are the stores every storage test runs against.
var Kinds = []string{"sqlite", "postgres"}

// PostgresURL is the server the PostgreSQL tests use.
func PostgresURL() string {
	if u := os.Getenv("ERASURED_TEST_POSTGRES"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

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
	base := PostgresURL()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	admin, err := sqlx.Open("postgres", base)
	if err != nil {
		tb.Fatalf("storagetest: %v", err)
	}
	if err := admin.PingContext(ctx); err != nil {
		admin.Close()
		tb.Fatalf("storagetest: PostgreSQL at %s is unreachable (%v); start it (pg_ctlcluster --skip-systemctl-redirect 15 main start) or set ERASURED_TEST_POSTGRES", base, err)
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "test_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		tb.Fatalf("storagetest: create schema: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("storagetest: drop schema %s: %v", schema, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("storagetest: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open returns a migrated DB of the given kind on a new database, closed when the test ends.
func Open(tb testing.TB, kind string) *storage.DB {
	tb.Helper()
	return openURL(tb, URL(tb, kind))
}

func openURL(tb testing.TB, u string) *storage.DB {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	db, err := storage.Open(ctx, u)
	if err != nil {
		tb.Fatalf("storagetest: open %s: %v", u, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// SQL returns a plain connection to the database at u, a URL from URL, closed when the
// test ends: for tests that look at rows directly, or install what the storage API never
// would, such as a trigger that makes a statement fail. Write its queries with ? and
// pass them through Rebind.
func SQL(tb testing.TB, u string) *sqlx.DB {
	tb.Helper()
	driver, dsn := "postgres", u
	if path, ok := strings.CutPrefix(u, "sqlite:"); ok {
		driver, dsn = "sqlite", "file:"+path+"?_pragma=busy_timeout(10000)"
	}
	db, err := sqlx.Open(driver, dsn)
	if err != nil {
		tb.Fatalf("storagetest: open %s: %v", u, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// Each runs fn once per store kind, as parallel subtests named for the kind.
func Each(t *testing.T, fn func(t *testing.T, db *storage.DB)) {
	t.Helper()
	for _, kind := range Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			fn(t, Open(t, kind))
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
			fn(t, openURL(t, u), SQL(t, u))
		})
	}
}
