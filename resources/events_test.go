package resources_test

import (
	"net/http"
	"net/url"
	"reflect"
	"testing"

	"github.com/erasured/erasured"
)

// linkage returns the ids of the events relationship's data of res.
func linkage(t *testing.T, res map[string]any) []string {
	t.Helper()
	rel := res["relationships"].(map[string]any)["events"].(map[string]any)
	data, ok := rel["data"].([]any)
	if !ok {
		t.Fatalf("events relationship without data: %v", rel)
	}
	var ids []string
	for _, d := range data {
		ri := d.(map[string]any)
		if ri["type"] != "erasure_event" {
			t.Errorf("linkage %v", ri)
		}
		ids = append(ids, ri["id"].(string))
	}
	return ids
}

// included returns the included resources of r by id, failing unless the member is there.
func (r *response) included(t *testing.T) map[string]map[string]any {
	t.Helper()
	inc, ok := r.Doc["included"].([]any)
	if !ok {
		t.Fatalf("no included in %s", r.Body)
	}
	out := map[string]map[string]any{}
	for _, v := range inc {
		res := v.(map[string]any)
		if res["type"] != "erasure_event" {
			t.Errorf("included %v", res)
		}
		out[res["id"].(string)] = res
	}
	return out
}

func TestErasureEvents(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		owner := e.key("s1")
		billing := e.namedKey("billing", "s1", erasured.ScopeErasureWorkflow)
		quiet := e.file(owner, "acc-1")
		busy := e.file(owner, "acc-2")
		e.report(billing, busy, `{"status":"in_progress","services_erased":["billing"]}`).want(t, http.StatusOK)
		e.report(billing, busy, `{"status":"completed","completed_at":"2026-02-01T10:00:00+02:00"}`).want(t, http.StatusOK)

		r := e.do("GET", erasures+"/"+busy+"/events", owner, nil).want(t, http.StatusOK)
		if links := r.Doc["links"].(map[string]any); links["self"] != e.url+erasures+"/"+busy+"/events" || links["describedby"] == nil {
			t.Errorf("links %v", links)
		}
		events := r.list(t)
		if len(events) != 3 {
			t.Fatalf("%d events: %s", len(events), r.Body)
		}
		want := []map[string]any{
			{"actor": "tester", "old_status": nil, "new_status": "pending", "report": map[string]any{}},
			{"actor": "billing", "old_status": "pending", "new_status": "in_progress",
				"report": map[string]any{"status": "in_progress", "services_erased": []any{"billing"}}},
			{"actor": "billing", "old_status": "in_progress", "new_status": "completed",
				"report": map[string]any{"status": "completed", "completed_at": "2026-02-01T08:00:00Z"}},
		}
		for i, ev := range events {
			a := attrs(ev)
			if ev["type"] != "erasure_event" || ev["id"] == "" || a["created_at"] == nil {
				t.Errorf("event %d: %v", i, ev)
			}
			delete(a, "created_at")
			if !reflect.DeepEqual(a, want[i]) {
				t.Errorf("event %d: %v, want %v", i, a, want[i])
			}
		}
		sparse := e.do("GET", erasures+"/"+busy+"/events?fields[erasure_event]=actor,new_status", owner, nil).want(t, http.StatusOK)
		if a := attrs(sparse.list(t)[2]); len(a) != 2 || a["new_status"] != "completed" {
			t.Errorf("sparse event %v", a)
		}

		e.do("GET", erasures+"/"+busy+"/events?fields[erasure_event]=colour", owner, nil).wantError(t, 400, "fields[erasure_event]")
		e.do("GET", erasures+"/"+busy+"/events?include=events", owner, nil).wantError(t, 400, "include")
		e.do("GET", erasures+"/"+busy+"/events", e.key("s2"), nil).wantError(t, http.StatusNotFound, "")
		e.do("GET", erasures+"/"+erasured.NewID()+"/events", owner, nil).wantError(t, http.StatusNotFound, "")
		e.do("GET", erasures+"/nope/events", owner, nil).wantError(t, http.StatusNotFound, "")
		e.do("GET", erasures+"/"+busy+"/events", e.key("s1", erasured.ScopeErasureWorkflow), nil).wantError(t, http.StatusForbidden, "")

		// include=events on one request: linkage in the relationship, the events in included.
		one := e.do("GET", erasures+"/"+busy+"?include=events&fields[erasure_event]=actor", owner, nil).want(t, http.StatusOK)
		ids := linkage(t, one.data(t))
		inc := one.included(t)
		if len(ids) != 3 || len(inc) != 3 {
			t.Fatalf("linkage %v, included %v", ids, inc)
		}
		for i, id := range ids {
			if id != events[i]["id"] || len(attrs(inc[id])) != 1 || attrs(inc[id])["actor"] != want[i]["actor"] {
				t.Errorf("included %s: %v", id, inc[id])
			}
		}
		if rel := one.data(t)["relationships"].(map[string]any)["events"].(map[string]any); rel["links"] == nil {
			t.Errorf("the relationship lost its links: %v", rel)
		}
		if plain := e.do("GET", erasures+"/"+busy, owner, nil).want(t, http.StatusOK); plain.Doc["included"] != nil {
			t.Errorf("included without include: %s", plain.Body)
		}
		none := e.do("GET", erasures+"/"+busy+"?include=", owner, nil).want(t, http.StatusOK)
		if inc, ok := none.Doc["included"].([]any); !ok || len(inc) != 0 {
			t.Errorf("include= gave %s", none.Body)
		}
		for _, bad := range []string{"initiator", "events,initiator", "events.requests", "events,"} {
			e.do("GET", erasures+"/"+busy+"?include="+url.QueryEscape(bad), owner, nil).wantError(t, 400, "include")
			e.do("GET", erasures+"?include="+url.QueryEscape(bad), owner, nil).wantError(t, 400, "include")
		}

		// include=events on the list: every request's events, from one query.
		list := e.do("GET", erasures+"?include=events&sort=resource_id", owner, nil).want(t, http.StatusOK)
		page := list.list(t)
		if len(page) != 2 || page[0]["id"] != quiet || len(linkage(t, page[0])) != 1 || len(linkage(t, page[1])) != 3 ||
			len(list.included(t)) != 4 {
			t.Errorf("list with events: %s", list.Body)
		}
		empty := e.do("GET", erasures+"?include=events&filter=eq(resource_id,nobody)", owner, nil).want(t, http.StatusOK)
		if inc, ok := empty.Doc["included"].([]any); !ok || len(inc) != 0 || len(empty.list(t)) != 0 {
			t.Errorf("empty page with events: %s", empty.Body)
		}
		// A sparse fieldset may leave the relationship out; the events are still included.
		sparseList := e.do("GET", erasures+"?include=events&fields[erasure_request]=status", owner, nil).want(t, http.StatusOK)
		if sparseList.list(t)[0]["relationships"] != nil || len(sparseList.included(t)) != 4 {
			t.Errorf("sparse list with events: %s", sparseList.Body)
		}
	})
}
