package resources_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/resources"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
	"github.com/erasured/erasured/workers"
)

// trail renders the events of one request as "actor old>new", from a document with them included.
func trail(t *testing.T, r *response) []string {
	t.Helper()
	inc := r.included(t)
	var out []string
	for _, id := range linkage(t, r.data(t)) {
		a := attrs(inc[id])
		old := "-"
		if s, ok := a["old_status"].(string); ok {
			old = s
		}
		out = append(out, fmt.Sprintf("%s %s>%s %v", a["actor"], old, a["new_status"], a["report"]))
	}
	return out
}

// runUntilIdle runs a background worker round after round until it finds nothing to do,
// as the server's goroutine would.
func runUntilIdle(t *testing.T, w interface {
	RunOnce(context.Context) (bool, error)
}) {
	t.Helper()
	for {
		worked, err := w.RunOnce(context.Background())
		if err != nil {
			t.Fatalf("%T: %v", w, err)
		}
		if !worked {
			return
		}
	}
}

// A person asks to be forgotten: the request is filed, the server erases the Open Notes
// requests it holds of them, and the request completes, with the whole story in its trail.
func TestErasureStory(t *testing.T) {
	t.Parallel()
	storagetest.EachURL(t, func(t *testing.T, u string) {
		db, raw := storagetest.OpenURL(t, u), storagetest.SQL(t, u)
		e := newEnv(t, db, resources.Config{})
		storagetest.InsertRequest(t, raw, "s1", "n1", "alice")
		storagetest.InsertRequest(t, raw, "s1", "n2", "alice")
		storagetest.InsertRequest(t, raw, "s1", "n3", "bob")
		storagetest.InsertRequest(t, raw, "s2", "n4", "alice")
		support := e.namedKey("support", "s1")

		created := e.do("POST", erasures, support, newErasure("user", "alice")).want(t, http.StatusCreated)
		id := created.data(t)["id"].(string)
		runUntilIdle(t, &workers.Erasure{DB: db, Lease: time.Minute, Poll: time.Second})

		r := e.do("GET", erasures+"/"+id+"?include=events", support, nil).want(t, http.StatusOK)
		a := attrs(r.data(t))
		if a["status"] != "SUCCESS" || !slices.Equal(strs(a["services_erased"]), []string{"requests"}) ||
			len(a["partial_failures"].([]any)) != 0 || a["completed_at"] == nil {
			t.Errorf("after the worker: %v", a)
		}
		if r.Header.Get("ETag") != `"3"` {
			t.Errorf("ETag %s, want \"3\": erasing and completing are a change each", r.Header.Get("ETag"))
		}
		want := []string{
			"support ->pending map[]",
			"erasured pending>in_progress map[services_erased:[requests] status:in_progress]",
			"erasured in_progress>completed map[status:completed]",
		}
		if got := trail(t, r); !slices.Equal(got, want) {
			t.Errorf("trail\n got %q\nwant %q", got, want)
		}
		for _, id := range []string{"n1", "n2"} {
			if row := storagetest.Request(t, raw, "s1", id); !row.Erased() {
				t.Errorf("%s still holds %+v", id, row)
			}
		}
		if row := storagetest.Request(t, raw, "s1", "n3"); !row.Untouched("n3", "bob") {
			t.Errorf("another person's request changed: %+v", row)
		}
		if row := storagetest.Request(t, raw, "s2", "n4"); !row.Untouched("n4", "alice") {
			t.Errorf("another store's request changed: %+v", row)
		}
		done := e.do("GET", erasures+"?filter="+url.QueryEscape("eq(status,SUCCESS):eq(resource_id,alice)"), support, nil).want(t, http.StatusOK)
		if n := len(done.list(t)); n != 1 {
			t.Errorf("%d successful erasures of alice listed, want 1", n)
		}
	})
}

