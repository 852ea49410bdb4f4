package workers_test

import (
	"context"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
	"github.com/erasured/erasured/workers"
)

// The purge worker deletes what outlived its store's time to live, and leaves the rest,
// once per interval whichever process asks.
func TestLogPurge(t *testing.T) {
	t.Parallel()
	storagetest.EachSQL(t, func(t *testing.T, db *storage.DB, raw *sqlx.DB) {
		ctx := context.Background()
		for _, id := range []string{"old", "new"} {
			r := erasured.NewRequest("s1", erasured.Values{"request_id": id, "requested_by": "alice"}, erasured.Now())
			if _, err := db.CreateRequest(ctx, r, erasured.Initiator{}, nil); err != nil {
				t.Fatal(err)
			}
		}
		old := erasured.Now().Add(-366 * 24 * time.Hour).Format("2006-01-02T15:04:05.000000Z")
		if _, err := raw.Exec(raw.Rebind(`UPDATE personal_data_logs SET time = ? WHERE resource_id = 'old'`), old); err != nil {
			t.Fatal(err)
		}
		w := &workers.LogPurge{DB: db, Interval: time.Hour, Poll: time.Second, Lease: time.Minute, Batch: 100}
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if got := logRows(t, raw); got != "new" {
			t.Errorf("after the purge the logs hold %q, want new", got)
		}
		if _, err := raw.Exec(raw.Rebind(`UPDATE personal_data_logs SET time = ?`), old); err != nil {
			t.Fatal(err)
		}
		if _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		if got := logRows(t, raw); got != "new" {
			t.Errorf("a second purge within the interval deleted: the logs hold %q", got)
		}
	})
}

func logRows(t *testing.T, raw *sqlx.DB) string {
	t.Helper()
	var ids []string
	if err := raw.Select(&ids, `SELECT resource_id FROM personal_data_logs ORDER BY resource_id`); err != nil {
		t.Fatal(err)
	}
	out := ""
	for i, id := range ids {
		if i > 0 {
			out += ","
		}
		out += id
	}
	return out
}
