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

var requestColumns = []string{
	"store_id", "request_id", "requested_by", "status", "note_id", "community_server_id",
	"requested_at", "created_at", "updated_at", "content", "platform_message_id",
	"platform_channel_id", "metadata", "similarity_score", "dataset_name", "dataset_item_id",
	"erased_at", "version",
}

type requestRow struct {
	StoreID           string          `db:"store_id"`
	RequestID         string          `db:"request_id"`
	RequestedBy       sql.NullString  `db:"requested_by"`
	Status            string          `db:"status"`
	NoteID            sql.NullString  `db:"note_id"`
	CommunityServerID sql.NullString  `db:"community_server_id"`
	RequestedAt       timeColumn      `db:"requested_at"`
	CreatedAt         timeColumn      `db:"created_at"`
	UpdatedAt         timeColumn      `db:"updated_at"`
	Content           sql.NullString  `db:"content"`
	PlatformMessageID sql.NullString  `db:"platform_message_id"`
	PlatformChannelID sql.NullString  `db:"platform_channel_id"`
	Metadata          []byte          `db:"metadata"` // decoded by hand, to keep numbers exact
	SimilarityScore   sql.NullFloat64 `db:"similarity_score"`
	DatasetName       sql.NullString  `db:"dataset_name"`
	DatasetItemID     sql.NullString  `db:"dataset_item_id"`
	ErasedAt          nullTimeColumn  `db:"erased_at"`
	Version           int64           `db:"version"`
}

type requestListRow struct {
	requestRow
	listTotal
}

func (r *requestRow) request() (*erasured.Request, error) {
	out := &erasured.Request{
		RequestID:         r.RequestID,
		StoreID:           r.StoreID,
		RequestedBy:       nullString(r.RequestedBy),
		Status:            erasured.RequestStatus(r.Status),
		NoteID:            nullString(r.NoteID),
		CommunityServerID: nullString(r.CommunityServerID),
		RequestedAt:       r.RequestedAt.Time,
		CreatedAt:         r.CreatedAt.Time,
		UpdatedAt:         r.UpdatedAt.Time,
		Content:           nullString(r.Content),
		PlatformMessageID: nullString(r.PlatformMessageID),
		PlatformChannelID: nullString(r.PlatformChannelID),
		DatasetName:       nullString(r.DatasetName),
		DatasetItemID:     nullString(r.DatasetItemID),
		ErasedAt:          r.ErasedAt.Time,
		Version:           r.Version,
	}
	if r.SimilarityScore.Valid {
		out.SimilarityScore = &r.SimilarityScore.Float64
	}
	if err := decodeObject(r.Metadata, &out.Metadata); err != nil {
		return nil, fmt.Errorf("request %q: metadata column: %w", r.RequestID, err)
	}
	return out, nil
}

func nullString(s sql.NullString) *string {
	if !s.Valid {
		return nil
	}
	return &s.String
}

var requestTable = tableOf("requests", erasured.Requests, nil)

// RequestPage is ErasureRequestPage for Open Notes requests. Without opts.Sort the
// newest requested_at comes first.
func (db *DB) RequestPage(ctx context.Context, opts ListOptions) (*Page[*erasured.Request], error) {
	return list(ctx, db, requestTable,
		scope{from: "requests", where: "store_id = ?", args: []any{opts.StoreID}, columns: strings.Join(requestColumns, ", ")},
		opts, (*requestListRow).request)
}

// CreateRequest stores a new request, created by by, and its personal data log entry,
// and returns it. With idem, it does so at most once per key (see Idempotency): a replay
// returns the request the key created, as it is now. It returns ECONFLICT when the store
// already has a request with its request_id; another store's request_id is no obstacle.
func (db *DB) CreateRequest(ctx context.Context, r *erasured.Request, by erasured.Initiator, idem *Idempotency) (*erasured.Request, error) {
	id, replayed, err := db.create(ctx, idem, r.StoreID, erasured.Requests.Name, r.RequestID, func(tx *sqlx.Tx) error {
		if err := db.insertRequest(ctx, tx, r); err != nil {
			return err
		}
		return db.insertLogs(ctx, tx, erasured.RequestLog(r, erasured.RequestCreated, by, r.CreatedAt))
	})
	if err != nil {
		return nil, fmt.Errorf("create request %q: %w", r.RequestID, err)
	}
	if replayed {
		return db.Request(ctx, r.StoreID, id)
	}
	return r, nil
}