// With other services configured, the request waits for them after the server's own
// erasure; the last report completes it, which the server records as an event of its own.
func TestErasureStoryWithOtherServices(t *testing.T) {
	t.Parallel()
	storagetest.EachURL(t, func(t *testing.T, u string) {
		db, raw := storagetest.OpenURL(t, u, storage.WithErasureServices([]string{"billing", "crm"})), storagetest.SQL(t, u)
		e := newEnv(t, db, resources.Config{})
		storagetest.InsertRequest(t, raw, "s1", "n1", "alice")
		support := e.namedKey("support", "s1")
		billing := e.namedKey("billing", "s1", erasured.ScopeErasureWorkflow)
		crm := e.namedKey("crm", "s1", erasured.ScopeErasureWorkflow)
		id := e.file(support, "alice")

		// A service may report before the server has done its part.
		e.report(billing, id, `{"services_erased":["billing"]}`).want(t, http.StatusOK)
		runUntilIdle(t, &workers.Erasure{DB: db, Lease: time.Minute, Poll: time.Second})
		r := e.do("GET", erasures+"/"+id, support, nil).want(t, http.StatusOK)
		if a := attrs(r.data(t)); a["status"] != "IN_PROGRESS" || !slices.Equal(strs(a["services_erased"]), []string{"billing", "requests"}) {
			t.Errorf("waiting for crm: %v", a)
		}
		if !storagetest.Request(t, raw, "s1", "n1").Erased() {
			t.Error("the worker did not erase n1")
		}

		// crm's failure is the last answer: the request completes, and reads FAILURE.
		etag := r.Header.Get("ETag")
		rep := e.report(crm, id, `{"partial_failures":[{"service":"crm","message":"account locked"}]}`, "If-Match", etag).want(t, http.StatusOK)
		if rep.Doc["status"] != "completed" || rep.Doc["completed_at"] == nil || rep.Header.Get("ETag") != `"5"` {
			t.Errorf("after crm's report: ETag %s, %s", rep.Header.Get("ETag"), rep.Body)
		}
		r = e.do("GET", erasures+"/"+id+"?include=events&fields[erasure_event]=actor,old_status,new_status,report", support, nil).want(t, http.StatusOK)
		if a := attrs(r.data(t)); a["status"] != "FAILURE" || r.Header.Get("ETag") != rep.Header.Get("ETag") {
			t.Errorf("ETag %s, %v", r.Header.Get("ETag"), a)
		}
		want := []string{
			"support ->pending map[]",
			"billing pending>pending map[services_erased:[billing]]",
			"erasured pending>in_progress map[services_erased:[requests] status:in_progress]",
			"crm in_progress>in_progress map[partial_failures:[map[message:account locked service:crm]]]",
			"erasured in_progress>completed map[status:completed]",
		}
		if got := trail(t, r); !slices.Equal(got, want) {
			t.Errorf("trail\n got %q\nwant %q", got, want)
		}
	})
}

// A dashboard lists the requests past their due date that are not done yet.
func TestOverdueErasureRequests(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		hasty := newEnv(t, db, resources.Config{ErasureDue: time.Millisecond})
		patient := newEnv(t, db, resources.Config{})
		token := hasty.key("s1")
		pending := hasty.file(token, "late-pending")
		working := hasty.file(token, "late-working")
		done := hasty.file(token, "late-done")
		patient.file(token, "on-time")
		hasty.report(token, working, `{"status":"in_progress"}`).want(t, http.StatusOK)
		hasty.report(token, done, `{"status":"completed"}`).want(t, http.StatusOK)
		time.Sleep(5 * time.Millisecond)

		now := time.Now().UTC().Format(time.RFC3339Nano)
		r := hasty.do("GET", erasures+"?sort=due_at&filter="+url.QueryEscape("lt(due_at,"+now+"):in(status,pending,in_progress)"), token, nil).
			want(t, http.StatusOK)
		var ids []string
		for _, res := range r.list(t) {
			ids = append(ids, res["id"].(string))
		}
		if !slices.Equal(ids, []string{pending, working}) {
			t.Errorf("overdue %v, want %v", ids, []string{pending, working})
		}
	})
}
