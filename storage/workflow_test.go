package storage_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
)

func newErasureRequest(t *testing.T, db *storage.DB, store, person string, created time.Time) *erasured.ErasureRequest {
	t.Helper()
	r := erasured.NewErasureRequest(mustKey(t, store), erasureValues("account", person, nil), created, 720*time.Hour)
	if _, err := db.CreateErasureRequest(context.Background(), r, nil); err != nil {
		t.Fatal(err)
	}
	return r
}

func events(t *testing.T, db *storage.DB, store, id string) []erasured.Event {
	t.Helper()
	evs, err := db.ErasureEvents(context.Background(), store, id)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func TestCreateErasureRequestAppendsEvent(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		r := newErasureRequest(t, db, "s1", "acc-1", erasured.Now())
		evs := events(t, db, "s1", r.ID)
		if len(evs) != 1 {
			t.Fatalf("events %+v, want the creation", evs)
		}
		ev := evs[0]
		if ev.ID == 0 || ev.ErasureRequestID != r.ID || ev.StoreID != "s1" || !ev.CreatedAt.Equal(r.CreatedAt) ||
			ev.Actor != "ops" || ev.OldStatus != nil || ev.NewStatus != erasured.StatusPending ||
			!reflect.DeepEqual(ev.Report, erasured.Report{}) {
			t.Errorf("creation event %+v", ev)
		}
		if got := events(t, db, "s1", strings.ToUpper(r.ID)); len(got) != 1 {
			t.Errorf("by upper-case id: %+v", got)
		}
		for _, c := range []struct{ store, id string }{{"s2", r.ID}, {"s1", erasured.NewID()}, {"s1", "not-a-uuid"}} {
			if _, err := db.ErasureEvents(ctx, c.store, c.id); erasured.ErrorCode(err) != erasured.ENOTFOUND {
				t.Errorf("store %s id %s: got %v, want not found", c.store, c.id, err)
			}
		}
	})
}

func TestUpdateErasureRequest(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		r := newErasureRequest(t, db, "s1", "acc-1", erasured.Now())
		update := func(actor string, ifMatch *erasured.Match, rep erasured.Report) (*erasured.ErasureRequest, error) {
			return db.UpdateErasureRequest(ctx, "s1", r.ID, actor, ifMatch, rep)
		}
		// Every update is checked against what the database then holds.
		stored := func(want *erasured.ErasureRequest) {
			t.Helper()
			got, err := db.ErasureRequest(ctx, "s1", r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("stored %+v\nreturned %+v", got, want)
			}
		}

		rep := erasured.Report{Status: ptr(erasured.StatusInProgress), ServicesErased: []string{"billing"},
			PartialFailures: []erasured.PartialFailure{{Service: "crm", Message: "timeout"}}}
		got, err := update("billing-key", &erasured.Match{Versions: []int64{1}}, rep)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 2 || got.Status != erasured.StatusInProgress || !slices.Equal(got.ServicesErased, []string{"billing"}) || len(got.PartialFailures) != 1 {
			t.Fatalf("after the first report: %+v", got)
		}
		stored(got)
		evs := events(t, db, "s1", r.ID)
		if len(evs) != 2 || evs[1].Actor != "billing-key" || *evs[1].OldStatus != erasured.StatusPending ||
			evs[1].NewStatus != erasured.StatusInProgress || !reflect.DeepEqual(evs[1].Report, rep) || evs[1].ID <= evs[0].ID {
			t.Fatalf("events %+v", evs)
		}

		refused := []struct {
			name    string
			store   string
			id      string
			ifMatch *erasured.Match
			rep     erasured.Report
			code    string
		}{
			{"stale If-Match", "s1", r.ID, &erasured.Match{Versions: []int64{1}}, erasured.Report{}, erasured.EPRECONDITION},
			{"If-Match that names no version", "s1", r.ID, &erasured.Match{}, erasured.Report{}, erasured.EPRECONDITION},
			{"completed_at past year 9999", "s1", r.ID, nil, erasured.Report{Status: ptr(erasured.StatusCompleted),
				CompletedAt: erasured.Optional[time.Time]{Set: true, Value: ptr(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))}}, erasured.EINVALID},
			{"another store", "s2", r.ID, nil, erasured.Report{}, erasured.ENOTFOUND},
			{"no such request", "s1", erasured.NewID(), nil, erasured.Report{}, erasured.ENOTFOUND},
			{"not a uuid", "s1", "nope", nil, erasured.Report{}, erasured.ENOTFOUND},
			{"invalid report", "s1", r.ID, nil, erasured.Report{ServicesErased: []string{""}}, erasured.EINVALID},
			{"back to pending", "s1", r.ID, nil, erasured.Report{Status: ptr(erasured.StatusPending)}, erasured.ECONFLICT},
		}
		for _, c := range refused {
			if _, err := db.UpdateErasureRequest(ctx, c.store, c.id, "x", c.ifMatch, c.rep); erasured.ErrorCode(err) != c.code {
				t.Errorf("%s: got %v, want %s", c.name, err, c.code)
			}
		}
		stored(got)
		if n := len(events(t, db, "s1", r.ID)); n != 2 {
			t.Errorf("refused reports left %d events, want 2", n)
		}

		done := time.Date(2026, 2, 1, 10, 0, 0, 0, time.UTC)
		got, err = update("crm-key", &erasured.Match{Versions: []int64{2}}, erasured.Report{Status: ptr(erasured.StatusCompleted),
			ServicesErased: []string{"crm"}, CompletedAt: erasured.Optional[time.Time]{Set: true, Value: &done}})
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != erasured.StatusCompleted || !got.CompletedAt.Equal(done) || len(got.PartialFailures) != 0 ||
			!slices.Equal(got.ServicesErased, []string{"billing", "crm"}) {
			t.Fatalf("after completion: %+v", got)
		}
		stored(got)
		if _, err := update("crm-key", nil, erasured.Report{}); erasured.ErrorCode(err) != erasured.ECONFLICT {
			t.Errorf("report on a completed request: got %v, want conflict", err)
		}
		evs = events(t, db, "s1", r.ID)
		if len(evs) != 3 || !evs[2].Report.CompletedAt.Value.Equal(done) {
			t.Errorf("events %+v", evs)
		}
	})
}

