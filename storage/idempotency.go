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

// errKeyRace: another transaction recorded the same Idempotency-Key first.
var errKeyRace = errors.New("idempotency key recorded concurrently")

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
// Two first uses of one key at once yield one resource: on PostgreSQL the later one
// meets the unique key, rolls back its resource and replays the first; on SQLite the
// second transaction waits for the first to commit and replays it.
//
// It returns EUNPROCESSABLE when key was used with another request, and create's errors.
func (db *DB) Idempotent(ctx context.Context, storeID, key, requestHash, resourceType string,
	create func(ctx context.Context, tx *sqlx.Tx) (resourceID string, err error)) (resourceID string, replayed bool, err error) {
	// One retry is enough: after a lost race the key is committed, and the second
	// attempt finds it.
	for attempt := 1; ; attempt++ {
		resourceID, replayed, err = db.idempotentOnce(ctx, storeID, key, requestHash, resourceType, create)
		if errors.Is(err, errKeyRace) && attempt < 2 {
			continue
		}
		if err != nil {
			return "", false, fmt.Errorf("idempotency key %q: %w", key, err)
		}
		return resourceID, replayed, nil
	}
}

func (db *DB) idempotentOnce(ctx context.Context, storeID, key, requestHash, resourceType string,
	create func(ctx context.Context, tx *sqlx.Tx) (string, error)) (resourceID string, replayed bool, err error) {
	err = db.inTx(ctx, func(tx *sqlx.Tx) error {
		var seen struct {
			RequestHash  string `db:"request_hash"`
			ResourceType string `db:"resource_type"`
			ResourceID   string `db:"resource_id"`
		}
		err := db.getRow(ctx, tx, &seen, db.sb.Select("request_hash", "resource_type", "resource_id").
			From("idempotency_keys").Where(sq.Eq{"store_id": storeID, "key": key}))
		switch {
		case err == nil:
			if seen.RequestHash != requestHash || seen.ResourceType != resourceType {
				return erasured.Errorf(erasured.EUNPROCESSABLE, "Idempotency-Key was used with a different request body")
			}
			resourceID, replayed = seen.ResourceID, true
			return nil
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if resourceID, err = create(ctx, tx); err != nil {
			return err
		}
		_, err = db.exec(ctx, tx, db.sb.Insert("idempotency_keys").
			Columns("store_id", "key", "request_hash", "resource_type", "resource_id", "created_at").
			Values(storeID, key, requestHash, resourceType, resourceID, db.timeArg(erasured.Now())))
		if isUniqueViolation(err) {
			return errKeyRace
		}
		return err
	})
	if err != nil {
		return "", false, err
	}
	return resourceID, replayed, nil
}
