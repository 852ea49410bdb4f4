package resources_test

import (
	"context"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/resources"
	"github.com/erasured/erasured/storage/storagetest"
)

const workflow = "/v1/erasure-requests/"

// report sends a report to the workflow endpoint as the identity service does: plain
// JSON. headers may replace the Content-Type or add others, as for do.
func (e *env) report(token, id, body string, headers ...string) *response {
	e.t.Helper()
	return e.do("PATCH", workflow+id, token, body, append([]string{"Content-Type", "application/json"}, headers...)...)
}

// file creates an erasure request for person with token and returns its id.
func (e *env) file(token, person string) string {
	e.t.Helper()
	r := e.do("POST", erasures, token, newErasure("account", person))
	if r.Status != http.StatusCreated {
		e.t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	return r.Doc["data"].(map[string]any)["id"].(string)
}

// wantPlainError fails the test unless r is the workflow endpoint's error: status, and
// a JSON body of exactly "error" and "message".
func (r *response) wantPlainError(t *testing.T, status int) {
	t.Helper()
	r.want(t, status)
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("error Content-Type %q, want application/json", ct)
	}
	code, _ := r.Doc["error"].(string)
	message, _ := r.Doc["message"].(string)
	if len(r.Doc) != 2 || code == "" || message == "" {
		t.Errorf("error body %s, want {\"error\",\"message\"}", r.Body)
	}
}

func strs(v any) []string {
	var out []string
	for _, s := range v.([]any) {
		out = append(out, s.(string))
	}
	return out
}

func TestWorkflowReportsMerge(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		owner := e.key("s1")
		billing := e.namedKey("billing", "s1", erasured.ScopeErasureWorkflow)
		crm := e.namedKey("crm", "s1", erasured.ScopeErasureWorkflow)
		body := newErasure("account", "acc-1")
		body["data"].(map[string]any)["attributes"].(map[string]any)["reason"] = "asked by phone"
		res := e.do("POST", erasures, owner, body).want(t, http.StatusCreated).data(t)
		id, created := res["id"].(string), attrs(res)

		r := e.report(billing, id, `{"status":"in_progress","services_erased":["billing"],"partial_failures":[{"service":"crm","message":"timeout"}]}`).
			want(t, http.StatusOK)
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type %q", ct)
		}
		want := map[string]any{
			"request_id": id, "user_id": "acc-1", "requested_by": "tester", "status": "in_progress",
			"reason": "asked by phone", "requested_at": created["created_at"], "completed_at": nil,
			"services_erased":  []any{"billing"},
			"partial_failures": []any{map[string]any{"service": "crm", "message": "timeout"}},
		}
		if !reflect.DeepEqual(r.Doc, want) {
			t.Errorf("after billing's report\n got %v\nwant %v", r.Doc, want)
		}
		if r.Header.Get("ETag") != `"2"` {
			t.Errorf("ETag %q, want \"2\"", r.Header.Get("ETag"))
		}

		// crm's retry succeeded: its failure goes, and billing's success stays.
		r = e.report(crm, id, `{"services_erased":["crm"]}`).want(t, http.StatusOK)
		if got := strs(r.Doc["services_erased"]); !slices.Equal(got, []string{"billing", "crm"}) ||
			len(r.Doc["partial_failures"].([]any)) != 0 || r.Doc["status"] != "in_progress" {
			t.Errorf("after crm's report: %s", r.Body)
		}

		before := time.Now().UTC().Add(-time.Second)
		r = e.report(billing, id, `{"status":"completed"}`, "Content-Type", "application/json; charset=utf-8").want(t, http.StatusOK)
		completedAt, err := time.Parse(time.RFC3339, fmt.Sprint(r.Doc["completed_at"]))
		if r.Doc["status"] != "completed" || err != nil || completedAt.Before(before) || completedAt.After(time.Now().Add(time.Second)) {
			t.Errorf("completion without completed_at: %s", r.Body)
		}
		if a := attrs(e.do("GET", erasures+"/"+id, owner, nil).want(t, http.StatusOK).data(t)); a["status"] != "SUCCESS" ||
			a["completed_at"] != r.Doc["completed_at"] {
			t.Errorf("JSON:API view after completion: %v", a)
		}

		// completed is final, even for a report that changes nothing.
		e.report(crm, id, `{"services_erased":["late"]}`).wantPlainError(t, http.StatusConflict)
		e.report(crm, id, `{}`).wantPlainError(t, http.StatusConflict)

		// The trail records each report, by the key that sent it, as it was sent.
		events, err := e.db.ErasureEvents(context.Background(), "s1", id)
		if err != nil {
			t.Fatal(err)
		}
		var trail []string
		for _, ev := range events {
			old := "-"
			if ev.OldStatus != nil {
				old = string(*ev.OldStatus)
			}
			trail = append(trail, fmt.Sprintf("%s %s>%s %v %v", ev.Actor, old, ev.NewStatus, ev.Report.ServicesErased, ev.Report.PartialFailures))
		}
		wantTrail := []string{
			"tester ->pending [] []",
			"billing pending>in_progress [billing] [{crm timeout}]",
			"crm in_progress>in_progress [crm] []",
			"billing in_progress>completed [] []",
		}
		if !slices.Equal(trail, wantTrail) {
			t.Errorf("trail\n got %q\nwant %q", trail, wantTrail)
		}

		// A completed_at the service gives is kept, in UTC.
		other := e.file(owner, "acc-2")
		r = e.report(billing, other, `{"status":"completed","completed_at":"2026-02-01T10:00:00+02:00"}`).want(t, http.StatusOK)
		if r.Doc["completed_at"] != "2026-02-01T08:00:00Z" {
			t.Errorf("completed_at %v, want 2026-02-01T08:00:00Z", r.Doc["completed_at"])
		}

		// in_progress never goes back to pending.
		third := e.file(owner, "acc-3")
		e.report(billing, third, `{"status":"in_progress"}`).want(t, http.StatusOK)
		e.report(billing, third, `{"status":"pending"}`).wantPlainError(t, http.StatusConflict)
		e.report(billing, third, `{"status":"in_progress"}`).want(t, http.StatusOK)
	})
}

