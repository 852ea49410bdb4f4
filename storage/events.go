package storage

import (
	"context"
	"database/sql"
	"fmt"

	sq "github.com/Masterminds/squirrel"
	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured"
)

var eventColumns = []string{
	"id", "erasure_request_id", "store_id", "created_at", "actor", "old_status", "new_status", "report",
}

type eventRow struct {
	ID               int64                       `db:"id"`
	ErasureRequestID string                      `db:"erasure_request_id"`
	StoreID          string                      `db:"store_id"`
	CreatedAt        timeColumn                  `db:"created_at"`
	Actor            string                      `db:"actor"`
	OldStatus        sql.NullString              `db:"old_status"`
	NewStatus        string                      `db:"new_status"`
	Report           jsonColumn[erasured.Report] `db:"report"`
}

func (r *eventRow) event() erasured.Event {
	ev := erasured.Event{
		ID:               r.ID,
		ErasureRequestID: r.ErasureRequestID,
		StoreID:          r.StoreID,
		CreatedAt:        r.CreatedAt.Time,
		Actor:            r.Actor,
		NewStatus:        erasured.Status(r.NewStatus),
		Report:           r.Report.V,
	}
	if r.OldStatus.Valid {
		old := erasured.Status(r.OldStatus.String)
		ev.OldStatus = &old
	}
	return ev
}

// insertEvents appends events to the audit trail and fills in their ids, and writes
// announcement a, if any, with the first of them: on PostgreSQL in its statement (a
// data-modifying WITH runs whether or not it is read), so that announcing a change
// costs it no round trip.
func (db *DB) insertEvents(ctx context.Context, tx sqlx.ExtContext, a *erasured.Announcement, events ...*erasured.Event) error {
	if a != nil && (db.dialect != postgres || len(events) == 0) {
		if _, err := db.exec(ctx, tx, db.insertAnnouncement(a)); err != nil {
			return fmt.Errorf("announce %s: %w", a.Event, err)
		}
		a = nil
	}
	for _, ev := range events {
		var old *string
		if ev.OldStatus != nil {
			s := string(*ev.OldStatus)
			old = &s
		}
		values := []any{ev.ErasureRequestID, ev.StoreID, db.timeArg(ev.CreatedAt), ev.Actor, old, string(ev.NewStatus), jsonArg(ev.Report)}
		insert := func(b sq.StatementBuilderType, values ...any) sq.InsertBuilder {
			return b.Insert("erasure_events").
				Columns("erasure_request_id", "store_id", "created_at", "actor", "old_status", "new_status", "report").
				Values(values...).
				Suffix("RETURNING id")
		}
		var (
			query string
			err   error
		)
		if a != nil {
			var stmt sq.Sqlizer
			if stmt, err = db.with("outbox", db.insertAnnouncement(a), insert(sq.StatementBuilder, values...)); err != nil {
				return err
			}
			if query, values, err = stmt.ToSql(); err != nil {
				return fmt.Errorf("build statement: %w", err)
			}
			a = nil
		} else if query, err = db.fixedSQL("insert event", func(sb sq.StatementBuilderType) sq.Sqlizer {
			return insert(sb, placeholders(len(values))...)
		}); err != nil {
			return err
		}
		if err := db.getSQL(ctx, tx, &ev.ID, query, values); err != nil {
			return fmt.Errorf("append event: %w", err)
		}
	}
	return nil
}

// placeholders is the dialect's placeholder format.
func (db *DB) placeholders() sq.PlaceholderFormat {
	if db.dialect == postgres {
		return sq.Dollar
	}
	return sq.Question
}

// with is the statement "WITH name AS (first) then", both built with "?" placeholders,
// numbered at once in the dialect's format.
func (db *DB) with(name string, first, then sq.Sqlizer) (sq.Sqlizer, error) {
	firstSQL, firstArgs, err := first.ToSql()
	if err != nil {
		return nil, err
	}
	thenSQL, thenArgs, err := then.ToSql()
	if err != nil {
		return nil, err
	}
	q, err := db.placeholders().ReplacePlaceholders("WITH " + name + " AS (" + firstSQL + ") " + thenSQL)
	if err != nil {
		return nil, err
	}
	return sq.Expr(q, append(firstArgs, thenArgs...)...), nil
}

// ErasureEvents returns the audit trail of erasure request requestID of store storeID,
// oldest first. It returns ENOTFOUND when the store has no such request.
func (db *DB) ErasureEvents(ctx context.Context, storeID, requestID string) ([]erasured.Event, error) {
	byRequest, err := db.ErasureEventsFor(ctx, storeID, []string{requestID})
	if err != nil {
		return nil, err
	}
	// Every request is created with its first event in one transaction, so no events
	// means no request, and one query answers both.
	id, _ := canonicalID(requestID)
	events, ok := byRequest[id]
	if !ok {
		return nil, erasured.Errorf(erasured.ENOTFOUND, "no erasure request %q", requestID)
	}
	return events, nil
}

// ErasureEventsFor returns the audit trails of the erasure requests requestIDs of store
// storeID, oldest first, in one query: the included events of a page. The map is keyed by
// the requests' ids as they are stored (lower-case uuids); requests the store does not
// have have no entry.
func (db *DB) ErasureEventsFor(ctx context.Context, storeID string, requestIDs []string) (map[string][]erasured.Event, error) {
	out := make(map[string][]erasured.Event)
	ids := make([]string, 0, len(requestIDs))
	for _, id := range requestIDs {
		if id, ok := canonicalID(id); ok {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	var rows []eventRow
	err := db.selectRows(ctx, db.db, &rows, db.sb.Select(eventColumns...).From("erasure_events").
		Where(sq.Eq{"store_id": storeID, "erasure_request_id": ids}).
		OrderBy("erasure_request_id", "id"))
	if err != nil {
		return nil, fmt.Errorf("erasure events: %w", err)
	}
	for i := range rows {
		out[rows[i].ErasureRequestID] = append(out[rows[i].ErasureRequestID], rows[i].event())
	}
	return out, nil
}
