package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured"
)

var webhookColumns = []string{
	"id", "store_id", "url", "events", "service", "active", "secret", "created_at", "updated_at", "succeeded_at", "version",
}

type webhookRow struct {
	ID          string               `db:"id"`
	StoreID     string               `db:"store_id"`
	URL         string               `db:"url"`
	Events      jsonColumn[[]string] `db:"events"`
	Service     sql.NullString       `db:"service"`
	Active      bool                 `db:"active"`
	Secret      string               `db:"secret"`
	CreatedAt   timeColumn           `db:"created_at"`
	UpdatedAt   timeColumn           `db:"updated_at"`
	SucceededAt nullTimeColumn       `db:"succeeded_at"`
	Version     int64                `db:"version"`
}

type webhookListRow struct {
	webhookRow
	listTotal
}

func (r *webhookRow) webhook() *erasured.Webhook {
	return &erasured.Webhook{
		ID: r.ID, StoreID: r.StoreID, URL: r.URL, Events: r.Events.V, Service: nullString(r.Service), Active: r.Active,
		Secret: r.Secret, CreatedAt: r.CreatedAt.Time, UpdatedAt: r.UpdatedAt.Time, SucceededAt: r.SucceededAt.Time,
		Version: r.Version,
	}
}

var webhookTable = tableOf("webhooks", erasured.Webhooks, nil)

// WebhookPage is ErasureRequestPage for the store's webhooks, oldest first without
// opts.Sort.
func (db *DB) WebhookPage(ctx context.Context, opts ListOptions) (*Page[*erasured.Webhook], error) {
	return list(ctx, db, webhookTable,
		scope{from: "webhooks", where: "store_id = ?", args: []any{opts.StoreID}, columns: strings.Join(webhookColumns, ", ")},
		opts, func(r *webhookListRow) (*erasured.Webhook, error) { return r.webhook(), nil })
}

// CreateWebhook stores a new webhook and returns it. With idem, it does so at most once
// per key (see Idempotency): a replay returns the webhook the key created, as it is
// now, which does not show its secret.
func (db *DB) CreateWebhook(ctx context.Context, w *erasured.Webhook, idem *Idempotency) (*erasured.Webhook, error) {
	id, replayed, err := db.create(ctx, idem, w.StoreID, erasured.Webhooks.Name, w.ID, func(tx *sqlx.Tx) error {
		_, err := db.exec(ctx, tx, db.sb.Insert("webhooks").Columns(webhookColumns...).Values(
			w.ID, w.StoreID, w.URL, jsonArg(w.Events), w.Service, w.Active, w.Secret,
			db.timeArg(w.CreatedAt), db.timeArg(w.UpdatedAt), db.nullTimeArg(w.SucceededAt), w.Version))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("create webhook: %w", err)
	}
	if replayed {
		return db.Webhook(ctx, w.StoreID, id)
	}
	return w, nil
}

// Webhook returns webhook id of store storeID. It returns ENOTFOUND when there is none.
func (db *DB) Webhook(ctx context.Context, storeID, id string) (*erasured.Webhook, error) {
	w, err := db.webhook(ctx, db.db, storeID, id, false)
	if err != nil {
		return nil, fmt.Errorf("webhook %s: %w", id, err)
	}
	return w, nil
}

func (db *DB) webhook(ctx context.Context, q sqlx.QueryerContext, storeID, id string, lock bool) (*erasured.Webhook, error) {
	id, ok := canonicalID(id)
	if !ok {
		return nil, erasured.Errorf(erasured.ENOTFOUND, "no webhook %q", id)
	}
	b := db.sb.Select(webhookColumns...).From("webhooks").Where(sq.Eq{"store_id": storeID, "id": id})
	if lock && db.dialect == postgres {
		b = b.Suffix("FOR UPDATE")
	}
	var row webhookRow
	err := db.getRow(ctx, q, &row, b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, erasured.Errorf(erasured.ENOTFOUND, "no webhook %q", id)
	}
	if err != nil {
		return nil, err
	}
	return row.webhook(), nil
}

// UpdateWebhook applies in, the values erasured.Webhooks.Decode read for Patch, to
// webhook id of store storeID. Deliveries not yet made go to its new URL. It returns
// ENOTFOUND when there is none and EPRECONDITION when match does not allow its version.
func (db *DB) UpdateWebhook(ctx context.Context, storeID, id string, match *erasured.Match, in erasured.Values) (*erasured.Webhook, error) {
	var w *erasured.Webhook
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var err error
		if w, err = db.webhook(ctx, tx, storeID, id, true); err != nil {
			return err
		}
		if !match.Allows(w.Version) {
			return erasured.Errorf(erasured.EPRECONDITION, "webhook %s is at version %d, which If-Match does not name", id, w.Version)
		}
		w.Apply(in, erasured.Now())
		w.Version++
		return db.saveWebhook(ctx, tx, w)
	})
	if err != nil {
		return nil, fmt.Errorf("update webhook %s: %w", id, err)
	}
	return w, nil
}

