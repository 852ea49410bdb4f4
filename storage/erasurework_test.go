package storage_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
)

func TestClaimErasure(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ctx := context.Background()
		base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		older := newErasureRequest(t, db, "s1", "a", base)
		newer := newErasureRequest(t, db, "s2", "b", base.Add(time.Second))
		claim := func(now time.Time) string {
			t.Helper()
			r, err := db.ClaimErasure(ctx, time.Minute, now)
			if err != nil {
				t.Fatal(err)
			}
			if r == nil {
				return ""
			}
			return r.ID
		}
		now := base.Add(time.Hour)
		steps := []struct {
			name string
			at   time.Time
			want string
		}{
			{"oldest first, across stores", now, older.ID},
			{"then the next", now, newer.ID},
			{"nothing left unleased", now.Add(30 * time.Second), ""},
			{"a lease that ran out is claimed again", now.Add(61 * time.Second), older.ID},
			{"and the other", now.Add(61 * time.Second), newer.ID},
		}
		for _, s := range steps {
			if got := claim(s.at); got != s.want {
				t.Errorf("%s: claimed %q, want %q", s.name, got, s.want)
			}
		}
		// Once its in-store erasure is done a request is never claimed again, though it
		// is still in progress, waiting for nobody here.
		if _, _, err := db.EraseHeldData(ctx, "s1", older.ID); err != nil {
			t.Fatal(err)
		}
		if got := claim(now.Add(time.Hour)); got != newer.ID {
			t.Errorf("after the erasure: claimed %q, want only %q", got, newer.ID)
		}
	})
}