func TestWorkflowRejectsMalformedReports(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, body string
	}{
		{"unknown member", `{"colour":"red"}`},
		{"unknown status", `{"status":"done"}`},
		{"view status", `{"status":"IN_PROGRESS"}`},
		{"null status", `{"status":null}`},
		{"numeric status", `{"status":1}`},
		{"services not an array", `{"services_erased":"billing"}`},
		{"null services", `{"services_erased":null}`},
		{"empty service name", `{"services_erased":[""]}`},
		{"the server's own service", `{"services_erased":["requests"]}`},
		{"null failures", `{"partial_failures":null}`},
		{"failure not an object", `{"partial_failures":["crm"]}`},
		{"failure with an unknown member", `{"partial_failures":[{"service":"crm","message":"x","code":5}]}`},
		{"erased and failed at once", `{"services_erased":["crm"],"partial_failures":[{"service":"crm","message":"x"}]}`},
		{"completed_at not a time", `{"status":"completed","completed_at":"yesterday"}`},
		{"completed_at without completed", `{"completed_at":"2026-01-01T00:00:00Z"}`},
		{"null completed_at on completion", `{"status":"completed","completed_at":null}`},
		{"not JSON", `{"status":`},
		{"empty body", ``},
		{"an array", `[]`},
		{"null", `null`},
		{"trailing data", `{} {}`},
	}
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("s1")
		id := e.file(token, "acc-1")
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e.report(token, id, c.body).wantPlainError(t, http.StatusBadRequest)
			})
		}
		e.do("PATCH", workflow+id+"?status=completed", token, `{}`, "Content-Type", "application/json").
			wantPlainError(t, http.StatusBadRequest)
		for _, ct := range []string{"text/plain", "", "application/json; charset=latin1", "application/xml"} {
			e.report(token, id, `{}`, "Content-Type", ct).wantPlainError(t, http.StatusUnsupportedMediaType)
		}
		e.report(token, id, `{"services_erased":["`+strings.Repeat("a", resources.MaxBodyBytes)+`"]}`).
			wantPlainError(t, http.StatusRequestEntityTooLarge)

		// Nothing refused left a trace.
		got := e.do("GET", erasures+"/"+id, token, nil).want(t, http.StatusOK)
		if got.Header.Get("ETag") != `"1"` || attrs(got.data(t))["status"] != "CREATED" {
			t.Errorf("after refused reports: ETag %s, %v", got.Header.Get("ETag"), attrs(got.data(t)))
		}
		if events, err := e.db.ErasureEvents(context.Background(), "s1", id); err != nil || len(events) != 1 {
			t.Errorf("refused reports appended events: %v %v", events, err)
		}
		// A JSON:API body type is JSON too.
		e.report(token, id, `{}`, "Content-Type", "application/vnd.api+json").want(t, http.StatusOK)
	})
}

