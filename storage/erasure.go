package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	sq "github.com/Masterminds/squirrel"
	"github.com/google/uuid"
	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/filters"
)

var erasureColumns = []string{
	"id", "store_id", "resource_type", "resource_id", "reason", "status",
	"services_erased", "partial_failures", "initiator",
	"created_at", "updated_at", "completed_at", "due_at", "version",
}

type erasureRow struct {
	ID              string                                `db:"id"`
	StoreID         string                                `db:"store_id"`
	ResourceType    string                                `db:"resource_type"`
	ResourceID      string                                `db:"resource_id"`
	Reason          sql.NullString                        `db:"reason"`
	Status          string                                `db:"status"`
	ServicesErased  jsonColumn[[]string]                  `db:"services_erased"`
	PartialFailures jsonColumn[[]erasured.PartialFailure] `db:"partial_failures"`
	Initiator       jsonColumn[erasured.Initiator]        `db:"initiator"`
	CreatedAt       timeColumn                            `db:"created_at"`
	UpdatedAt       timeColumn                            `db:"updated_at"`
	CompletedAt     nullTimeColumn                        `db:"completed_at"`
	DueAt           timeColumn                            `db:"due_at"`
	Version         int64                                 `db:"version"`
}

type erasureListRow struct {
	erasureRow
	Total int `db:"total"`
}

func (r *erasureRow) erasureRequest() *erasured.ErasureRequest {
	er := &erasured.ErasureRequest{
		ID:              r.ID,
		StoreID:         r.StoreID,
		ResourceType:    r.ResourceType,
		ResourceID:      r.ResourceID,
		Status:          erasured.Status(r.Status),
		ServicesErased:  r.ServicesErased.V,
		PartialFailures: r.PartialFailures.V,
		Initiator:       r.Initiator.V,
		CreatedAt:       r.CreatedAt.Time,
		UpdatedAt:       r.UpdatedAt.Time,
		CompletedAt:     r.CompletedAt.Time,
		DueAt:           r.DueAt.Time,
		Version:         r.Version,
	}
	if r.Reason.Valid {
		er.Reason = &r.Reason.String
	}
	if er.ServicesErased == nil {
		er.ServicesErased = []string{}
	}
	if er.PartialFailures == nil {
		er.PartialFailures = []erasured.PartialFailure{}
	}
	return er
}

// erasureStatusWhere matches status in either vocabulary: the stored one, or the Elastic
// Path view, where SUCCESS and FAILURE are completed requests without and with failures.
func erasureStatusWhere(op filters.Op, values []any) (sq.Sqlizer, error) {
	var or sq.Or
	for _, v := range values {
		switch v {
		case string(erasured.StatusPending), erasured.ViewCreated:
			or = append(or, sq.Eq{"status": string(erasured.StatusPending)})
		case string(erasured.StatusInProgress), erasured.ViewInProgress:
			or = append(or, sq.Eq{"status": string(erasured.StatusInProgress)})
		case string(erasured.StatusCompleted):
			or = append(or, sq.Eq{"status": string(erasured.StatusCompleted)})
		case erasured.ViewSuccess:
			or = append(or, sq.And{sq.Eq{"status": string(erasured.StatusCompleted)}, sq.Expr("partial_failures = '[]'")})
		case erasured.ViewFailure:
			or = append(or, sq.And{sq.Eq{"status": string(erasured.StatusCompleted)}, sq.Expr("partial_failures <> '[]'")})
		default:
			return nil, fmt.Errorf("status filter: unknown value %v", v)
		}
	}
	if op != filters.Eq && op != filters.In {
		return nil, fmt.Errorf("status filter: operator %q", op)
	}
	return or, nil
}

var erasureTable = table{
	name: "erasure_requests",
	id:   "id",
	columns: map[string]column{
		"resource_type": {name: "resource_type"},
		"resource_id":   {name: "resource_id"},
		"status":        {name: "status", where: erasureStatusWhere},
		"created_at":    {name: "created_at"},
		"updated_at":    {name: "updated_at"},
		"completed_at":  {name: "completed_at", nullable: true},
		"due_at":        {name: "due_at"},
	},
	defaultSort: []erasured.Sort{{Attribute: "created_at"}},
}

// CreateErasureRequest stores a new erasure request.
func (db *DB) CreateErasureRequest(ctx context.Context, r *erasured.ErasureRequest) error {
	_, err := db.exec(ctx, db.db, db.insertErasure(r))
	if err != nil {
		return fmt.Errorf("create erasure request: %w", err)
	}
	return nil
}

func (db *DB) insertErasure(r *erasured.ErasureRequest) sq.InsertBuilder {
	return db.sb.Insert("erasure_requests").Columns(erasureColumns...).Values(
		r.ID, r.StoreID, r.ResourceType, r.ResourceID, r.Reason, string(r.Status),
		jsonArg(r.ServicesErased), jsonArg(r.PartialFailures), jsonArg(r.Initiator),
		db.timeArg(r.CreatedAt), db.timeArg(r.UpdatedAt), db.nullTimeArg(r.CompletedAt), db.timeArg(r.DueAt), r.Version,
	)
}

// ErasureRequest returns the erasure request id of store storeID. It returns ENOTFOUND
// when there is none, including when it belongs to another store.
func (db *DB) ErasureRequest(ctx context.Context, storeID, id string) (*erasured.ErasureRequest, error) {
	r, err := db.erasureRequest(ctx, db.db, storeID, id)
	if err != nil {
		return nil, fmt.Errorf("erasure request %s: %w", id, err)
	}
	return r, nil
}

func (db *DB) erasureRequest(ctx context.Context, q sqlx.QueryerContext, storeID, id string) (*erasured.ErasureRequest, error) {
	if uuid.Validate(id) != nil {
		return nil, erasured.Errorf(erasured.ENOTFOUND, "no erasure request %q", id)
	}
	var row erasureRow
	err := db.getRow(ctx, q, &row, db.sb.Select(erasureColumns...).From("erasure_requests").
		Where(sq.Eq{"store_id": storeID, "id": id}))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, erasured.Errorf(erasured.ENOTFOUND, "no erasure request %q", id)
	}
	if err != nil {
		return nil, err
	}
	return row.erasureRequest(), nil
}

// ErasureRequests returns one page of the erasure requests of opts.StoreID that match
// opts.Filter, and how many match in all.
func (db *DB) ErasureRequests(ctx context.Context, opts erasured.ListOptions) ([]*erasured.ErasureRequest, int, error) {
	rows, total, err := selectPage(ctx, db, erasureTable,
		db.sb.Select().From("erasure_requests").Where(sq.Eq{"store_id": opts.StoreID}),
		erasureColumns, opts, func(r erasureListRow) int { return r.Total })
	if err != nil {
		return nil, 0, err
	}
	out := make([]*erasured.ErasureRequest, len(rows))
	for i := range rows {
		out[i] = rows[i].erasureRequest()
	}
	return out, total, nil
}
