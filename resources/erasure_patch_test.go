package resources_test

import (
	"context"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/erasured/erasured"
)

// patchBody is a JSON:API PATCH of erasure request id with attributes.
func patchBody(id string, attributes map[string]any) map[string]any {
	return map[string]any{"data": map[string]any{"type": "erasure_request", "id": id, "attributes": attributes}}
}

func TestPatchErasureRequest(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		owner := e.key("s1")
		billing := e.namedKey("billing", "s1", erasured.ScopeErasureWorkflow)
		id := e.file(owner, "acc-1")
		path := erasures + "/" + id

		r := e.do("PATCH", path, billing, patchBody(id, map[string]any{
			"status": "in_progress", "services_erased": []string{"billing"},
			"partial_failures": []map[string]string{{"service": "crm", "message": "timeout"}},
		}), "If-Match", `"1"`).want(t, http.StatusOK)
		res := r.data(t)
		a := attrs(res)
		if res["id"] != id || a["status"] != "IN_PROGRESS" || !slices.Equal(strs(a["services_erased"]), []string{"billing"}) ||
			len(a["partial_failures"].([]any)) != 1 || a["resource_id"] != "acc-1" {
			t.Errorf("after the PATCH: %s", r.Body)
		}
		if r.Header.Get("ETag") != `"2"` || r.Doc["links"].(map[string]any)["self"] != e.url+path {
			t.Errorf("ETag %q, links %v", r.Header.Get("ETag"), r.Doc["links"])
		}
		if got := e.do("GET", path, owner, nil).want(t, http.StatusOK); got.Header.Get("ETag") != `"2"` ||
			!reflect.DeepEqual(attrs(got.data(t)), a) {
			t.Errorf("GET after the PATCH: ETag %s, %s", got.Header.Get("ETag"), got.Body)
		}
		// Reading the first ETag again changes nothing.
		e.do("PATCH", path, billing, patchBody(id, map[string]any{"services_erased": []string{"erp"}}), "If-Match", `"1"`).
			wantError(t, http.StatusPreconditionFailed, "")
		e.do("PATCH", path, billing, patchBody(id, map[string]any{"services_erased": []string{"erp"}}), "If-Match", `W/"2"`).
			wantError(t, http.StatusPreconditionFailed, "")

		// The URL and data.id may spell the uuid differently; plain JSON is accepted too.
		r = e.do("PATCH", erasures+"/"+strings.ToUpper(id), billing, patchBody(id, map[string]any{"services_erased": []string{"crm"}}),
			"Content-Type", "application/json").want(t, http.StatusOK)
		if a := attrs(r.data(t)); !slices.Equal(strs(a["services_erased"]), []string{"billing", "crm"}) || len(a["partial_failures"].([]any)) != 0 {
			t.Errorf("crm's success did not clear its failure: %v", a)
		}

		r = e.do("PATCH", path+"?include=events&fields[erasure_event]=actor", billing, patchBody(id, map[string]any{"status": "completed"})).
			want(t, http.StatusOK)
		if a := attrs(r.data(t)); a["status"] != "SUCCESS" || a["completed_at"] == nil || r.Header.Get("ETag") != `"4"` {
			t.Errorf("after completion: ETag %s, %v", r.Header.Get("ETag"), a)
		}
		var actors []string
		for _, ev := range r.Doc["included"].([]any) {
			actors = append(actors, attrs(ev.(map[string]any))["actor"].(string))
		}
		if !slices.Equal(actors, []string{"tester", "billing", "billing", "billing"}) {
			t.Errorf("included events by %v", actors)
		}
		e.do("PATCH", path, billing, patchBody(id, map[string]any{})).wantError(t, http.StatusConflict, "")
		e.do("PATCH", path, billing, patchBody(id, map[string]any{"status": "in_progress"})).wantError(t, http.StatusConflict, "")
	})
}

