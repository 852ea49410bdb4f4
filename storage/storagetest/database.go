package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// PostgresDatabase returns the URL of a new, empty PostgreSQL database on the test
// server, dropped when the test ends. It is for tests that a schema of their own does
// not isolate: what they watch is per database, as the oldest open transaction that
// VACUUM must respect, or they install extensions, which are per database too.
func PostgresDatabase(tb testing.TB) string {
	tb.Helper()
	base := PostgresURL()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
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
	name := "test_" + hex.EncodeToString(b)
	// template0, which takes no connections, so that a session on template1 cannot make
	// the copy fail.
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE template0"); err != nil {
		admin.Close()
		tb.Fatalf("storagetest: create database: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		// FORCE ends the sessions that the test's pools may still have open.
		if _, err := admin.ExecContext(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			tb.Errorf("storagetest: drop database %s: %v", name, err)
		}
		admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("storagetest: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}
