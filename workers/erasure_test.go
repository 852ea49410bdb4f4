package workers_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
	"github.com/erasured/erasured/workers"
)

func file(t *testing.T, db *storage.DB, store, person string) *erasured.ErasureRequest {
	t.Helper()
	key, _, err := erasured.NewKey("ops", "ops@example.com", store, erasured.AllScopes, erasured.Now())
	if err != nil {
		t.Fatal(err)
	}
	r := erasured.NewErasureRequest(key, erasured.Values{"resource_type": "account", "resource_id": person}, erasured.Now(), 720*time.Hour)
	if _, err := db.CreateErasureRequest(context.Background(), r, nil); err != nil {
		t.Fatal(err)
	}
	return r
}

func read(t *testing.T, db *storage.DB, r *erasured.ErasureRequest) *erasured.ErasureRequest {
	t.Helper()
	got, err := db.ErasureRequest(context.Background(), r.StoreID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func runOnce(t *testing.T, w *workers.Erasure) bool {
	t.Helper()
	worked, err := w.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return worked
}

func TestErasureErasesWhatTheStoreHolds(t *testing.T) {
	t.Parallel()
	storagetest.EachURL(t, func(t *testing.T, u string) {
		db, raw := storagetest.OpenURL(t, u), storagetest.SQL(t, u)
		r := file(t, db, "s1", "alice")
		for _, id := range []string{"n1", "n2", "n3"} {
			storagetest.InsertRequest(t, raw, "s1", id, "alice")
		}
		storagetest.InsertRequest(t, raw, "s1", "n4", "bob")
		storagetest.InsertRequest(t, raw, "s2", "n5", "alice")
		w := &workers.Erasure{DB: db, Lease: time.Minute, Poll: time.Second}

		if !runOnce(t, w) {
			t.Fatal("the worker found nothing to do")
		}
		got := read(t, db, r)
		if v, _ := got.View(); got.Status != erasured.StatusCompleted || v != erasured.ViewSuccess ||
			!slices.Contains(got.ServicesErased, erasured.ServiceRequests) {
			t.Errorf("request after the worker: %+v", got)
		}
		for _, id := range []string{"n1", "n2", "n3"} {
			if row := storagetest.Request(t, raw, "s1", id); !row.Erased() {
				t.Errorf("%s still holds %+v", id, row)
			}
		}
		if row := storagetest.Request(t, raw, "s1", "n4"); !row.Untouched("n4", "bob") {
			t.Errorf("another person's request changed: %+v", row)
		}
		if row := storagetest.Request(t, raw, "s2", "n5"); !row.Untouched("n5", "alice") {
			t.Errorf("another store's request changed: %+v", row)
		}
		if runOnce(t, w) {
			t.Error("the worker found more to do")
		}
	})
}

func TestErasureWaitsForOtherServices(t *testing.T) {
	t.Parallel()
	storagetest.EachURL(t, func(t *testing.T, u string) {
		db := storagetest.OpenURL(t, u, storage.WithErasureServices([]string{"billing"}))
		r := file(t, db, "s1", "alice")
		w := &workers.Erasure{DB: db, Lease: time.Minute, Poll: time.Second}

		if !runOnce(t, w) {
			t.Fatal("the worker found nothing to do")
		}
		if got := read(t, db, r); got.Status != erasured.StatusInProgress {
			t.Fatalf("before billing reports: %s", got.Status)
		}
		// Waiting for billing is no work for the worker: it does not claim the request again.
		if runOnce(t, w) {
			t.Error("the worker claimed a request that only waits for billing")
		}
		got, err := db.UpdateErasureRequest(context.Background(), "s1", r.ID, "billing", nil,
			erasured.Report{ServicesErased: []string{"billing"}})
		if err != nil {
			t.Fatal(err)
		}
		if v, _ := got.View(); v != erasured.ViewSuccess || got.CompletedAt == nil {
			t.Errorf("after billing reports: %+v", got)
		}
	})
}

// A worker that claims a request and dies holds it only until its lease runs out.
func TestErasureLeaseRunsOut(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		r := file(t, db, "s1", "alice")
		const lease = time.Second
		dead, err := db.ClaimErasure(context.Background(), lease, erasured.Now())
		if err != nil || dead == nil || dead.ID != r.ID {
			t.Fatalf("claim: %+v, %v", dead, err)
		}
		w := &workers.Erasure{DB: db, Lease: time.Minute, Poll: time.Second}
		if runOnce(t, w) {
			t.Fatal("a live lease was claimed again")
		}
		time.Sleep(lease + 50*time.Millisecond)
		if !runOnce(t, w) {
			t.Fatal("the lease ran out, yet the request was not claimed")
		}
		if got := read(t, db, r); got.Status != erasured.StatusCompleted {
			t.Errorf("after the second worker: %s", got.Status)
		}
	})
}

