package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"

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
	"services_required", "extension_reason", "original_due_at", "overdue_at",
}

// erasureColumnList is erasureColumns as one column of a SELECT (see scope), and
// queueColumnList the columns of a queue (queueRow).
var (
	erasureColumnList = strings.Join(erasureColumns, ", ")
	queueColumnList   = erasureColumnList + ", request_created_at, erasure_request_id"
)

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
	// NULL on requests filed before services_required was recorded: nil.
	ServicesRequired jsonColumn[[]string] `db:"services_required"`
	ExtensionReason  sql.NullString       `db:"extension_reason"`
	OriginalDueAt    nullTimeColumn       `db:"original_due_at"`
	OverdueAt        nullTimeColumn       `db:"overdue_at"`
}

// fields are r's columns in the order of erasureColumns, for an explicit scan: reading
// one request by id, sqlx's reflective scan cost more than the rest of the scan. Its
// JSON columns decode through m.
func (r *erasureRow) fields(m memos) []any {
	r.ServicesErased.memo, r.PartialFailures.memo, r.Initiator.memo, r.ServicesRequired.memo =
		m.services, m.failures, m.initiators, m.services
	return []any{
		&r.ID, &r.StoreID, &r.ResourceType, &r.ResourceID, &r.Reason, &r.Status,
		&r.ServicesErased, &r.PartialFailures, &r.Initiator,
		&r.CreatedAt, &r.UpdatedAt, &r.CompletedAt, &r.DueAt, &r.Version,
		&r.ServicesRequired, &r.ExtensionReason, &r.OriginalDueAt, &r.OverdueAt,
	}
}

type erasureListRow struct {
	erasureRow
	listTotal
}

// fields are erasureRow's, then the list's total (see totalColumns).
func (r *erasureListRow) fields(m memos) []any {
	return append(r.erasureRow.fields(m), &r.Total, &r.Estimated)
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

		ServicesRequired: r.ServicesRequired.V,
		ExtensionReason:  nullString(r.ExtensionReason),
		OriginalDueAt:    r.OriginalDueAt.Time,
		OverdueAt:        r.OverdueAt.Time,
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
		case string(erasured.StatusCancelled), erasured.ViewCancelled:
			or = append(or, sq.Eq{"status": string(erasured.StatusCancelled)})
		default:
			return nil, fmt.Errorf("status filter: unknown value %v", v)
		}
	}
	if op != filters.Eq && op != filters.In {
		return nil, fmt.Errorf("status filter: operator %q", op)
	}
	return or, nil
}

// awaitingWhere matches the requests that still wait for a report from the services
// named: those with a row in erasure_awaiting. It serves the lists that queueTable does
// not (several services at once, or another order); a service's own queue is read as
// queueTable says.
func awaitingWhere(op filters.Op, values []any) (sq.Sqlizer, error) {
	if op != filters.Eq && op != filters.In {
		return nil, fmt.Errorf("awaiting_service filter: operator %q", op)
	}
	return sq.Expr(`EXISTS (SELECT 1 FROM erasure_awaiting WHERE erasure_request_id = erasure_requests.id AND ?)`,
		sq.Eq{"service": values}), nil
}

// unfinished is the condition of the requests that are not final, written as the
// predicate of the index erasure_requests_unfinished so that the planner can use it.
const unfinished = "status IN ('pending', 'in_progress')"

// overdueWhere matches the requests past their due date and not final (eq(overdue,true)),
// or the others. "Now" is the time of the query, bound as text in the fixed-width UTC
// form, which both dialects compare with their timestamps.
func overdueWhere(op filters.Op, values []any) (sq.Sqlizer, error) {
	want, ok := values[0].(bool)
	if op != filters.Eq || !ok {
		return nil, fmt.Errorf("overdue filter: operator %q on %T", op, values[0])
	}
	now := erasured.Now().Format(sqliteTime)
	if want {
		return sq.And{sq.Expr(unfinished), sq.Lt{"due_at": now}}, nil
	}
	return sq.Or{sq.Expr("NOT (" + unfinished + ")"), sq.GtOrEq{"due_at": now}}, nil
}

