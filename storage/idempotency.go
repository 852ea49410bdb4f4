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

// Idempotency is the Idempotency-Key a POST came with, and the hash of the request: the
// HTTP layer hashes what makes two POSTs the same (method, path and body).
type Idempotency struct {
	Key, RequestHash string
}

// create stores one new resource of resourceType, whose id is id, in store storeID, by
// running insert in a transaction. When idem replays an earlier request, it returns the
// id of the resource that request created, and replayed; insert did not run then.
//
// With idem, in one transaction: when the store has recorded idem.Key for the same
// request hash and resource type, insert does not run and the recorded resource's id is
// returned. When it has not, insert runs, id is recorded under the key, and both commit
// together: a failed insert records nothing, so the client may retry with the same key.
//
// Two first uses of one key at once yield one resource. On SQLite the second
// transaction waits for the first to commit and replays it. On PostgreSQL both may
// insert; the later one then fails, on the key or on a unique id of its resource (an
// Open Notes request_id), rolls back, finds the key recorded, and replays the first.
//
// It returns EUNPROCESSABLE when the key was used with another request, and insert's
// errors.
func (db *DB) create(ctx context.Context, idem *Idempotency, storeID, resourceType, id string, insert func(tx *sqlx.Tx) error) (resourceID string, replayed bool, err error) {
	if idem == nil {
		return id, false, db.inTx(ctx, insert)
	}
	resourceID = id
	err = db.inTx(ctx, func(tx *sqlx.Tx) error {
		seen, found, err := db.idempotencyKey(ctx, tx, storeID, idem, resourceType)
		if err != nil || found {
			resourceID, replayed = seen, found
			return err
		}
		if err := insert(tx); err != nil {
			return err
		}
		_, err = db.exec(ctx, tx, db.sb.Insert("idempotency_keys").
			Columns("store_id", "key", "request_hash", "resource_type", "resource_id", "created_at").
			Values(storeID, idem.Key, idem.RequestHash, resourceType, id, db.timeArg(erasured.Now())))
		return err
	})
	if err != nil && erasured.ErrorCode(err) != erasured.EUNPROCESSABLE {
		// Whatever failed, a racing first use may have recorded the key meanwhile; then
		// this request is a replay of it (or a misuse of the key) after all. Otherwise
		// the failure stands.
		if seen, found, lookupErr := db.idempotencyKey(ctx, db.db, storeID, idem, resourceType); found || erasured.ErrorCode(lookupErr) == erasured.EUNPROCESSABLE {
			resourceID, replayed, err = seen, found, lookupErr
		}
	}
	if err != nil {
		return "", false, fmt.Errorf("idempotency key %q: %w", idem.Key, err)
	}
	return resourceID, replayed, nil
}

// idempotencyKey looks idem's key up in storeID. It returns the resource recorded under it
// and found=true when it was used for the same request, and EUNPROCESSABLE when it was
// used for another.
func (db *DB) idempotencyKey(ctx context.Context, q sqlx.QueryerContext, storeID string, idem *Idempotency, resourceType string) (resourceID string, found bool, err error) {
	var seen struct {
		RequestHash  string `db:"request_hash"`
		ResourceType string `db:"resource_type"`
		ResourceID   string `db:"resource_id"`
	}
	err = db.getRow(ctx, q, &seen, db.sb.Select("request_hash", "resource_type", "resource_id").
		From("idempotency_keys").Where(sq.Eq{"store_id": storeID, "key": idem.Key}))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", false, nil
	case err != nil:
		return "", false, err
	case seen.RequestHash != idem.RequestHash || seen.ResourceType != resourceType:
		return "", false, erasured.Errorf(erasured.EUNPROCESSABLE, "Idempotency-Key was used with a different request body")
	}
	return seen.ResourceID, true, nil
}
