package storage

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/pagination"
)

var logColumns = []string{"id", "store_id", "resource_type", "resource_id", "event_type", "time", "initiator", "delta"}

type logRow struct {
	ID           string                         `db:"id"`
	StoreID      string                         `db:"store_id"`
	ResourceType string                         `db:"resource_type"`
	ResourceID   string                         `db:"resource_id"`
	EventType    string                         `db:"event_type"`
	Time         timeColumn                     `db:"time"`
	Initiator    jsonColumn[erasured.Initiator] `db:"initiator"`
	Delta        []byte                         `db:"delta"` // decoded by hand, to keep numbers exact
}

type logListRow struct {
	logRow
	listTotal
}

func (r *logRow) entry() (*erasured.LogEntry, error) {
	e := &erasured.LogEntry{ID: r.ID, StoreID: r.StoreID, ResourceType: r.ResourceType, ResourceID: r.ResourceID,
		EventType: r.EventType, Time: r.Time.Time, Initiator: r.Initiator.V}
	if err := decodeObject(r.Delta, &e.Delta); err != nil {
		return nil, fmt.Errorf("log entry %s: delta column: %w", r.ID, err)
	}
	return e, nil
}

var logTable = tableOf("personal_data_logs", erasured.LogEntries, nil)

// logBatch is how many log entries one INSERT writes: an erasure of a person with
// thousands of requests logs each, in statements of a bounded size.
const logBatch = 500

// insertLogs appends entries to the personal data logs, in the transaction of the
// change they record.
func (db *DB) insertLogs(ctx context.Context, tx sqlx.ExecerContext, entries ...*erasured.LogEntry) error {
	for len(entries) > 0 {
		n := min(len(entries), logBatch)
		b := db.sb.Insert("personal_data_logs").
			Columns("id", "store_id", "resource_type", "resource_id", "subject", "event_type", "time", "initiator", "delta")
		for _, e := range entries[:n] {
			delta, err := db.arg(e.Delta)
			if err != nil {
				return err
			}
			if delta == nil {
				delta = "{}"
			}
			b = b.Values(e.ID, e.StoreID, e.ResourceType, e.ResourceID, e.Subject, e.EventType, db.timeArg(e.Time),
				jsonArg(e.Initiator), delta)
		}
		if _, err := db.exec(ctx, tx, b); err != nil {
			return fmt.Errorf("log personal data change: %w", err)
		}
		entries = entries[n:]
	}
	return nil
}

// eraseLogs turns every value of the delta of the log entries that where selects to
// null, and forgets their subject: the entries stay, as the record that something
// happened, and hold nothing personal.
func (db *DB) eraseLogs(ctx context.Context, tx sqlx.ExecerContext, where sq.Sqlizer) error {
	nulled := `(SELECT json_group_object(key, NULL) FROM json_each(delta))`
	if db.dialect == postgres {
		nulled = `COALESCE((SELECT jsonb_object_agg(k, 'null'::jsonb) FROM jsonb_object_keys(delta) AS k), '{}'::jsonb)`
	}
	_, err := db.exec(ctx, tx, db.sb.Update("personal_data_logs").
		Set("delta", sq.Expr(nulled)).Set("subject", nil).
		Where(where))
	if err != nil {
		return fmt.Errorf("erase personal data logs: %w", err)
	}
	return nil
}

// LogEntryPage returns the page opts asks for of the personal data logs of one entry of
// a set in opts.StoreID, oldest first unless opts.Sort says otherwise: those of request
// resourceID (resource type requests), or those of every request of person resourceID
// (resource type user). Other resource types hold nothing here, and their lists are
// empty. opts.Filter must be empty: the entry is the filter.
//
// Either list is one range of an index that leads with the store and the entry and ends
// with (time, id), the list's order, so that a page reads only its own rows however
// many entries the store logs.
func (db *DB) LogEntryPage(ctx context.Context, opts ListOptions, resourceType, resourceID string) (*Page[*erasured.LogEntry], error) {
	sc := scope{from: "personal_data_logs", columns: strings.Join(logColumns, ", ")}
	opts.narrowed = true
	switch resourceType {
	case erasured.ResourceUser:
		sc.where, sc.args = "store_id = ? AND subject = ?", []any{opts.StoreID, resourceID}
	case erasured.ResourceRequests:
		sc.where, sc.args = "store_id = ? AND resource_id = ? AND resource_type = ?", []any{opts.StoreID, resourceID, resourceType}
	default:
		sc.where, sc.args = "store_id = ? AND 1=0", []any{opts.StoreID}
	}
	return list(ctx, db, logTable, sc, opts, (*logListRow).entry)
}