var erasureTable = tableOf("erasure_requests", erasured.ErasureRequests,
	map[string]*condition{
		"status":           {where: erasureStatusWhere},
		"awaiting_service": {where: awaitingWhere},
		"overdue":          {where: overdueWhere, volatile: true},
	})

// queueTable is erasureTable as a service's queue (eq(awaiting_service,NAME), in order of
// creation) reads it: erasure_requests joined with the service's rows of
// erasure_awaiting, whose index (request_store_id, service, request_created_at,
// erasure_request_id) holds the queue in the list's own order. The list sorts, and its
// cursors seek, by those columns, which equal created_at and id, so that a page reads
// its entries off the index and stops at its LIMIT, however large the store and
// wherever in it the queue's requests lie. Planners cannot see that order through an
// EXISTS: they walk the store by created_at and probe each request, or join the whole
// queue and sort it. (Naming created_at in the join too would let the count of a first
// page probe the store's index from the queue's entries, but the planner then takes
// the join for a single row, and sorts the whole queue for every page.)
var queueTable = func() table {
	t := tableOf("erasure_requests", erasured.ErasureRequests,
		map[string]*condition{
			"status":  {where: erasureStatusWhere},
			"overdue": {where: overdueWhere, volatile: true},
			"awaiting_service": {where: func(op filters.Op, values []any) (sq.Sqlizer, error) {
				if op != filters.Eq {
					return nil, fmt.Errorf("queue of %v: operator %q", values, op)
				}
				return sq.Eq{"service": values[0]}, nil
			}},
		})
	t.id.name = "erasure_request_id"
	c := t.columns["created_at"]
	c.name = "request_created_at"
	t.columns["created_at"] = c
	return t
}()

// queueRow is a row of a service's queue (queueTable).
type queueRow struct {
	erasureRow
	QueuedAt  timeColumn `db:"request_created_at"`
	RequestID string     `db:"erasure_request_id"`
	listTotal
}

// fields are those of queueColumnList, then the list's total (see totalColumns).
func (r *queueRow) fields(m memos) []any {
	return append(r.erasureRow.fields(m), &r.QueuedAt, &r.RequestID, &r.Total, &r.Estimated)
}

// isQueue reports whether opts lists one service's queue in order of creation, which
// queueTable serves.
func isQueue(opts ListOptions) bool {
	if len(opts.Sort) > 1 || len(opts.Sort) == 1 && opts.Sort[0].Attribute != "created_at" {
		return false
	}
	n := 0
	for _, c := range opts.Filter {
		if c.Attribute == "awaiting_service" {
			if c.Op != filters.Eq {
				return false
			}
			n++
		}
	}
	return n == 1
}

// ErasureRequestPage returns the page opts asks for of the erasure requests of
// opts.StoreID that match opts.Filter: by offset, or by cursor when opts.Cursor is set.
// A cursor that does not belong to the list's sort, or whose values are not of their
// keys' types, is a *pagination.Error naming its parameter.
func (db *DB) ErasureRequestPage(ctx context.Context, opts ListOptions) (*Page[*erasured.ErasureRequest], error) {
	if isQueue(opts) {
		return list(ctx, db, queueTable,
			scope{from: "erasure_requests JOIN erasure_awaiting ON erasure_request_id = id AND request_store_id = store_id",
				where: "store_id = ?", args: []any{opts.StoreID}, columns: queueColumnList},
			opts, func(r *queueRow) (*erasured.ErasureRequest, error) { return r.erasureRequest(), nil })
	}
	return list(ctx, db, erasureTable,
		scope{from: "erasure_requests", where: "store_id = ?", args: []any{opts.StoreID}, columns: erasureColumnList},
		opts, func(r *erasureListRow) (*erasured.ErasureRequest, error) { return r.erasureRequest(), nil })
}