func TestWorkflowAuthAndPreconditions(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		owner := e.key("s1")
		id := e.file(owner, "acc-1")
		readOnly := e.key("s1", erasured.ScopeErasureRead, erasured.ScopeErasureWrite)
		stranger := e.key("s2")

		e.report("", id, `{}`).wantPlainError(t, http.StatusUnauthorized)
		e.report("erd_unknown", id, `{}`).wantPlainError(t, http.StatusUnauthorized)
		e.report(readOnly, id, `{}`).wantPlainError(t, http.StatusForbidden)
		e.report(stranger, id, `{}`).wantPlainError(t, http.StatusNotFound)
		e.report(owner, erasured.NewID(), `{}`).wantPlainError(t, http.StatusNotFound)
		e.report(owner, "not-a-uuid", `{}`).wantPlainError(t, http.StatusNotFound)

		etag := e.do("GET", erasures+"/"+id, owner, nil).want(t, http.StatusOK).Header.Get("ETag")
		r := e.report(owner, id, `{"services_erased":["billing"]}`, "If-Match", etag).want(t, http.StatusOK)
		next := r.Header.Get("ETag")
		if next == etag || next != e.do("GET", erasures+"/"+id, owner, nil).Header.Get("ETag") {
			t.Errorf("ETag %s after the change, before %s", next, etag)
		}
		for _, stale := range []string{etag, `W/` + next, `"two"`, `"-3"`, "garbage"} {
			e.report(owner, id, `{"services_erased":["crm"]}`, "If-Match", stale).wantPlainError(t, http.StatusPreconditionFailed)
		}
		e.report(owner, id, `{"services_erased":["crm"]}`, "If-Match", "*").want(t, http.StatusOK)
		a := attrs(e.do("GET", erasures+"/"+id, owner, nil).want(t, http.StatusOK).data(t))
		if got := strs(a["services_erased"]); !slices.Equal(got, []string{"billing", "crm"}) {
			t.Errorf("services erased %v: a failed precondition changed the request", got)
		}
	})
}

// Twenty services report on one request at the same moment, over HTTP: none is lost.
func TestWorkflowConcurrentReports(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storagetest.Open(t, "postgres"), resources.Config{})
	token := e.key("s1")
	id := e.file(token, "acc-1")
	const n = 20
	var (
		wg       sync.WaitGroup
		start    = make(chan struct{})
		statuses = make([]int, n)
	)
	for i := range n {
		wg.Go(func() {
			<-start
			statuses[i] = e.report(token, id, fmt.Sprintf(`{"services_erased":["svc-%02d"]}`, i)).Status
		})
	}
	close(start)
	wg.Wait()
	for i, s := range statuses {
		if s != http.StatusOK {
			t.Errorf("report %d answered %d", i, s)
		}
	}
	r := e.do("GET", erasures+"/"+id, token, nil).want(t, http.StatusOK)
	erased := slices.Sorted(slices.Values(strs(attrs(r.data(t))["services_erased"])))
	if len(erased) != n || erased[0] != "svc-00" || erased[n-1] != "svc-19" || r.Header.Get("ETag") != fmt.Sprintf(`"%d"`, n+1) {
		t.Errorf("services erased %v, ETag %s", erased, r.Header.Get("ETag"))
	}
	if events, err := e.db.ErasureEvents(context.Background(), "s1", id); err != nil || len(events) != n+1 {
		t.Errorf("%d events (%v), want %d", len(events), err, n+1)
	}
}