func (db *DB) saveWebhook(ctx context.Context, tx sqlx.ExecerContext, w *erasured.Webhook) error {
	_, err := db.exec(ctx, tx, db.sb.Update("webhooks").SetMap(map[string]any{
		"url": w.URL, "events": jsonArg(w.Events), "service": w.Service, "active": w.Active,
		"updated_at": db.timeArg(w.UpdatedAt), "succeeded_at": db.nullTimeArg(w.SucceededAt), "version": w.Version,
	}).Where(sq.Eq{"id": w.ID}))
	return err
}

// DeleteWebhook deletes webhook id of store storeID, and its deliveries, made or not.
// It returns ENOTFOUND when there is none.
func (db *DB) DeleteWebhook(ctx context.Context, storeID, id string) error {
	cid, ok := canonicalID(id)
	n, err := int64(0), error(nil)
	if ok {
		n, err = db.exec(ctx, db.db, db.sb.Delete("webhooks").Where(sq.Eq{"store_id": storeID, "id": cid}))
	}
	if err == nil && n == 0 {
		err = erasured.Errorf(erasured.ENOTFOUND, "no webhook %q", id)
	}
	if err != nil {
		return fmt.Errorf("delete webhook %s: %w", id, err)
	}
	return nil
}

// announcement returns, read in tx, the announcement of event on r to the webhooks of
// r's store that want it (erasured.Announce), or nil when none does. insertEvents writes
// it, in the statement of the change's first event: the outbox's row, committed or
// rolled back with the change it announces, at no round trip of its own. FanOut makes
// its deliveries. A new request reads its store's webhooks with its registry instead
// (registryAndWebhooks).
func (db *DB) announcement(ctx context.Context, tx sqlx.QueryerContext, event string, r *erasured.ErasureRequest, now time.Time) (*erasured.Announcement, error) {
	query, err := db.fixedSQL("active webhooks", func(sb sq.StatementBuilderType) sq.Sqlizer {
		return sb.Select("id", "events", "service").From("webhooks").Where("active = ? AND store_id = ?")
	})
	if err != nil {
		return nil, err
	}
	var rows []hookRow
	if err := db.selectSQL(ctx, tx, &rows, query, []any{true, r.StoreID}); err != nil {
		return nil, fmt.Errorf("webhooks of %s: %w", event, err)
	}
	return announce(event, r, rows, now)
}

// hookRow is what an announcement needs of an active webhook: the statements that read
// it select active ones only. A row of registryAndWebhooks that holds a name of the
// registry has no ID.
type hookRow struct {
	Name    sql.NullString       `db:"name"`
	ID      sql.NullString       `db:"id"`
	Events  jsonColumn[[]string] `db:"events"`
	Service sql.NullString       `db:"service"`
}

// announce is erasured.Announce to the webhooks among rows.
func announce(event string, r *erasured.ErasureRequest, rows []hookRow, now time.Time) (*erasured.Announcement, error) {
	var hooks []*erasured.Webhook
	for _, row := range rows {
		if row.ID.Valid {
			hooks = append(hooks, &erasured.Webhook{ID: row.ID.String, StoreID: r.StoreID, Events: row.Events.V,
				Service: nullString(row.Service), Active: true})
		}
	}
	return erasured.Announce(event, r, hooks, now)
}

