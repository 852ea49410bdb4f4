package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	sq "github.com/Masterminds/squirrel"
	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured"
)

var serviceColumns = []string{"store_id", "name", "description", "created_at", "version"}

type serviceRow struct {
	StoreID     string         `db:"store_id"`
	Name        string         `db:"name"`
	Description sql.NullString `db:"description"`
	CreatedAt   timeColumn     `db:"created_at"`
	Version     int64          `db:"version"`
}

type serviceListRow struct {
	serviceRow
	listTotal
}

func (r *serviceRow) service() *erasured.ErasureService {
	return &erasured.ErasureService{StoreID: r.StoreID, Name: r.Name, Description: nullString(r.Description),
		CreatedAt: r.CreatedAt.Time, Version: r.Version}
}

var serviceTable = tableOf("erasure_services", erasured.ErasureServices, nil)

// ErasureServicePage is ErasureRequestPage for the store's registry of services. Without
// opts.Sort it is in order of name.
func (db *DB) ErasureServicePage(ctx context.Context, opts ListOptions) (*Page[*erasured.ErasureService], error) {
	return list(ctx, db, serviceTable,
		scope{from: "erasure_services", where: "store_id = ?", args: []any{opts.StoreID}, columns: strings.Join(serviceColumns, ", ")},
		opts, func(r *serviceListRow) (*erasured.ErasureService, error) { return r.service(), nil })
}

// CreateErasureService registers s in its store's registry and returns it. With idem,
// it does so at most once per key (see Idempotency). It returns ECONFLICT when the store
// already has a service of that name.
func (db *DB) CreateErasureService(ctx context.Context, s *erasured.ErasureService, idem *Idempotency) (*erasured.ErasureService, error) {
	name, replayed, err := db.create(ctx, idem, s.StoreID, erasured.ErasureServices.Name, s.Name, func(tx *sqlx.Tx) error {
		_, err := db.exec(ctx, tx, db.sb.Insert("erasure_services").Columns(serviceColumns...).
			Values(s.StoreID, s.Name, s.Description, db.timeArg(s.CreatedAt), s.Version))
		if isUniqueViolation(err) {
			return erasured.Errorf(erasured.ECONFLICT, "the store already has a service named %q", s.Name)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create erasure service %q: %w", s.Name, err)
	}
	if replayed {
		return db.ErasureService(ctx, s.StoreID, name)
	}
	return s, nil
}

// ErasureService returns the service name of store storeID's registry. It returns
// ENOTFOUND when there is none.
func (db *DB) ErasureService(ctx context.Context, storeID, name string) (*erasured.ErasureService, error) {
	s, err := db.erasureService(ctx, db.db, storeID, name, false)
	if err != nil {
		return nil, fmt.Errorf("erasure service %q: %w", name, err)
	}
	return s, nil
}

func (db *DB) erasureService(ctx context.Context, q sqlx.QueryerContext, storeID, name string, lock bool) (*erasured.ErasureService, error) {
	b := db.sb.Select(serviceColumns...).From("erasure_services").Where(sq.Eq{"store_id": storeID, "name": name})
	if lock && db.dialect == postgres {
		b = b.Suffix("FOR UPDATE")
	}
	var row serviceRow
	err := db.getRow(ctx, q, &row, b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, erasured.Errorf(erasured.ENOTFOUND, "no erasure service %q", name)
	}
	if err != nil {
		return nil, err
	}
	return row.service(), nil
}

// UpdateErasureService applies in, the values erasured.ErasureServices.Decode read for
// Patch, to service name of store storeID. It returns ENOTFOUND when there is none and
// EPRECONDITION when match does not allow its version.
func (db *DB) UpdateErasureService(ctx context.Context, storeID, name string, match *erasured.Match, in erasured.Values) (*erasured.ErasureService, error) {
	var s *erasured.ErasureService
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if s, err = db.erasureService(ctx, tx, storeID, name, true); err != nil {
			return err
		}
		if !match.Allows(s.Version) {
			return erasured.Errorf(erasured.EPRECONDITION, "erasure service %q is at version %d, which If-Match does not name", name, s.Version)
		}
		s.Apply(in)
		s.Version++
		_, err = db.exec(ctx, tx, db.sb.Update("erasure_services").
			SetMap(map[string]any{"description": s.Description, "version": s.Version}).
			Where(sq.Eq{"store_id": storeID, "name": name}))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("update erasure service %q: %w", name, err)
	}
	return s, nil
}

// DeleteErasureService takes service name out of store storeID's registry. Requests
// already filed still require it. It returns ENOTFOUND when there is none.
func (db *DB) DeleteErasureService(ctx context.Context, storeID, name string) error {
	n, err := db.exec(ctx, db.db, db.sb.Delete("erasure_services").Where(sq.Eq{"store_id": storeID, "name": name}))
	if err == nil && n == 0 {
		err = erasured.Errorf(erasured.ENOTFOUND, "no erasure service %q", name)
	}
	if err != nil {
		return fmt.Errorf("delete erasure service %q: %w", name, err)
	}
	return nil
}

// registryAndWebhooks reads, in one statement, what filing an erasure request of store
// storeID needs: the services it requires (the store's registry, in order of name, or
// WithErasureServices when it is empty), and the rows of the store's active webhooks, to
// announce it to. A request is filed in a few short statements, each a round trip to the
// database; reading both at once spares one.
func (db *DB) registryAndWebhooks(ctx context.Context, tx sqlx.QueryerContext, storeID string) ([]string, []hookRow, error) {
	query, err := db.fixedSQL("registry and active webhooks", func(sb sq.StatementBuilderType) sq.Sqlizer {
		return sb.Select("name", "NULL AS id", "NULL AS events", "NULL AS service").From("erasure_services").
			Where("store_id = ?").
			Suffix("UNION ALL SELECT NULL, id, events, service FROM webhooks WHERE active = ? AND store_id = ? ORDER BY name")
	})
	if err != nil {
		return nil, nil, err
	}
	var rows []hookRow
	if err := db.selectSQL(ctx, tx, &rows, query, []any{storeID, true, storeID}); err != nil {
		return nil, nil, fmt.Errorf("registry of services and webhooks: %w", err)
	}
	var names []string
	for _, row := range rows {
		if row.Name.Valid {
			names = append(names, row.Name.String)
		}
	}
	if len(names) == 0 {
		names = append([]string{}, db.erasureServices...)
	}
	return names, rows, nil
}

// insertAwaiting puts new request r in the queue of each service it requires.
func (db *DB) insertAwaiting(ctx context.Context, tx sqlx.ExecerContext, r *erasured.ErasureRequest) error {
	if len(r.ServicesRequired) == 0 {
		return nil
	}
	b := db.sb.Insert("erasure_awaiting").Columns("erasure_request_id", "service", "request_store_id", "request_created_at")
	for _, s := range r.ServicesRequired {
		b = b.Values(r.ID, s, r.StoreID, db.timeArg(r.CreatedAt))
	}
	if _, err := db.exec(ctx, tx, b); err != nil {
		return fmt.Errorf("queue the request for its services: %w", err)
	}
	return nil
}