// RelatedDataEntryPage returns one offset page of the entries of the personal data set
// that resource resourceID of resourceType belongs to in storeID: the person (user)
// and each of their requests, by request_id. A request whose person was erased is a set
// of its own; a person of whom the store holds no request, and a resource of any other
// type, have none.
func (db *DB) RelatedDataEntryPage(ctx context.Context, storeID, resourceType, resourceID string, page pagination.Page) (*Page[*erasured.RelatedDataEntry], error) {
	p := &Page[*erasured.RelatedDataEntry]{Items: []*erasured.RelatedDataEntry{}}
	subject := resourceID
	switch resourceType {
	case erasured.ResourceUser:
	case erasured.ResourceRequests:
		var by sql.NullString
		err := db.getRow(ctx, db.db, &by, db.sb.Select("requested_by").From("requests").
			Where(sq.Eq{"store_id": storeID, "request_id": resourceID}))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			return p, nil
		case err != nil:
			return nil, fmt.Errorf("related data entries: %w", err)
		case !by.Valid:
			p.Total = 1
			if page.Offset == 0 {
				p.Items = append(p.Items, &erasured.RelatedDataEntry{ResourceType: resourceType, ResourceID: resourceID})
			}
			return p, nil
		}
		subject = by.String
	default:
		return p, nil
	}
	held := db.sb.Select().From("requests").Where(sq.Eq{"store_id": storeID, "requested_by": subject})
	var n int
	if err := db.getRow(ctx, db.db, &n, held.Column("COUNT(*)")); err != nil {
		return nil, fmt.Errorf("related data entries: %w", err)
	}
	if n == 0 {
		return p, nil
	}
	// The person comes first, then their requests: offset 0 is the person.
	p.Total = n + 1
	limit, offset := page.Limit, page.Offset-1
	if page.Offset == 0 {
		p.Items = append(p.Items, &erasured.RelatedDataEntry{ResourceType: erasured.ResourceUser, ResourceID: subject})
		limit, offset = limit-1, 0
	}
	if limit == 0 {
		return p, nil
	}
	var ids []string
	if err := db.selectRows(ctx, db.db, &ids, held.Column("request_id").OrderBy("request_id").
		Limit(uint64(limit)).Offset(uint64(offset))); err != nil {
		return nil, fmt.Errorf("related data entries: %w", err)
	}
	for _, id := range ids {
		p.Items = append(p.Items, &erasured.RelatedDataEntry{ResourceType: erasured.ResourceRequests, ResourceID: id})
	}
	return p, nil
}

// LogsTTL returns how long storeID keeps its personal data logs: erasured.DefaultLogsTTL
// days unless it set its own.
func (db *DB) LogsTTL(ctx context.Context, storeID string) (*erasured.TimeToLive, error) {
	t := &erasured.TimeToLive{StoreID: storeID, Days: erasured.DefaultLogsTTL}
	err := db.getRow(ctx, db.db, &t.Days, db.sb.Select("days").From("logs_ttl").Where(sq.Eq{"store_id": storeID}))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("logs time to live: %w", err)
	}
	return t, nil
}

// SetLogsTTL stores t, a store's time to live, and returns it.
func (db *DB) SetLogsTTL(ctx context.Context, t *erasured.TimeToLive, now time.Time) (*erasured.TimeToLive, error) {
	_, err := db.exec(ctx, db.db, db.sb.Insert("logs_ttl").Columns("store_id", "days", "updated_at").
		Values(t.StoreID, t.Days, db.timeArg(now)).
		Suffix("ON CONFLICT (store_id) DO UPDATE SET days = excluded.days, updated_at = excluded.updated_at"))
	if err != nil {
		return nil, fmt.Errorf("set logs time to live: %w", err)
	}
	return t, nil
}

// decodeObject reads a JSON object column as erasured.Object reads a client's: numbers
// stay json.Number, exactly as written. NULL is a nil map.
func decodeObject(b []byte, dst *map[string]any) error {
	if b == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(dst); err != nil {
		return fmt.Errorf("%w: %v", ErrUnreadable, err)
	}
	return nil
}
