package storage

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured"
)

// insertRequest stores a request together with something else, such as an
// Idempotency-Key: the request stands or falls with the transaction. (This test lives
// inside the package, which storagetest imports, so it runs on SQLite only.)
func TestInsertRequestInCallersTransaction(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "erasured.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	r := erasured.NewRequest("s1", erasured.Values{"request_id": "r1", "requested_by": "alice"}, erasured.Now())

	errLater := errors.New("a later step of the caller failed")
	err = db.inTx(ctx, func(tx *sqlx.Tx) error {
		if err := db.insertRequest(ctx, tx, r); err != nil {
			return err
		}
		return errLater
	})
	if !errors.Is(err, errLater) {
		t.Fatalf("transaction: %v", err)
	}
	if _, err := db.Request(ctx, "s1", "r1"); erasured.ErrorCode(err) != erasured.ENOTFOUND {
		t.Fatalf("after the caller rolled back: %v, want not found", err)
	}

	if err := db.inTx(ctx, func(tx *sqlx.Tx) error { return db.insertRequest(ctx, tx, r) }); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Request(ctx, "s1", "r1"); err != nil {
		t.Fatalf("after the caller committed: %v", err)
	}
	err = db.inTx(ctx, func(tx *sqlx.Tx) error { return db.insertRequest(ctx, tx, r) })
	if erasured.ErrorCode(err) != erasured.ECONFLICT {
		t.Fatalf("duplicate in a transaction: %v, want conflict", err)
	}
}

func TestLikePattern(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"abc", "abc"},
		{"*", "%"},
		{"*abc*", "%abc%"},
		{"a*b*c", "a%b%c"},
		{"100%", `100\%`},
		{"a_b", `a\_b`},
		{`a\b`, `a\\b`},
		{`*%_\*`, `%\%\_\\%`},
		{"héllo*", "héllo%"},
	}
	for _, tt := range tests {
		if got := likePattern(tt.in); got != tt.want {
			t.Errorf("likePattern(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