// CreateErasureRequest stores a new erasure request and returns it, in one transaction
// with everything that follows from it: its ServicesRequired, copied from the store's
// registry (or WithErasureServices when the store has registered none), the queue
// entries of those services (see queueTable), the event of its creation, and the
// announcement of erasure_request.created to the store's webhooks that want it. With
// idem, it does so at most once per key (see Idempotency): a replay returns the
// request the key created, as it is now.
func (db *DB) CreateErasureRequest(ctx context.Context, r *erasured.ErasureRequest, idem *Idempotency) (*erasured.ErasureRequest, error) {
	id, replayed, err := db.create(ctx, idem, r.StoreID, erasured.ErasureRequests.Name, r.ID, func(tx *sqlx.Tx) error {
		required, hooks, err := db.registryAndWebhooks(ctx, tx, r.StoreID)
		if err != nil {
			return err
		}
		r.ServicesRequired = required
		a, err := announce(erasured.EventCreated, r, hooks, r.CreatedAt)
		if err != nil {
			return err
		}
		if err := db.insertErasure(ctx, tx, r); err != nil {
			return err
		}
		if err := db.insertEvents(ctx, tx, a, r.CreationEvent()); err != nil {
			return err
		}
		return db.insertAwaiting(ctx, tx, r)
	})
	if err != nil {
		return nil, fmt.Errorf("create erasure request: %w", err)
	}
	if replayed {
		return db.ErasureRequest(ctx, r.StoreID, id)
	}
	return r, nil
}

// insertErasure inserts new request r: its values in the order of erasureColumns.
func (db *DB) insertErasure(ctx context.Context, tx sqlx.ExecerContext, r *erasured.ErasureRequest) error {
	query, err := db.fixedSQL("insert erasure request", func(sb sq.StatementBuilderType) sq.Sqlizer {
		return sb.Insert("erasure_requests").Columns(erasureColumns...).Values(placeholders(len(erasureColumns))...)
	})
	if err != nil {
		return err
	}
	_, err = db.execSQL(ctx, tx, query, []any{
		r.ID, r.StoreID, r.ResourceType, r.ResourceID, r.Reason, string(r.Status),
		jsonArg(r.ServicesErased), jsonArg(r.PartialFailures), jsonArg(r.Initiator),
		db.timeArg(r.CreatedAt), db.timeArg(r.UpdatedAt), db.nullTimeArg(r.CompletedAt), db.timeArg(r.DueAt), r.Version,
		jsonArg(r.ServicesRequired), r.ExtensionReason, db.nullTimeArg(r.OriginalDueAt), db.nullTimeArg(r.OverdueAt),
	})
	return err
}

// canonicalID returns id in the form erasure request ids are stored in (a lower-case
// uuid with hyphens), so that both stores find a request by any spelling of its uuid.
// An id that is no uuid names no request; PostgreSQL would even refuse to compare it.
func canonicalID(id string) (string, bool) {
	u, err := uuid.Parse(id)
	if err != nil {
		return id, false
	}
	return u.String(), true
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
	id, ok := canonicalID(id)
	if !ok {
		return nil, erasured.Errorf(erasured.ENOTFOUND, "no erasure request %q", id)
	}
	query, err := db.fixedSQL("erasure request", func(sb sq.StatementBuilderType) sq.Sqlizer {
		return sb.Select(erasureColumnList).From("erasure_requests").Where("id = ? AND store_id = ?")
	})
	if err != nil {
		return nil, err
	}
	var row erasureRow
	err = db.scanSQL(ctx, q, query, []any{id, storeID}, row.fields(db.memos)...)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, erasured.Errorf(erasured.ENOTFOUND, "no erasure request %q", id)
	}
	if err != nil {
		return nil, err
	}
	return row.erasureRequest(), nil
}

// UpdateErasureRequest merges rep, reported by actor (the API key's name), into the erasure
// request id of store storeID and appends its event. When the request then waits for
// nobody (this server's own erasure done and every service it requires answered) it
// completes, and a second event, by erasured.ServerActor, says so. A request that
// completes or is cancelled is announced to the webhooks that want it (see record).
//
// It all happens in one transaction on the locked row, so reports that arrive together
// are applied one after the other and none is lost. It returns ENOTFOUND when the store
// has no such request, EPRECONDITION when match does not allow its version, and
// the EINVALID or ECONFLICT of erasured.ErasureRequest.Apply.
func (db *DB) UpdateErasureRequest(ctx context.Context, storeID, id, actor string, match *erasured.Match, rep erasured.Report) (*erasured.ErasureRequest, error) {
	var r *erasured.ErasureRequest
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		r, _, err = db.lockErasure(ctx, tx, storeID, id)
		if err != nil {
			return err
		}
		if !match.Allows(r.Version) {
			return erasured.Errorf(erasured.EPRECONDITION, "erasure request %s is at version %d, which If-Match does not name", id, r.Version)
		}
		now, was := erasured.Now(), r.Status
		ev, err := r.Apply(rep, now)
		if err != nil {
			return err
		}
		ev.Actor = actor
		events := []*erasured.Event{ev}
		if done := r.Settle(r.Required(db.erasureServices), now); done != nil {
			events = append(events, done)
		}
		return db.record(ctx, tx, r, was, events, nil, now, "")
	})
	if err != nil {
		return nil, fmt.Errorf("update erasure request %s: %w", id, err)
	}
	return r, nil
}

