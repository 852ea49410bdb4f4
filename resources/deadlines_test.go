package resources_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/resources"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
	"github.com/erasured/erasured/workers"
)

// A request may be cancelled before it completes, and never after; cancelled is final.
// The cancellation is in the trail and announced.
func TestCancelErasureRequest(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db, insecure)
		ops := e.key("s1")
		rc := newReceiver(t)
		e.do("POST", webhooks, ops, newWebhook(rc.URL, []string{erasured.EventCancelled}, nil)).want(t, http.StatusCreated)
		e.do("POST", services, ops, newService("billing")).want(t, http.StatusCreated)
		id, done := e.file(ops, "alice"), e.file(ops, "bob")
		e.report(ops, done, `{"status":"completed"}`).want(t, http.StatusOK)

		r := e.do("PATCH", erasures+"/"+id, ops, patchBody(id, map[string]any{"status": "cancelled"})).want(t, http.StatusOK)
		if a := attrs(r.data(t)); a["status"] != "CANCELLED" || a["status_description"] != "The erasure request was cancelled before it completed" || a["completed_at"] != nil {
			t.Errorf("cancelled: %v", a)
		}
		e.do("PATCH", erasures+"/"+done, ops, patchBody(done, map[string]any{"status": "cancelled"})).wantError(t, http.StatusConflict, "")
		e.do("PATCH", erasures+"/"+id, ops, patchBody(id, map[string]any{"status": "in_progress"})).wantError(t, http.StatusConflict, "")
		e.report(ops, id, `{"services_erased":["billing"]}`).wantPlainError(t, http.StatusConflict)
		// The server's own erasure leaves a cancelled request alone.
		runUntilIdle(t, &workers.Erasure{DB: db, Lease: time.Minute, Poll: time.Second})
		r = e.do("GET", erasures+"/"+id+"?include=events", ops, nil).want(t, http.StatusOK)
		if a := attrs(r.data(t)); a["status"] != "CANCELLED" || len(a["services_erased"].([]any)) != 0 {
			t.Errorf("after the erasure worker: %v", a)
		}
		want := []string{"tester ->pending map[]", "tester pending>cancelled map[status:cancelled]"}
		if got := trail(t, r); !slices.Equal(got, want) {
			t.Errorf("trail\n got %q\nwant %q", got, want)
		}
		for _, q := range []string{"eq(status,CANCELLED)", "eq(status,cancelled)"} {
			if l := e.do("GET", erasures+"?filter="+url.QueryEscape(q), ops, nil).want(t, http.StatusOK).list(t); len(l) != 1 || l[0]["id"] != id {
				t.Errorf("%s listed %v", q, l)
			}
		}
		if q := e.queue(ops, "billing"); len(q) != 0 {
			t.Errorf("a cancelled request waits in billing's queue: %v", q)
		}
		runUntilIdle(t, deliverer(db, time.Hour))
		if got := rc.requests(); len(got) != 1 || payloadType(t, got[0].body) != erasured.EventCancelled {
			t.Errorf("cancellations announced: %d", len(got))
		}
	})
}

func payloadType(t *testing.T, body []byte) string {
	t.Helper()
	var p struct{ Type string }
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatal(err)
	}
	return p.Type
}

