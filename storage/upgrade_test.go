package storage_test

import (
	"context"
	"strings"
	"testing"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
)

// A database made by the versions before orchestration keeps its requests and their
// trails through the upgrade: on SQLite the erasure_requests table is rebuilt under the
// trail's foreign key, which must hold. A request filed before the upgrade recorded no
// services_required, and waits for the server's --erasure-services, as it did.
func TestUpgradeKeepsEarlierRequests(t *testing.T) {
	t.Parallel()
	storagetest.EachURL(t, func(t *testing.T, u string) {
		ctx := context.Background()
		raw := storagetest.SQL(t, u)
		schema := erasured.PostgresSchema
		if strings.HasPrefix(u, "sqlite:") {
			schema = erasured.SQLiteSchema
		}
		before, _, ok := strings.Cut(schema, "-- migration: 4 ")
		if !ok {
			t.Fatal("no migration 4")
		}
		for _, q := range []string{
			before,
			`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL)`,
			`INSERT INTO schema_migrations (version, name) VALUES (1, 'initial'), (2, 'vacuums'), (3, 'keys, access tokens, personal data logs')`,
			`INSERT INTO erasure_requests (id, store_id, resource_type, resource_id, status, initiator, created_at, updated_at, due_at)
				VALUES ('0f850c15-d643-480a-a2b4-9e3c26067178', 's1', 'user', 'alice', 'pending', '{}',
				'2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z', '2026-01-31T00:00:00.000000Z')`,
			`INSERT INTO erasure_events (erasure_request_id, store_id, created_at, actor, new_status)
				VALUES ('0f850c15-d643-480a-a2b4-9e3c26067178', 's1', '2026-01-01T00:00:00.000000Z', 'support', 'pending')`,
		} {
			if _, err := raw.Exec(q); err != nil {
				t.Fatalf("%.60s: %v", q, err)
			}
		}
		db := storagetest.OpenURL(t, u, storage.WithErasureServices([]string{"billing"}))
		const id = "0f850c15-d643-480a-a2b4-9e3c26067178"
		r, err := db.ErasureRequest(ctx, "s1", id)
		if err != nil {
			t.Fatal(err)
		}
		if r.ServicesRequired != nil || r.Status != erasured.StatusPending || r.ResourceID != "alice" {
			t.Errorf("after the upgrade: %+v", r)
		}
		if events, err := db.ErasureEvents(ctx, "s1", id); err != nil || len(events) != 1 {
			t.Errorf("trail %v, %v", events, err)
		}
		if r, _, err = db.EraseHeldData(ctx, "s1", id); err != nil || r.Status != erasured.StatusInProgress {
			t.Fatalf("the server's part: %v, %v", r, err)
		}
		done := erasured.Report{ServicesErased: []string{"billing"}}
		if r, err = db.UpdateErasureRequest(ctx, "s1", id, "billing", nil, done); err != nil || r.Status != erasured.StatusCompleted {
			t.Errorf("billing's report: %v, %v", r, err)
		}
		// The trail's foreign key still refers to the rebuilt table.
		if _, err := raw.Exec(`INSERT INTO erasure_events (erasure_request_id, store_id, created_at, actor, new_status)
			VALUES ('11111111-1111-1111-1111-111111111111', 's1', '2026-01-01T00:00:00.000000Z', 'x', 'pending')`); err == nil {
			t.Error("an event of no request was stored")
		}
	})
}
