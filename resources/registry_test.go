package resources_test

import (
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

const services = "/v2/erasure-services"

func newService(name string) map[string]any {
	return map[string]any{"data": map[string]any{"type": "erasure_service",
		"attributes": map[string]any{"name": name, "description": "erases " + name}}}
}

// queue lists the ids of the requests that still wait for service, oldest first.
func (e *env) queue(token, service string) []string {
	e.t.Helper()
	r := e.do("GET", erasures+"?filter="+url.QueryEscape("eq(awaiting_service,"+service+")"), token, nil)
	if r.Status != http.StatusOK {
		e.t.Fatalf("queue of %s: %d %s", service, r.Status, r.Body)
	}
	var out []string
	for _, res := range r.Doc["data"].([]any) {
		out = append(out, res.(map[string]any)["id"].(string))
	}
	return out
}

// A store registers the services that must erase; every request filed afterwards
// requires them, waits in each one's queue until it reports, and completes when the
// last one has. Changing the registry changes no request already filed.
func TestServicesRegistry(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		ops := e.key("s1")
		reader := e.key("s1", erasured.ScopeErasureRead)
		billing := e.namedKey("billing", "s1", erasured.ScopeErasureWorkflow)
		crm := e.namedKey("crm", "s1", erasured.ScopeErasureWorkflow)

		before := e.file(ops, "before-the-registry")
		created := e.do("POST", services, ops, newService("billing")).want(t, http.StatusCreated)
		if created.Header.Get("Location") != e.url+services+"/billing" || created.data(t)["id"] != "billing" {
			t.Errorf("Location %q, data %v", created.Header.Get("Location"), created.data(t))
		}
		e.do("POST", services, ops, newService("crm")).want(t, http.StatusCreated)
		e.do("POST", services, ops, newService("crm")).wantError(t, http.StatusConflict, "")
		e.do("POST", services, reader, newService("ledger")).wantError(t, http.StatusForbidden, "")
		for _, bad := range []string{"requests", "Billing", "", "a b", "x/y"} {
			e.do("POST", services, ops, newService(bad)).wantError(t, http.StatusBadRequest, "/data/attributes/name")
		}
		list := e.do("GET", services, reader, nil).want(t, http.StatusOK).list(t)
		if len(list) != 2 || list[0]["id"] != "billing" || list[1]["id"] != "crm" || attrs(list[0])["description"] != "erases billing" {
			t.Errorf("registry %v", list)
		}
		e.do("GET", services+"/crm", reader, nil).want(t, http.StatusOK)
		e.do("GET", services+"/crm", e.key("s2"), nil).wantError(t, http.StatusNotFound, "")
		e.do("GET", services+"/NOT-A-NAME", reader, nil).wantError(t, http.StatusNotFound, "")
		patched := e.do("PATCH", services+"/crm", ops, map[string]any{"data": map[string]any{"type": "erasure_service", "id": "crm",
			"attributes": map[string]any{"description": "the CRM"}}}).want(t, http.StatusOK)
		if attrs(patched.data(t))["description"] != "the CRM" || patched.Header.Get("ETag") != `"2"` {
			t.Errorf("patched %v, ETag %s", patched.data(t), patched.Header.Get("ETag"))
		}
		e.do("PATCH", services+"/crm", ops, map[string]any{"data": map[string]any{"type": "erasure_service", "id": "crm",
			"attributes": map[string]any{"name": "crm2"}}}).wantError(t, http.StatusBadRequest, "/data/attributes/name")

		first, second := e.file(ops, "alice"), e.file(ops, "bob")
		r := e.do("GET", erasures+"/"+first, reader, nil).want(t, http.StatusOK)
		if got := strs(attrs(r.data(t))["services_required"]); !slices.Equal(got, []string{"billing", "crm"}) {
			t.Errorf("services_required %v", got)
		}
		if got := attrs(e.do("GET", erasures+"/"+before, reader, nil).data(t))["services_required"]; len(got.([]any)) != 0 {
			t.Errorf("a request filed before the registry requires %v", got)
		}
		if q := e.queue(reader, "billing"); !slices.Equal(q, []string{first, second}) {
			t.Errorf("billing's queue %v, want %v", q, []string{first, second})
		}
		// A queue read a request at a time, by cursor, and newest first.
		page := e.do("GET", erasures+"?page[size]=1&filter="+url.QueryEscape("eq(awaiting_service,billing)"), reader, nil).want(t, http.StatusOK)
		next := page.Doc["links"].(map[string]any)["next"].(string)
		if l := page.list(t); len(l) != 1 || l[0]["id"] != first {
			t.Errorf("first page of the queue %v", l)
		}
		page = e.do("GET", e.local(t, next), reader, nil).want(t, http.StatusOK)
		if l := page.list(t); len(l) != 1 || l[0]["id"] != second || page.Doc["links"].(map[string]any)["next"] != nil {
			t.Errorf("second page of the queue %s", page.Body)
		}
		desc := e.do("GET", erasures+"?sort=-created_at&filter="+url.QueryEscape("eq(awaiting_service,billing):eq(status,CREATED)"), reader, nil).want(t, http.StatusOK)
		if l := desc.list(t); len(l) != 2 || l[0]["id"] != second || desc.Doc["meta"].(map[string]any)["results"].(map[string]any)["total"] != 2.0 {
			t.Errorf("the queue newest first %s", desc.Body)
		}

		// A service that answers, with success or failure, leaves the queue; an
		// unlisted service's report is recorded and changes nothing else.
		e.report(billing, first, `{"services_erased":["billing","ledger"]}`).want(t, http.StatusOK)
		e.report(crm, second, `{"partial_failures":[{"service":"crm","message":"locked"}]}`).want(t, http.StatusOK)
		if q := e.queue(reader, "billing"); !slices.Equal(q, []string{second}) {
			t.Errorf("billing's queue after its report %v", q)
		}
		if q := e.queue(reader, "crm"); !slices.Equal(q, []string{first}) {
			t.Errorf("crm's queue after its report %v", q)
		}
		if q := e.do("GET", erasures+"?filter="+url.QueryEscape("in(awaiting_service,billing,crm)"), reader, nil).want(t, http.StatusOK).list(t); len(q) != 2 {
			t.Errorf("in(awaiting_service,billing,crm) listed %d", len(q))
		}

		// Taking crm out of the registry changes no request already filed.
		e.do("DELETE", services+"/crm", ops, nil).want(t, http.StatusNoContent)
		e.do("DELETE", services+"/crm", ops, nil).wantError(t, http.StatusNotFound, "")
		e.do("GET", services+"/crm", reader, nil).wantError(t, http.StatusNotFound, "")
		third := e.file(ops, "carol")
		if got := strs(attrs(e.do("GET", erasures+"/"+third, reader, nil).data(t))["services_required"]); !slices.Equal(got, []string{"billing"}) {
			t.Errorf("services_required after crm left %v", got)
		}

		// The first request completes once this server has done its part and crm has
		// answered too.
		runUntilIdle(t, &workers.Erasure{DB: e.db, Lease: time.Minute, Poll: time.Second})
		if a := attrs(e.do("GET", erasures+"/"+first, reader, nil).data(t)); a["status"] != "IN_PROGRESS" {
			t.Errorf("waiting for crm: %v", a["status"])
		}
		e.report(crm, first, `{"services_erased":["crm"]}`).want(t, http.StatusOK)
		if a := attrs(e.do("GET", erasures+"/"+first, reader, nil).data(t)); a["status"] != "SUCCESS" {
			t.Errorf("after every service answered: %v", a["status"])
		}
		if q := e.queue(reader, "crm"); len(q) != 0 {
			t.Errorf("crm's queue %v, want it empty", q)
		}
	})
}

// A store with no registry of its own requires the server's --erasure-services.
func TestServicesRegistryFallsBackToTheServers(t *testing.T) {
	t.Parallel()
	storagetest.EachURL(t, func(t *testing.T, u string) {
		e := newEnv(t, storagetest.OpenURL(t, u, storage.WithErasureServices([]string{"legacy"})), resources.Config{})
		ops := e.key("s1")
		id := e.file(ops, "alice")
		if got := strs(attrs(e.do("GET", erasures+"/"+id, ops, nil).data(t))["services_required"]); !slices.Equal(got, []string{"legacy"}) {
			t.Errorf("services_required %v", got)
		}
		if q := e.queue(ops, "legacy"); !slices.Equal(q, []string{id}) {
			t.Errorf("legacy's queue %v", q)
		}
		e.do("POST", services, ops, newService("billing")).want(t, http.StatusCreated)
		if got := strs(attrs(e.do("GET", erasures+"/"+e.file(ops, "bob"), ops, nil).data(t))["services_required"]); !slices.Equal(got, []string{"billing"}) {
			t.Errorf("with a registry, services_required %v", got)
		}
	})
}
