package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	sq "github.com/Masterminds/squirrel"

	"github.com/erasured/erasured"
)

type keyRow struct {
	ID        string     `db:"id"`
	StoreID   string     `db:"store_id"`
	Name      string     `db:"name"`
	Email     string     `db:"email"`
	Scopes    string     `db:"scopes"`
	TokenHash string     `db:"token_hash"`
	CreatedAt timeColumn `db:"created_at"`
}

// CreateKey stores a new API key.
func (db *DB) CreateKey(ctx context.Context, k *erasured.Key) error {
	_, err := db.exec(ctx, db.db, db.sb.Insert("api_keys").
		Columns("id", "store_id", "name", "email", "scopes", "token_hash", "created_at").
		Values(k.ID, k.StoreID, k.Name, k.Email, strings.Join(k.Scopes, " "), k.TokenHash, db.timeArg(k.CreatedAt)))
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	return nil
}

// KeyByToken returns the key whose token hashes to tokenHash. It returns EUNAUTHORIZED
// when there is none.
func (db *DB) KeyByToken(ctx context.Context, tokenHash string) (*erasured.Key, error) {
	var row keyRow
	err := db.getRow(ctx, db.db, &row, db.sb.Select("id", "store_id", "name", "email", "scopes", "token_hash", "created_at").
		From("api_keys").Where(sq.Eq{"token_hash": tokenHash}))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, erasured.Errorf(erasured.EUNAUTHORIZED, "unknown API key")
	}
	if err != nil {
		return nil, fmt.Errorf("key by token: %w", err)
	}
	return &erasured.Key{
		ID: row.ID, StoreID: row.StoreID, Name: row.Name, Email: row.Email,
		Scopes: strings.Fields(row.Scopes), TokenHash: row.TokenHash, CreatedAt: row.CreatedAt.Time,
	}, nil
}

// HasKeys reports whether any API key exists.
func (db *DB) HasKeys(ctx context.Context) (bool, error) {
	var n int
	if err := db.getRow(ctx, db.db, &n, db.sb.Select("COUNT(*)").From("api_keys")); err != nil {
		return false, fmt.Errorf("count keys: %w", err)
	}
	return n > 0, nil
}