// insertAnnouncement is the statement that writes a, with "?" placeholders.
func (db *DB) insertAnnouncement(a *erasured.Announcement) sq.InsertBuilder {
	return sq.Insert("webhook_events").
		Columns("id", "store_id", "event", "erasure_request_id", "webhook_ids", "payload", "created_at").
		Values(a.ID, a.StoreID, a.Event, a.ErasureRequestID, jsonArg(a.WebhookIDs), string(a.Payload), db.timeArg(a.CreatedAt))
}

type announcementRow struct {
	ID               string               `db:"id"`
	StoreID          string               `db:"store_id"`
	Event            string               `db:"event"`
	ErasureRequestID string               `db:"erasure_request_id"`
	WebhookIDs       jsonColumn[[]string] `db:"webhook_ids"`
	CreatedAt        timeColumn           `db:"created_at"`
}

// FanOut makes up to limit announcements, the oldest first, into their deliveries, due
// at now: one per webhook that wanted the event and still exists. It returns how many
// announcements it made so. Processes that fan out at once take different ones (SKIP
// LOCKED on PostgreSQL; SQLite's one writer), and each is fanned out once.
func (db *DB) FanOut(ctx context.Context, now time.Time, limit int) (int, error) {
	n := 0
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		q := db.sb.Select("id", "store_id", "event", "erasure_request_id", "webhook_ids", "created_at").
			From("webhook_events").Where(sq.Expr("fanned_out_at IS NULL")).OrderBy("id").Limit(uint64(limit))
		if db.dialect == postgres {
			q = q.Suffix("FOR UPDATE SKIP LOCKED")
		}
		var rows []announcementRow
		if err := db.selectRows(ctx, tx, &rows, q); err != nil || len(rows) == 0 {
			return err
		}
		var wanted []string
		for _, r := range rows {
			wanted = append(wanted, r.WebhookIDs.V...)
		}
		var existing []string
		if err := db.selectRows(ctx, tx, &existing, db.sb.Select("id").From("webhooks").Where(sq.Eq{"id": wanted})); err != nil {
			return err
		}
		b := db.sb.Insert("webhook_deliveries").Columns("id", "store_id", "webhook_id", "event", "erasure_request_id",
			"event_id", "status", "next_attempt_at", "created_at", "updated_at")
		made := false
		ids := make([]string, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
			a := erasured.Announcement{ID: r.ID, StoreID: r.StoreID, Event: r.Event, ErasureRequestID: r.ErasureRequestID,
				CreatedAt: r.CreatedAt.Time}
			var to []string
			for _, id := range r.WebhookIDs.V {
				if slices.Contains(existing, id) {
					to = append(to, id)
				}
			}
			for _, d := range a.Deliveries(to, now) {
				made = true
				b = b.Values(d.ID, d.StoreID, d.WebhookID, d.Event, d.ErasureRequestID, d.EventID, d.Status,
					db.nullTimeArg(d.NextAttemptAt), db.timeArg(d.CreatedAt), db.timeArg(d.UpdatedAt))
			}
		}
		if made {
			if _, err := db.exec(ctx, tx, b); err != nil {
				return fmt.Errorf("deliveries: %w", err)
			}
		}
		n = len(rows)
		_, err := db.exec(ctx, tx, db.sb.Update("webhook_events").Set("fanned_out_at", db.timeArg(now)).Where(sq.Eq{"id": ids}))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("fan out announcements: %w", err)
	}
	return n, nil
}

var deliveryColumns = []string{
	"id", "store_id", "webhook_id", "event", "erasure_request_id", "event_id", "status", "attempts",
	"last_status_code", "last_error", "next_attempt_at", "created_at", "updated_at",
}