// The due date may be extended once, by at most 60 days beyond the original, with a
// reason; the extension is in the trail.
func TestExtendDueDate(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		ops := e.key("s1")
		id := e.file(ops, "alice")
		a := attrs(e.do("GET", erasures+"/"+id, ops, nil).want(t, http.StatusOK).data(t))
		due, _ := time.Parse(time.RFC3339Nano, a["due_at"].(string))
		at := func(d time.Duration) string { return due.Add(d).Format(time.RFC3339Nano) }
		patch := func(attributes map[string]any) *response {
			return e.do("PATCH", erasures+"/"+id, ops, patchBody(id, attributes))
		}
		patch(map[string]any{"due_at": at(10 * 24 * time.Hour)}).wantError(t, http.StatusBadRequest, "/data/attributes/extension_reason")
		patch(map[string]any{"extension_reason": "complex"}).wantError(t, http.StatusBadRequest, "/data/attributes/due_at")
		patch(map[string]any{"due_at": at(10 * 24 * time.Hour), "extension_reason": nil}).wantError(t, http.StatusBadRequest, "/data/attributes/extension_reason")
		patch(map[string]any{"due_at": at(10 * 24 * time.Hour), "extension_reason": ""}).wantError(t, http.StatusBadRequest, "/data/attributes/extension_reason")
		patch(map[string]any{"due_at": at(-time.Hour), "extension_reason": "sooner"}).wantError(t, http.StatusBadRequest, "/data/attributes/due_at")
		patch(map[string]any{"due_at": at(60*24*time.Hour + time.Second), "extension_reason": "too long"}).wantError(t, http.StatusBadRequest, "/data/attributes/due_at")

		r := patch(map[string]any{"due_at": at(60 * 24 * time.Hour), "extension_reason": "many systems hold the data"}).want(t, http.StatusOK)
		if a := attrs(r.data(t)); a["due_at"] != at(60*24*time.Hour) || a["extension_reason"] != "many systems hold the data" {
			t.Errorf("extended: %v", a)
		}
		patch(map[string]any{"due_at": at(61 * 24 * time.Hour), "extension_reason": "again"}).wantError(t, http.StatusConflict, "")
		r = e.do("GET", erasures+"/"+id+"?include=events", ops, nil).want(t, http.StatusOK)
		got := trail(t, r)
		if len(got) != 2 || got[1] != "tester pending>pending map[due_at:"+at(60*24*time.Hour)+" extension_reason:many systems hold the data]" {
			t.Errorf("trail %q", got)
		}
	})
}

// A request past its due date and not finished is listed by eq(overdue,true), counted
// by the gauge, and announced once, with an event in its trail.
func TestOverdueIsAnnouncedOnce(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		hasty := newEnv(t, db, resources.Config{ErasureDue: time.Millisecond, Webhooks: insecure.Webhooks})
		patient := newEnv(t, db, insecure)
		ops := hasty.key("s1")
		rc := newReceiver(t)
		hasty.do("POST", webhooks, ops, newWebhook(rc.URL, []string{erasured.EventOverdue}, nil)).want(t, http.StatusCreated)
		late, done := hasty.file(ops, "late"), hasty.file(ops, "done")
		patient.file(ops, "on-time")
		hasty.file(hasty.key("s2"), "elsewhere")
		hasty.report(ops, done, `{"status":"completed"}`).want(t, http.StatusOK)
		// Due a millisecond after it was filed: wait until that millisecond has passed.
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
			l := hasty.do("GET", erasures+"?filter="+url.QueryEscape("eq(overdue,true)"), ops, nil).want(t, http.StatusOK).list(t)
			if len(l) == 1 && l[0]["id"] == late {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("eq(overdue,true) lists %v", l)
			}
		}
		if l := hasty.do("GET", erasures+"?filter="+url.QueryEscape("eq(overdue,false)"), ops, nil).want(t, http.StatusOK).list(t); len(l) != 2 {
			t.Errorf("eq(overdue,false) lists %d", len(l))
		}
		hasty.do("GET", erasures+"?filter="+url.QueryEscape("eq(overdue,maybe)"), ops, nil).wantError(t, http.StatusBadRequest, "filter")

		gauge := prometheus.NewGauge(prometheus.GaugeOpts{Name: "overdue"})
		w := &workers.Overdue{DB: db, Poll: time.Second, Gauge: gauge}
		for range 2 {
			if _, err := w.RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		if n := testutil.ToFloat64(gauge); n != 2 {
			t.Errorf("gauge %v, want 2 (one per store)", n)
		}
		runUntilIdle(t, deliverer(db, time.Hour))
		got := rc.requests()
		if len(got) != 1 || payloadType(t, got[0].body) != erasured.EventOverdue {
			t.Fatalf("%d overdue announcements", len(got))
		}
		r := hasty.do("GET", erasures+"/"+late+"?include=events", ops, nil).want(t, http.StatusOK)
		if tr := trail(t, r); len(tr) != 2 || tr[1] != "erasured pending>pending map[overdue:true]" {
			t.Errorf("trail %q", tr)
		}
		// Completing it takes it off the gauge.
		hasty.report(ops, late, `{"status":"completed"}`).want(t, http.StatusOK)
		if _, err := w.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := testutil.ToFloat64(gauge); n != 1 {
			t.Errorf("gauge %v after the completion, want 1", n)
		}
	})
}
