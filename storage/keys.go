package storage

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured"
)

var keyColumns = []string{
	"id", "store_id", "name", "email", "scopes", "token_hash", "created_at",
	"representation", "expires_at", "revoked_at", "last_used_at",
}

type keyRow struct {
	ID             string         `db:"id"`
	StoreID        string         `db:"store_id"`
	Name           string         `db:"name"`
	Email          string         `db:"email"`
	Scopes         string         `db:"scopes"`
	TokenHash      string         `db:"token_hash"`
	CreatedAt      timeColumn     `db:"created_at"`
	Representation string         `db:"representation"`
	ExpiresAt      nullTimeColumn `db:"expires_at"`
	RevokedAt      nullTimeColumn `db:"revoked_at"`
	LastUsedAt     nullTimeColumn `db:"last_used_at"`
}

func (r *keyRow) key() *erasured.Key {
	return &erasured.Key{
		ID: r.ID, StoreID: r.StoreID, Name: r.Name, Email: r.Email,
		Scopes: strings.Fields(r.Scopes), TokenHash: r.TokenHash, CreatedAt: r.CreatedAt.Time,
		Representation: r.Representation, ExpiresAt: r.ExpiresAt.Time, RevokedAt: r.RevokedAt.Time,
		LastUsedAt: r.LastUsedAt.Time,
	}
}

// lastUsedEvery is how stale a key's last_used_at may grow: a key that authenticates
// all the time writes its row at most once a minute.
const lastUsedEvery = time.Minute

// CreateKey stores a new API key.
func (db *DB) CreateKey(ctx context.Context, k *erasured.Key) error {
	_, err := db.exec(ctx, db.db, db.sb.Insert("api_keys").
		Columns("id", "store_id", "name", "email", "scopes", "token_hash", "created_at", "representation", "expires_at").
		Values(k.ID, k.StoreID, k.Name, k.Email, strings.Join(k.Scopes, " "), k.TokenHash, db.timeArg(k.CreatedAt),
			k.Representation, db.nullTimeArg(k.ExpiresAt)))
	if err != nil {
		return fmt.Errorf("create key: %w", err)
	}
	return nil
}

// KeyByToken returns the key whose token hashes to tokenHash, if it may authenticate at
// now, and notes that it was used. It returns EUNAUTHORIZED when there is none, or when
// it is revoked or expired.
func (db *DB) KeyByToken(ctx context.Context, tokenHash string, now time.Time) (*erasured.Key, error) {
	k, err := db.usableKey(ctx, sq.Eq{"token_hash": tokenHash}, now)
	if err != nil {
		return nil, fmt.Errorf("key by token: %w", err)
	}
	return k, nil
}

// usableKey reads the key that where selects, refuses it unless it may authenticate at
// now, and notes its use.
func (db *DB) usableKey(ctx context.Context, where sq.Sqlizer, now time.Time) (*erasured.Key, error) {
	var row keyRow
	err := db.getRow(ctx, db.db, &row, db.sb.Select(keyColumns...).From("api_keys").Where(where))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, erasured.Errorf(erasured.EUNAUTHORIZED, "unknown API key")
	}
	if err != nil {
		return nil, err
	}
	k := row.key()
	if !k.Usable(now) {
		return nil, erasured.Errorf(erasured.EUNAUTHORIZED, "this API key is revoked or expired")
	}
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= lastUsedEvery {
		if _, err := db.exec(ctx, db.db, db.sb.Update("api_keys").Set("last_used_at", db.timeArg(now)).
			Where(sq.Eq{"id": k.ID})); err != nil {
			return nil, err
		}
		k.LastUsedAt = &now
	}
	return k, nil
}

// HasKeys reports whether any API key exists.
func (db *DB) HasKeys(ctx context.Context) (bool, error) {
	var n int
	if err := db.getRow(ctx, db.db, &n, db.sb.Select("COUNT(*)").From("api_keys")); err != nil {
		return false, fmt.Errorf("count keys: %w", err)
	}
	return n > 0, nil
}

// Keys returns every API key, oldest first.
func (db *DB) Keys(ctx context.Context) ([]*erasured.Key, error) {
	var rows []keyRow
	if err := db.selectRows(ctx, db.db, &rows, db.sb.Select(keyColumns...).From("api_keys").OrderBy("created_at", "id")); err != nil {
		return nil, fmt.Errorf("list keys: %w", err)
	}
	keys := make([]*erasured.Key, len(rows))
	for i := range rows {
		keys[i] = rows[i].key()
	}
	return keys, nil
}

// RevokeKey revokes key id at now, and with it every access token made from it. It
// returns ENOTFOUND when there is no such key; revoking a revoked key changes nothing.
func (db *DB) RevokeKey(ctx context.Context, id string, now time.Time) error {
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := db.lockKey(ctx, tx, id); err != nil {
			return err
		}
		if _, err := db.exec(ctx, tx, db.sb.Update("api_keys").Set("revoked_at", db.timeArg(now)).
			Where(sq.Eq{"id": id, "revoked_at": nil})); err != nil {
			return err
		}
		return db.dropAccessTokens(ctx, tx, id)
	})
	if err != nil {
		return fmt.Errorf("revoke key %s: %w", id, err)
	}
	return nil
}