type deliveryRow struct {
	ID               string         `db:"id"`
	StoreID          string         `db:"store_id"`
	WebhookID        string         `db:"webhook_id"`
	Event            string         `db:"event"`
	ErasureRequestID string         `db:"erasure_request_id"`
	EventID          string         `db:"event_id"`
	Status           string         `db:"status"`
	Attempts         int            `db:"attempts"`
	LastStatusCode   sql.NullInt64  `db:"last_status_code"`
	LastError        sql.NullString `db:"last_error"`
	NextAttemptAt    nullTimeColumn `db:"next_attempt_at"`
	CreatedAt        timeColumn     `db:"created_at"`
	UpdatedAt        timeColumn     `db:"updated_at"`
}

type deliveryListRow struct {
	deliveryRow
	listTotal
}

func (r *deliveryRow) delivery() *erasured.WebhookDelivery {
	d := &erasured.WebhookDelivery{
		ID: r.ID, StoreID: r.StoreID, WebhookID: r.WebhookID, Event: r.Event, ErasureRequestID: r.ErasureRequestID,
		EventID: r.EventID, Status: r.Status, Attempts: r.Attempts, LastError: nullString(r.LastError),
		NextAttemptAt: r.NextAttemptAt.Time, CreatedAt: r.CreatedAt.Time, UpdatedAt: r.UpdatedAt.Time,
	}
	if r.LastStatusCode.Valid {
		code := int(r.LastStatusCode.Int64)
		d.LastStatusCode = &code
	}
	return d
}

var deliveryTable = tableOf("webhook_deliveries", erasured.WebhookDeliveries, nil)

// WebhookDeliveryPage is ErasureRequestPage for the deliveries of webhook opts.Parent,
// newest first without opts.Sort. It returns ENOTFOUND when the store has no such
// webhook.
func (db *DB) WebhookDeliveryPage(ctx context.Context, opts ListOptions) (*Page[*erasured.WebhookDelivery], error) {
	w, err := db.Webhook(ctx, opts.StoreID, opts.Parent)
	if err != nil {
		return nil, err
	}
	return list(ctx, db, deliveryTable,
		scope{from: "webhook_deliveries", where: "store_id = ? AND webhook_id = ?", args: []any{opts.StoreID, w.ID},
			columns: strings.Join(deliveryColumns, ", ")},
		opts, func(r *deliveryListRow) (*erasured.WebhookDelivery, error) { return r.delivery(), nil })
}

// deliveryDue is the condition of the deliveries still to make: the predicate of the
// index webhook_deliveries_due, written as it is there so that the planner can use it.
var deliveryDue = sq.Expr("status = 'pending'")

// ClaimDelivery leases to the caller, until now+lease, the delivery that has been due
// the longest (as ClaimErasure does erasure requests), and returns it with its webhook as
// it is now, or nil when the webhook was deleted meanwhile (and the delivery with it).
// It returns nil and no error when nothing is due.
//
// A delivery that has succeeded or failed for good is never claimed again. One whose
// process died between sending it and recording the answer is claimed again once the
// lease runs out, and sent again: deliveries are at least once.
func (db *DB) ClaimDelivery(ctx context.Context, lease time.Duration, now time.Time) (*erasured.WebhookDelivery, *erasured.Webhook, error) {
	var row deliveryRow
	err := db.claim(ctx, "webhook_deliveries", sq.And{deliveryDue, sq.LtOrEq{"next_attempt_at": db.timeArg(now)}},
		[]string{"next_attempt_at", "id"}, lease, now, deliveryColumns, &row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, fmt.Errorf("claim delivery: %w", err)
	}
	d := row.delivery()
	if err := db.getRow(ctx, db.db, &d.Payload, db.sb.Select("payload").From("webhook_events").Where(sq.Eq{"id": d.EventID})); err != nil {
		return nil, nil, fmt.Errorf("claim delivery %s: its body: %w", d.ID, err)
	}
	w, err := db.webhook(ctx, db.db, d.StoreID, d.WebhookID, false)
	if erasured.ErrorCode(err) == erasured.ENOTFOUND {
		return d, nil, nil // deleted since: its deliveries went with it
	}
	if err != nil {
		return nil, nil, fmt.Errorf("claim delivery %s: %w", d.ID, err)
	}
	return d, w, nil
}

