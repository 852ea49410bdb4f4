package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	sq "github.com/Masterminds/squirrel"
	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured"
)

// Creator is the create step of a POST that Idempotent runs: it stores one new resource
// in tx and returns its id. Naming the type lets the HTTP layer hand creators on without
// importing a database package.
type Creator func(ctx context.Context, tx *sqlx.Tx) (resourceID string, err error)

// Idempotent runs a POST that carries an Idempotency-Key at most once per key and store.
// requestHash identifies the request (the HTTP layer hashes what makes two POSTs the
// same: method, path and body); resourceType names the kind of resource it creates.
//
// In one transaction: when store storeID has recorded key for the same hash and resource
// type, it returns that resource's id and replayed=true, and create does not run. When
// it has not, create runs in the transaction, its resource id is recorded under key, and
// both commit together: a failed create records nothing, so the client may retry with
// the same key. Create steps come from storage (ErasureRequestCreator, ...), since only
// storage writes SQL.
//
// Two first uses of one key at once yield one resource. On SQLite the second transaction
// waits for the first to commit and replays it. On PostgreSQL both may run create; the
// later one then fails, on the key or on a unique id of its resource (an Open Notes
// request_id), rolls back, finds the key recorded, and replays the first.
//
// It returns EUNPROCESSABLE when key was used with another request, and create's errors.
func (db *DB) Idempotent(ctx context.Context, storeID, key, requestHash, resourceType string, create Creator) (resourceID string, replayed bool, err error) {
	err = db.inTx(ctx, func(tx *sqlx.Tx) error {
		id, found, err := db.idempotencyKey(ctx, tx, storeID, key, requestHash, resourceType)
		if err != nil || found {
			resourceID, replayed = id, found
			return err
		}
		if resourceID, err = create(ctx, tx); err != nil {
			return err
		}
		_, err = db.exec(ctx, tx, db.sb.Insert("idempotency_keys").
			Columns("store_id", "key", "request_hash", "resource_type", "resource_id", "created_at").
			Values(storeID, key, requestHash, resourceType, resourceID, db.timeArg(erasured.Now())))
		return err
	})
	if err != nil && erasured.ErrorCode(err) != erasured.EUNPROCESSABLE {
		// Whatever failed, a racing first use may have recorded the key meanwhile; then
		// this request is a replay of it (or a misuse of the key) after all. Otherwise
		// the failure stands.
		if id, found, lookupErr := db.idempotencyKey(ctx, db.db, storeID, key, requestHash, resourceType); found || erasured.ErrorCode(lookupErr) == erasured.EUNPROCESSABLE {
			resourceID, replayed, err = id, found, lookupErr
		}
	}
	if err != nil {
		return "", false, fmt.Errorf("idempotency key %q: %w", key, err)
	}
	return resourceID, replayed, nil
}

// idempotencyKey looks key up in storeID. It returns the resource recorded under it and
// found=true when it was used for the same request, and EUNPROCESSABLE when it was used
// for another.
func (db *DB) idempotencyKey(ctx context.Context, q sqlx.QueryerContext, storeID, key, requestHash, resourceType string) (resourceID string, found bool, err error) {
	var seen struct {
		RequestHash  string `db:"request_hash"`
		ResourceType string `db:"resource_type"`
		ResourceID   string `db:"resource_id"`
	}
	err = db.getRow(ctx, q, &seen, db.sb.Select("request_hash", "resource_type", "resource_id").
		From("idempotency_keys").Where(sq.Eq{"store_id": storeID, "key": key}))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, err
	case seen.RequestHash != requestHash || seen.ResourceType != resourceType:
		return "", false, erasured.Errorf(erasured.EUNPROCESSABLE, "Idempotency-Key was used with a different request body")
	}
	return seen.ResourceID, true, nil
}