// RotateKey gives key id the token that hashes to tokenHash in place of its own, which
// stops working, as do the access tokens made from it. It returns ENOTFOUND when there
// is no such key, and ECONFLICT when it is revoked.
func (db *DB) RotateKey(ctx context.Context, id, tokenHash string) error {
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		k, err := db.lockKey(ctx, tx, id)
		if err != nil {
			return err
		}
		if k.RevokedAt != nil {
			return erasured.Errorf(erasured.ECONFLICT, "key %s is revoked, and a revoked key never works again", id)
		}
		if _, err := db.exec(ctx, tx, db.sb.Update("api_keys").Set("token_hash", tokenHash).Where(sq.Eq{"id": id})); err != nil {
			return err
		}
		return db.dropAccessTokens(ctx, tx, id)
	})
	if err != nil {
		return fmt.Errorf("rotate key %s: %w", id, err)
	}
	return nil
}

func (db *DB) lockKey(ctx context.Context, tx *sqlx.Tx, id string) (*erasured.Key, error) {
	id, ok := canonicalID(id)
	if !ok {
		return nil, erasured.Errorf(erasured.ENOTFOUND, "no key %q", id)
	}
	b := db.sb.Select(keyColumns...).From("api_keys").Where(sq.Eq{"id": id})
	if db.dialect == postgres {
		b = b.Suffix("FOR UPDATE")
	}
	var row keyRow
	err := db.getRow(ctx, tx, &row, b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, erasured.Errorf(erasured.ENOTFOUND, "no key %q", id)
	}
	if err != nil {
		return nil, err
	}
	return row.key(), nil
}

func (db *DB) dropAccessTokens(ctx context.Context, tx *sqlx.Tx, keyID string) error {
	_, err := db.exec(ctx, tx, db.sb.Delete("access_tokens").Where(sq.Eq{"key_id": keyID}))
	return err
}

// IssueAccessToken stores an access token, whose hash is tokenHash, for the key whose id
// is clientID and whose token is secret (OAuth 2.0 client credentials), valid from now
// for erasured.AccessTokenTTL, and returns when it expires. The key's expired tokens go
// in the same transaction, so that they never pile up. It returns EUNAUTHORIZED for an
// unknown client, a wrong secret, and a revoked or expired key, without saying which.
func (db *DB) IssueAccessToken(ctx context.Context, clientID, secret, tokenHash string, now time.Time) (time.Time, error) {
	refused := erasured.Errorf(erasured.EUNAUTHORIZED, "unknown client or wrong secret")
	id, ok := canonicalID(clientID)
	if !ok {
		return time.Time{}, refused
	}
	expires := now.Add(erasured.AccessTokenTTL)
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var row keyRow
		err := db.getRow(ctx, tx, &row, db.sb.Select(keyColumns...).From("api_keys").Where(sq.Eq{"id": id}))
		if errors.Is(err, sql.ErrNoRows) {
			return refused
		}
		if err != nil {
			return err
		}
		k := row.key()
		if subtle.ConstantTimeCompare([]byte(k.TokenHash), []byte(erasured.HashToken(secret))) != 1 || !k.Usable(now) {
			return refused
		}
		if _, err := db.exec(ctx, tx, db.sb.Delete("access_tokens").
			Where(sq.Eq{"key_id": id}).Where(sq.LtOrEq{"expires_at": db.timeArg(now)})); err != nil {
			return err
		}
		_, err = db.exec(ctx, tx, db.sb.Insert("access_tokens").Columns("token_hash", "key_id", "created_at", "expires_at").
			Values(tokenHash, id, db.timeArg(now), db.timeArg(expires)))
		return err
	})
	if err != nil {
		return time.Time{}, fmt.Errorf("issue access token: %w", err)
	}
	return expires, nil
}

// KeyByAccessToken returns the key that the access token hashing to tokenHash stands
// for, if both may authenticate at now; the key's ExpiresAt is then the earlier of its
// own and the token's. It returns EUNAUTHORIZED otherwise.
func (db *DB) KeyByAccessToken(ctx context.Context, tokenHash string, now time.Time) (*erasured.Key, error) {
	var t struct {
		KeyID     string     `db:"key_id"`
		ExpiresAt timeColumn `db:"expires_at"`
	}
	err := db.getRow(ctx, db.db, &t, db.sb.Select("key_id", "expires_at").From("access_tokens").
		Where(sq.Eq{"token_hash": tokenHash}).Where(sq.Gt{"expires_at": db.timeArg(now)}))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, erasured.Errorf(erasured.EUNAUTHORIZED, "unknown or expired access token")
	}
	if err != nil {
		return nil, fmt.Errorf("key by access token: %w", err)
	}
	k, err := db.usableKey(ctx, sq.Eq{"id": t.KeyID}, now)
	if err != nil {
		return nil, fmt.Errorf("key by access token: %w", err)
	}
	if k.ExpiresAt == nil || t.ExpiresAt.Time.Before(*k.ExpiresAt) {
		k.ExpiresAt = &t.ExpiresAt.Time
	}
	return k, nil
}