// Two processes (two pools on one database) share the work, and do each request once.
func TestErasureWorkersShareTheWork(t *testing.T) {
	t.Parallel()
	storagetest.EachURL(t, func(t *testing.T, u string) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		db1, db2 := storagetest.OpenURL(t, u), storagetest.OpenURL(t, u)
		raw := storagetest.SQL(t, u)
		const n = 40
		var ids []string
		for i := range n {
			person := fmt.Sprintf("person-%02d", i)
			ids = append(ids, file(t, db1, "s1", person).ID)
			storagetest.InsertRequest(t, raw, "s1", "note-"+person, person)
		}

		var wg sync.WaitGroup
		for _, db := range []*storage.DB{db1, db2, db1, db2} {
			w := &workers.Erasure{DB: db, Lease: time.Minute, Poll: 5 * time.Millisecond}
			wg.Go(func() {
				if err := w.Run(ctx); err != nil {
					t.Error(err)
				}
			})
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			var open int
			if err := raw.Get(&open, `SELECT COUNT(*) FROM erasure_requests WHERE status <> 'completed'`); err != nil {
				t.Fatal(err)
			}
			if open == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d requests still open", open)
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		wg.Wait()

		trails, err := db1.ErasureEventsFor(context.Background(), "s1", ids)
		if err != nil {
			t.Fatal(err)
		}
		for i, id := range ids {
			var started []string
			for _, ev := range trails[id] {
				if ev.NewStatus == erasured.StatusInProgress {
					started = append(started, ev.Actor)
				}
			}
			if len(started) != 1 || len(trails[id]) != 3 {
				t.Errorf("request %d: %d events, %d of them to in_progress; want 3 and 1", i, len(trails[id]), len(started))
			}
			person := fmt.Sprintf("person-%02d", i)
			if row := storagetest.Request(t, raw, "s1", "note-"+person); !row.Erased() {
				t.Errorf("%s's request still holds %+v", person, row)
			}
		}
	})
}

// While the database fails the worker keeps trying, ever more slowly, and stops when told.
func TestErasureBacksOffWhileTheDatabaseFails(t *testing.T) {
	t.Parallel()
	db := storagetest.Open(t, "sqlite")
	db.Close()
	// Run logs from the test's own goroutine, so the buffer needs no lock.
	var buf bytes.Buffer
	w := &workers.Erasure{DB: db, Lease: time.Minute, Poll: 10 * time.Millisecond,
		Log: slog.New(slog.NewTextHandler(&buf, nil))}
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	if err := w.Run(ctx); err != nil {
		t.Fatalf("Run: %v", err)
	}
	// Waits of 10, 20, 40, ... ms allow 7 attempts in 700ms; polling every 10ms, 70.
	attempts := strings.Count(buf.String(), "erasure worker failed")
	if attempts < 3 || attempts > 10 {
		t.Errorf("%d attempts in 700ms; want a handful, backing off:\n%s", attempts, buf.String())
	}
}

func TestErasureRunNeedsSettings(t *testing.T) {
	t.Parallel()
	db := storagetest.Open(t, "sqlite")
	for _, w := range []*workers.Erasure{{}, {DB: db, Poll: time.Second}, {DB: db, Lease: time.Second}} {
		if err := w.Run(context.Background()); err == nil {
			t.Errorf("%+v ran", w)
		}
	}
}

// TestErasureSkipsUnreadableRequests: a request whose stored values cannot be read (a
// timestamp a former version let through on SQLite, or JSON written by hand) is skipped,
// logged and counted; the requests behind it are erased all the same.
func TestErasureSkipsUnreadableRequests(t *testing.T) {
	t.Parallel()
	storagetest.EachURL(t, func(t *testing.T, u string) {
		db, raw := storagetest.OpenURL(t, u), storagetest.SQL(t, u)
		var broken []*erasured.ErasureRequest
		corrupt := []string{`UPDATE erasure_requests SET services_erased = '"not a list"' WHERE id = ?`}
		if strings.HasPrefix(u, "sqlite:") {
			corrupt = append(corrupt, `UPDATE erasure_requests SET completed_at = '-0001-12-31T23:00:00.000000Z' WHERE id = ?`)
		}
		for i, update := range corrupt {
			r := file(t, db, "s1", fmt.Sprintf("broken-%d", i))
			if _, err := raw.Exec(raw.Rebind(update), r.ID); err != nil {
				t.Fatal(err)
			}
			broken = append(broken, r)
		}
		fine := file(t, db, "s1", "fine")
		skipped := prometheus.NewCounter(prometheus.CounterOpts{Name: "skipped"})
		var log bytes.Buffer
		w := &workers.Erasure{DB: db, Lease: time.Minute, Poll: time.Second, Skipped: skipped,
			Log: slog.New(slog.NewTextHandler(&log, nil))}
		for range len(broken) + 1 {
			if !runOnce(t, w) {
				t.Fatal("the worker found nothing to do")
			}
		}
		if runOnce(t, w) {
			t.Error("the worker claimed again a request it skipped, before its lease ran out")
		}
		if got := read(t, db, fine); got.Status != erasured.StatusCompleted {
			t.Errorf("the request behind the unreadable ones is %s", got.Status)
		}
		var count dto.Metric
		if err := skipped.Write(&count); err != nil {
			t.Fatal(err)
		}
		if n := count.GetCounter().GetValue(); n != float64(len(broken)) {
			t.Errorf("%v skipped, want %d", n, len(broken))
		}
		for _, r := range broken {
			if !strings.Contains(log.String(), r.ID) {
				t.Errorf("the log does not name %s:\n%s", r.ID, log.String())
			}
		}
	})
}