// RecordAttempt records the attempt that d, claimed with ClaimDelivery, now tells of
// (erasured.WebhookDelivery.Succeeded or Failed), and what it means for its webhook w,
// as ClaimDelivery read it (erasured.Webhook.Attempted): the webhook is written only
// when that changes it, so that a healthy webhook costs no write per delivery. With w
// nil, no attempt was made (erasured.WebhookDelivery.Abandon) and the webhook is left
// alone. It returns ECONFLICT when d is no longer pending: another worker recorded
// it after d's lease ran out.
func (db *DB) RecordAttempt(ctx context.Context, d *erasured.WebhookDelivery, w *erasured.Webhook) error {
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		n, err := db.exec(ctx, tx, db.sb.Update("webhook_deliveries").SetMap(map[string]any{
			"status": d.Status, "attempts": d.Attempts, "last_status_code": d.LastStatusCode, "last_error": d.LastError,
			"next_attempt_at": db.nullTimeArg(d.NextAttemptAt), "updated_at": db.timeArg(d.UpdatedAt), "claimed_until": nil,
		}).Where(sq.Eq{"id": d.ID}).Where(deliveryDue))
		if err != nil {
			return err
		}
		if n == 0 {
			return erasured.Errorf(erasured.ECONFLICT, "delivery %s is no longer pending", d.ID)
		}
		if w == nil {
			return nil
		}
		if seen := *w; !seen.Attempted(d, d.UpdatedAt) {
			return nil
		}
		// Read it again under its lock: other deliveries to it are recorded meanwhile.
		cur, err := db.webhook(ctx, tx, w.StoreID, w.ID, true)
		if erasured.ErrorCode(err) == erasured.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		if !cur.Attempted(d, d.UpdatedAt) {
			return nil
		}
		return db.saveWebhook(ctx, tx, cur)
	})
	if err != nil {
		return fmt.Errorf("record delivery %s: %w", d.ID, err)
	}
	return nil
}

// MarkOverdue finds at most limit erasure requests that are past their due date, not
// final, and not yet marked, and marks each (erasured.ErasureRequest.MarkOverdue): an
// event, and the deliveries of erasure_request.overdue, in one transaction per request.
// Processes that do it at once take turns on each request's lock, and each request is
// marked once. It returns how many it marked.
func (db *DB) MarkOverdue(ctx context.Context, now time.Time, limit int) (int, error) {
	var due []struct {
		StoreID string `db:"store_id"`
		ID      string `db:"id"`
	}
	if err := db.selectRows(ctx, db.db, &due, db.sb.Select("store_id", "id").From("erasure_requests").
		Where(sq.Expr(unfinished)).Where(sq.Lt{"due_at": db.timeArg(now)}).Where(sq.Eq{"overdue_at": nil}).
		OrderBy("due_at").Limit(uint64(limit))); err != nil {
		return 0, fmt.Errorf("overdue erasure requests: %w", err)
	}
	marked := 0
	for _, c := range due {
		err := db.inTx(ctx, func(tx *sqlx.Tx) error {
			r, _, err := db.lockErasure(ctx, tx, c.StoreID, c.ID)
			if err != nil {
				return err
			}
			ev := r.MarkOverdue(now)
			if ev == nil {
				return nil
			}
			marked++
			return db.record(ctx, tx, r, r.Status, []*erasured.Event{ev}, nil, now, erasured.EventOverdue)
		})
		if err != nil {
			return marked, fmt.Errorf("mark erasure request %s overdue: %w", c.ID, err)
		}
	}
	return marked, nil
}

// OverdueCount counts the erasure requests of every store that are past their due date
// at now and not final, from the index erasure_requests_unfinished.
func (db *DB) OverdueCount(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	if err := db.getRow(ctx, db.db, &n, db.sb.Select("COUNT(*)").From("erasure_requests").
		Where(sq.Expr(unfinished)).Where(sq.Lt{"due_at": db.timeArg(now)})); err != nil {
		return 0, fmt.Errorf("count overdue erasure requests: %w", err)
	}
	return n, nil
}