func TestEraseHeldData(t *testing.T) {
	t.Parallel()
	storagetest.EachURL(t, func(t *testing.T, u string) {
		ctx := context.Background()
		db, raw := storagetest.OpenURL(t, u), storagetest.SQL(t, u)
		r := newErasureRequest(t, db, "s1", "alice", erasured.Now())
		for _, id := range []string{"r1", "r2", "r3"} {
			storagetest.InsertRequest(t, raw, "s1", id, "alice")
		}
		storagetest.InsertRequest(t, raw, "s1", "r4", "bob")
		storagetest.InsertRequest(t, raw, "s2", "r5", "alice")

		got, n, err := db.EraseHeldData(ctx, "s1", r.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 || got.Status != erasured.StatusCompleted || got.CompletedAt == nil ||
			!slices.Equal(got.ServicesErased, []string{erasured.ServiceRequests}) || got.Version != 3 {
			t.Fatalf("erased %d, request %+v", n, got)
		}
		if v, _ := got.View(); v != erasured.ViewSuccess {
			t.Errorf("view %s, want SUCCESS", v)
		}
		for _, id := range []string{"r1", "r2", "r3"} {
			if row := storagetest.Request(t, raw, "s1", id); !row.Erased() {
				t.Errorf("%s still holds %+v", id, row)
			}
		}
		if row := storagetest.Request(t, raw, "s1", "r4"); !row.Untouched("r4", "bob") {
			t.Errorf("another person's request changed: %+v", row)
		}
		if row := storagetest.Request(t, raw, "s2", "r5"); !row.Untouched("r5", "alice") {
			t.Errorf("another store's request changed: %+v", row)
		}
		evs := events(t, db, "s1", r.ID)
		type step struct {
			actor    string
			old, new erasured.Status
		}
		var trail []step
		for _, ev := range evs[1:] {
			trail = append(trail, step{ev.Actor, *ev.OldStatus, ev.NewStatus})
		}
		wantTrail := []step{
			{erasured.ServerActor, erasured.StatusPending, erasured.StatusInProgress},
			{erasured.ServerActor, erasured.StatusInProgress, erasured.StatusCompleted},
		}
		if !reflect.DeepEqual(trail, wantTrail) || !slices.Equal(evs[1].Report.ServicesErased, []string{erasured.ServiceRequests}) {
			t.Errorf("trail %+v, want %+v", evs, wantTrail)
		}
		if claimed := countRows(t, raw, `SELECT COUNT(*) FROM erasure_requests WHERE claimed_until IS NOT NULL OR requests_erased_at IS NULL`); claimed != 0 {
			t.Errorf("%d requests still claimed or to do", claimed)
		}

		// Done is done: a second run (a worker overtaken after its lease ran out) changes nothing.
		again, n, err := db.EraseHeldData(ctx, "s1", r.ID)
		if err != nil || n != 0 || again.Version != got.Version || len(events(t, db, "s1", r.ID)) != len(evs) {
			t.Errorf("second run: erased %d, version %d, %v", n, again.Version, err)
		}
		if _, _, err := db.EraseHeldData(ctx, "s2", r.ID); erasured.ErrorCode(err) != erasured.ENOTFOUND {
			t.Errorf("another store: got %v, want not found", err)
		}
	})
}

// With other services configured, a request completes when the last of them answers,
// whichever comes last: the server's own erasure or a service's report.
func TestErasureCompletesWhenAllServicesAnswered(t *testing.T) {
	t.Parallel()
	storagetest.EachURL(t, func(t *testing.T, u string) {
		ctx := context.Background()
		db := storagetest.OpenURL(t, u, storage.WithErasureServices([]string{"billing", "crm"}))
		report := func(r *erasured.ErasureRequest, rep erasured.Report) *erasured.ErasureRequest {
			t.Helper()
			got, err := db.UpdateErasureRequest(ctx, "s1", r.ID, "svc", nil, rep)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}
		erase := func(r *erasured.ErasureRequest) *erasured.ErasureRequest {
			t.Helper()
			got, _, err := db.EraseHeldData(ctx, "s1", r.ID)
			if err != nil {
				t.Fatal(err)
			}
			return got
		}

		// The server first: the services complete it.
		r := newErasureRequest(t, db, "s1", "alice", erasured.Now())
		if got := erase(r); got.Status != erasured.StatusInProgress {
			t.Fatalf("after the server's part: %s", got.Status)
		}
		if got := report(r, erasured.Report{ServicesErased: []string{"billing"}}); got.Status != erasured.StatusInProgress {
			t.Fatalf("after billing: %s", got.Status)
		}
		got := report(r, erasured.Report{PartialFailures: []erasured.PartialFailure{{Service: "crm", Message: "timeout"}}})
		if v, _ := got.View(); got.Status != erasured.StatusCompleted || got.CompletedAt == nil || v != erasured.ViewFailure {
			t.Fatalf("after crm's failure: %+v", got)
		}
		evs := events(t, db, "s1", r.ID)
		if last := evs[len(evs)-1]; last.Actor != erasured.ServerActor || *last.OldStatus != erasured.StatusInProgress || last.NewStatus != erasured.StatusCompleted {
			t.Errorf("the completion %+v", last)
		}

		// The services first: the server's part completes it, and not before.
		r = newErasureRequest(t, db, "s1", "bob", erasured.Now())
		if got := report(r, erasured.Report{ServicesErased: []string{"billing", "crm"}}); got.Status != erasured.StatusPending {
			t.Fatalf("services done before the server: %s", got.Status)
		}
		if got := erase(r); got.Status != erasured.StatusCompleted {
			t.Fatalf("after the server's part: %s", got.Status)
		}

		// A client completed it before the server's part: the server still erases, and says so.
		r = newErasureRequest(t, db, "s1", "carol", erasured.Now())
		report(r, erasured.Report{Status: ptr(erasured.StatusCompleted)})
		got = erase(r)
		if got.Status != erasured.StatusCompleted || !slices.Contains(got.ServicesErased, erasured.ServiceRequests) {
			t.Errorf("erased after a client's completion: %+v", got)
		}
	})
}

func TestOpenRefusesBadErasureServices(t *testing.T) {
	t.Parallel()
	u := storagetest.URL(t, "sqlite")
	_, err := storage.Open(context.Background(), u, storage.WithErasureServices([]string{"billing", erasured.ServiceRequests}))
	if erasured.ErrorCode(err) != erasured.EINVALID {
		t.Errorf("got %v, want invalid", err)
	}
}