// Many services report on one request at the same moment: every report lands.
func TestUpdateErasureRequestConcurrent(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		r := newErasureRequest(t, db, "s1", "acc-1", erasured.Now())
		const n = 50
		var (
			wg    sync.WaitGroup
			start = make(chan struct{})
			errs  = make(chan error, n)
		)
		for i := range n {
			wg.Go(func() {
				<-start
				_, err := db.UpdateErasureRequest(ctx, "s1", r.ID, fmt.Sprintf("svc-%02d", i), nil,
					erasured.Report{ServicesErased: []string{fmt.Sprintf("svc-%02d", i)}})
				errs <- err
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.ErasureRequest(ctx, "s1", r.ID)
		if err != nil {
			t.Fatal(err)
		}
		erased := slices.Sorted(slices.Values(got.ServicesErased))
		if len(erased) != n || erased[0] != "svc-00" || erased[n-1] != "svc-49" || got.Version != n+1 {
			t.Errorf("services erased %q (%d), version %d", erased, len(erased), got.Version)
		}
		if evs := events(t, db, "s1", r.ID); len(evs) != n+1 {
			t.Errorf("%d events, want %d", len(evs), n+1)
		}
	})
}

func TestErasureEventsAreAppendOnly(t *testing.T) {
	t.Parallel()
	storagetest.EachURL(t, func(t *testing.T, u string) {
		db, raw := storagetest.OpenURL(t, u), storagetest.SQL(t, u)
		r := newErasureRequest(t, db, "s1", "acc-1", erasured.Now())
		for _, stmt := range []string{
			`UPDATE erasure_events SET actor = 'someone else'`,
			`DELETE FROM erasure_events`,
		} {
			_, err := raw.Exec(stmt)
			if err == nil || !strings.Contains(err.Error(), "append-only") {
				t.Errorf("%s: got %v, want the trigger's refusal", stmt, err)
			}
		}
		if evs := events(t, db, "s1", r.ID); len(evs) != 1 || evs[0].Actor != "ops" {
			t.Errorf("events now %+v", evs)
		}
	})
}

func TestErasureEventsFor(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		now := erasured.Now()
		r1 := newErasureRequest(t, db, "s1", "a", now)
		r2 := newErasureRequest(t, db, "s1", "b", now)
		other := newErasureRequest(t, db, "s2", "c", now)
		for _, svc := range []string{"billing", "crm"} {
			if _, err := db.UpdateErasureRequest(ctx, "s1", r2.ID, svc, nil, erasured.Report{ServicesErased: []string{svc}}); err != nil {
				t.Fatal(err)
			}
		}
		got, err := db.ErasureEventsFor(ctx, "s1", []string{r1.ID, strings.ToUpper(r2.ID), other.ID, "junk", erasured.NewID()})
		if err != nil {
			t.Fatal(err)
		}
		actors := map[string][]string{}
		for id, evs := range got {
			for _, ev := range evs {
				actors[id] = append(actors[id], ev.Actor)
			}
		}
		want := map[string][]string{r1.ID: {"ops"}, r2.ID: {"ops", "billing", "crm"}}
		if !reflect.DeepEqual(actors, want) {
			t.Errorf("got %v, want %v", actors, want)
		}
		if got, err := db.ErasureEventsFor(ctx, "s1", nil); err != nil || len(got) != 0 {
			t.Errorf("no ids: %v, %v", got, err)
		}
	})
}