// lockErasure reads erasure request id of storeID for a change, and when its in-store
// erasure was done. PostgreSQL locks the row until the transaction ends; a SQLite
// transaction holds the database's write lock from its start (see openSQLite), which
// serialises the same way.
func (db *DB) lockErasure(ctx context.Context, tx sqlx.QueryerContext, storeID, id string) (*erasured.ErasureRequest, *time.Time, error) {
	id, ok := canonicalID(id)
	if !ok {
		return nil, nil, erasured.Errorf(erasured.ENOTFOUND, "no erasure request %q", id)
	}
	q := db.sb.Select(erasureColumns...).Column("requests_erased_at").From("erasure_requests").
		Where(sq.Eq{"store_id": storeID, "id": id})
	if db.dialect == postgres {
		q = q.Suffix("FOR UPDATE")
	}
	var row struct {
		erasureRow
		RequestsErasedAt nullTimeColumn `db:"requests_erased_at"`
	}
	err := db.getRow(ctx, tx, &row, q)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, erasured.Errorf(erasured.ENOTFOUND, "no erasure request %q", id)
	}
	if err != nil {
		return nil, nil, err
	}
	return row.erasureRequest(), row.RequestsErasedAt.Time, nil
}

// record writes back, in tx, a change just made to r, which was in status was before:
// what the workflow changes of r and the extra columns given, the events of the
// change, the queue entries of the services r no longer waits for, and the
// announcement of event, or, when event is empty, of r's completion or cancellation
// if the change is that.
func (db *DB) record(ctx context.Context, tx *sqlx.Tx, r *erasured.ErasureRequest, was erasured.Status, events []*erasured.Event, extra map[string]any, now time.Time, event string) error {
	switch {
	case event != "" || r.Status == was:
	case r.Status == erasured.StatusCompleted:
		event = erasured.EventCompleted
	case r.Status == erasured.StatusCancelled:
		event = erasured.EventCancelled
	}
	var a *erasured.Announcement
	if event != "" {
		var err error
		if a, err = db.announcement(ctx, tx, event, r, now); err != nil {
			return err
		}
	}
	set := map[string]any{
		"status":           string(r.Status),
		"services_erased":  jsonArg(r.ServicesErased),
		"partial_failures": jsonArg(r.PartialFailures),
		"completed_at":     db.nullTimeArg(r.CompletedAt),
		"updated_at":       db.timeArg(r.UpdatedAt),
		"version":          r.Version,
		"due_at":           db.timeArg(r.DueAt),
		"extension_reason": r.ExtensionReason,
		"original_due_at":  db.nullTimeArg(r.OriginalDueAt),
		"overdue_at":       db.nullTimeArg(r.OverdueAt),
	}
	maps.Copy(set, extra)
	if _, err := db.exec(ctx, tx, db.sb.Update("erasure_requests").SetMap(set).
		Where(sq.Eq{"store_id": r.StoreID, "id": r.ID})); err != nil {
		return err
	}
	if err := db.insertEvents(ctx, tx, a, events...); err != nil {
		return err
	}
	if len(r.ServicesRequired) > 0 {
		if _, err := db.exec(ctx, tx, db.sb.Delete("erasure_awaiting").Where(sq.Eq{"erasure_request_id": r.ID}).
			Where(sq.NotEq{"service": r.Awaiting(r.ServicesRequired)})); err != nil {
			return fmt.Errorf("queues of the services that answered: %w", err)
		}
	}
	return nil
}