func TestPatchErasureRequestRejects(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		owner := e.key("s1")
		id := e.file(owner, "acc-1")
		path := erasures + "/" + id
		cases := []struct {
			name   string
			body   string
			status int
			source string
		}{
			{"read-only attribute", `{"data":{"type":"erasure_request","id":"` + id + `","attributes":{"resource_id":"someone-else"}}}`, 400, "/data/attributes/resource_id"},
			{"derived attribute", `{"data":{"type":"erasure_request","id":"` + id + `","attributes":{"status_description":"done"}}}`, 400, "/data/attributes/status_description"},
			{"unknown attribute", `{"data":{"type":"erasure_request","id":"` + id + `","attributes":{"colour":"red"}}}`, 400, "/data/attributes/colour"},
			{"null status", `{"data":{"type":"erasure_request","id":"` + id + `","attributes":{"status":null}}}`, 400, "/data/attributes/status"},
			{"view status", `{"data":{"type":"erasure_request","id":"` + id + `","attributes":{"status":"SUCCESS"}}}`, 400, "/data/attributes/status"},
			{"unknown status", `{"data":{"type":"erasure_request","id":"` + id + `","attributes":{"status":"done"}}}`, 400, "/data/attributes/status"},
			{"null services", `{"data":{"type":"erasure_request","id":"` + id + `","attributes":{"services_erased":null}}}`, 400, "/data/attributes/services_erased"},
			{"reserved service", `{"data":{"type":"erasure_request","id":"` + id + `","attributes":{"services_erased":["requests"]}}}`, 400, "/data/attributes/services_erased"},
			{"bad failure", `{"data":{"type":"erasure_request","id":"` + id + `","attributes":{"partial_failures":[{"service":"crm","reason":"x"}]}}}`, 400, "/data/attributes/partial_failures"},
			{"bad completed_at", `{"data":{"type":"erasure_request","id":"` + id + `","attributes":{"status":"completed","completed_at":"soon"}}}`, 400, "/data/attributes/completed_at"},
			{"completed_at while in progress", `{"data":{"type":"erasure_request","id":"` + id + `","attributes":{"completed_at":"2026-01-01T00:00:00Z"}}}`, 400, "/data/attributes/completed_at"},
			{"attributes under data", `{"data":{"type":"erasure_request","id":"` + id + `","status":"completed"}}`, 400, "/data/status"},
			{"no id", `{"data":{"type":"erasure_request","attributes":{}}}`, 400, "/data/id"},
			{"no type", `{"data":{"id":"` + id + `","attributes":{}}}`, 400, "/data/type"},
			{"not JSON", `{"data":`, 400, ""},
			{"wrong type", `{"data":{"type":"requests","id":"` + id + `","attributes":{}}}`, 409, "/data/type"},
			{"another id", `{"data":{"type":"erasure_request","id":"` + erasured.NewID() + `","attributes":{}}}`, 409, "/data/id"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e.do("PATCH", path, owner, c.body).wantError(t, c.status, c.source)
			})
		}
		valid := patchBody(id, map[string]any{"services_erased": []string{"billing"}})
		e.do("PATCH", path, owner, valid, "Content-Type", "text/plain").wantError(t, http.StatusUnsupportedMediaType, "")
		e.do("PATCH", path+"?include=initiator", owner, valid).wantError(t, http.StatusBadRequest, "include")
		e.do("PATCH", path+"?filter=eq(status,pending)", owner, valid).wantError(t, http.StatusBadRequest, "filter")
		e.do("PATCH", path, "", valid).wantError(t, http.StatusUnauthorized, "")
		e.do("PATCH", path, e.key("s1", erasured.ScopeErasureRead, erasured.ScopeErasureWrite), valid).wantError(t, http.StatusForbidden, "")
		e.do("PATCH", path, e.key("s2"), valid).wantError(t, http.StatusNotFound, "")
		e.do("PATCH", erasures+"/not-a-uuid", owner, patchBody("not-a-uuid", map[string]any{})).wantError(t, http.StatusNotFound, "")

		got := e.do("GET", path, owner, nil).want(t, http.StatusOK)
		if got.Header.Get("ETag") != `"1"` || attrs(got.data(t))["status"] != "CREATED" {
			t.Errorf("refused PATCHes changed the request: ETag %s, %s", got.Header.Get("ETag"), got.Body)
		}
		if events, err := e.db.ErasureEvents(context.Background(), "s1", id); err != nil || len(events) != 1 {
			t.Errorf("refused PATCHes appended events: %v %v", events, err)
		}
		if allow := e.do("DELETE", path, owner, nil).Header.Get("Allow"); allow != "GET, HEAD, PATCH" {
			t.Errorf("Allow %q", allow)
		}
	})
}