// insertRequest inserts r in the transaction of CreateRequest, which may also record an
// Idempotency-Key. On PostgreSQL an ECONFLICT aborts that transaction.
func (db *DB) insertRequest(ctx context.Context, e sqlx.ExtContext, r *erasured.Request) error {
	metadata, err := db.arg(r.Metadata)
	if err != nil {
		return err
	}
	_, err = db.exec(ctx, e, db.sb.Insert("requests").Columns(requestColumns...).Values(
		r.StoreID, r.RequestID, r.RequestedBy, string(r.Status), r.NoteID, r.CommunityServerID,
		db.timeArg(r.RequestedAt), db.timeArg(r.CreatedAt), db.timeArg(r.UpdatedAt), r.Content, r.PlatformMessageID,
		r.PlatformChannelID, metadata, r.SimilarityScore, r.DatasetName, r.DatasetItemID,
		db.nullTimeArg(r.ErasedAt), r.Version,
	))
	if isUniqueViolation(err) {
		return erasured.Errorf(erasured.ECONFLICT, "a request with request_id %q already exists", r.RequestID)
	}
	return err
}

// Request returns request requestID of store storeID. It returns EGONE when a deletion
// removed it, and ENOTFOUND when there is none, including when it belongs to another store.
func (db *DB) Request(ctx context.Context, storeID, requestID string) (*erasured.Request, error) {
	r, err := db.request(ctx, db.db, storeID, requestID, false)
	if err != nil {
		return nil, fmt.Errorf("request %q: %w", requestID, err)
	}
	return r, nil
}

// request reads one request, as Request does. With lock, on PostgreSQL, it holds the
// row's lock until the transaction q ends; SQLite needs no lock, since its transactions
// hold the database's write lock from their start.
func (db *DB) request(ctx context.Context, q sqlx.QueryerContext, storeID, requestID string, lock bool) (*erasured.Request, error) {
	b := db.sb.Select(requestColumns...).From("requests").
		Where(sq.Eq{"store_id": storeID, "request_id": requestID})
	if lock && db.dialect == postgres {
		b = b.Suffix("FOR UPDATE")
	}
	var row requestRow
	err := db.getRow(ctx, q, &row, b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, db.missingRequest(ctx, q, storeID, requestID)
	}
	if err != nil {
		return nil, err
	}
	return row.request()
}

// missingRequest tells apart a request that never existed from one a deletion removed:
// the deletion row, which holds nothing personal, is what remains of it.
func (db *DB) missingRequest(ctx context.Context, q sqlx.QueryerContext, storeID, requestID string) error {
	var n int
	err := db.getRow(ctx, q, &n, db.sb.Select("COUNT(*)").From("deletions").
		Where(sq.Eq{"store_id": storeID, "request_id": requestID, "status": erasured.DeletionSuccess}))
	if err != nil {
		return err
	}
	if n > 0 {
		return erasured.Errorf(erasured.EGONE, "request %q was deleted", requestID)
	}
	return erasured.Errorf(erasured.ENOTFOUND, "no request %q", requestID)
}

// UpdateRequest applies in, the values erasured.Requests.Decode read for Patch, to request
// requestID of store storeID, on behalf of by, and returns the request as stored, its
// Version one higher. The row is locked from the read to the write, so concurrent
// patches apply one after the other and If-Match sees the latest version. The change's
// personal data log entry is written in the same transaction.
//
// It returns ENOTFOUND or EGONE as Request does, and EPRECONDITION when match does not
// allow the stored Version.
func (db *DB) UpdateRequest(ctx context.Context, storeID, requestID string, by erasured.Initiator, match *erasured.Match, in erasured.Values) (*erasured.Request, error) {
	var r *erasured.Request
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		cur, err := db.request(ctx, tx, storeID, requestID, true)
		if err != nil {
			return err
		}
		if !match.Allows(cur.Version) {
			return erasured.Errorf(erasured.EPRECONDITION, "request %q is at version %d, which If-Match does not name: read it again", requestID, cur.Version)
		}
		cur.Apply(in, erasured.Now())
		cur.Version++
		set := map[string]any{"updated_at": db.timeArg(cur.UpdatedAt), "version": cur.Version}
		changed := make([]string, 0, len(in))
		for name := range in {
			a, _ := erasured.Requests.Attribute(name)
			if set[a.Column], err = db.arg(erasured.Requests.Value(cur, name)); err != nil {
				return err
			}
			changed = append(changed, name)
		}
		if _, err := db.exec(ctx, tx, db.sb.Update("requests").SetMap(set).
			Where(sq.Eq{"store_id": storeID, "request_id": requestID})); err != nil {
			return err
		}
		r = cur
		return db.insertLogs(ctx, tx, erasured.RequestLog(cur, erasured.RequestUpdated, by, cur.UpdatedAt, changed...))
	})
	if err != nil {
		return nil, fmt.Errorf("update request %q: %w", requestID, err)
	}
	return r, nil
}
