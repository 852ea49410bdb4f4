package resources_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/erasured/erasured/resources"
	"github.com/erasured/erasured/storage/storagetest"
)

// FuzzCreateErasureRequest sends arbitrary bodies and content types to the create
// endpoint of a real server: whatever arrives, the answer is a 201 that reads back, or a
// client error in the documented shape; never a 500, never a crash.
func FuzzCreateErasureRequest(f *testing.F) {
	for _, seed := range []struct{ body, contentType string }{
		{`{"data":{"type":"erasure_request","attributes":{"resource_type":"account","resource_id":"a"}}}`, "application/vnd.api+json"},
		{`{"data":{"type":"erasure_request","resource_type":"user","resource_id":"b","reason":"x"}}`, "application/json"},
		{`{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":"c","reason":null}}}`, "application/vnd.api+json"},
		{`{"data":{"type":"erasure_request","id":"x","attributes":{}}}`, "application/vnd.api+json"},
		{`{"data":{"type":"erasure_request","attributes":{"resource_type":["user"],"resource_id":{"a":1}}}}`, "application/vnd.api+json"},
		{`{"data":{"type":"erasure_request","attributes":null}}`, "application/vnd.api+json"},
		{`{"data":{"type":1}}`, "application/vnd.api+json"},
		{`{"data":"x"}`, "application/vnd.api+json"},
		{`[1,2,3]`, "application/vnd.api+json"},
		{`null`, "application/vnd.api+json"},
		{"{\"data\":{\"type\":\"erasure_request\",\"attributes\":{\"resource_type\":\"user\",\"resource_id\":\"\xff\"}}}", "application/vnd.api+json"},
		{`{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":"\u0000"}}}`, "application/vnd.api+json"},
		{`{`, "application/vnd.api+json; charset=utf-8"},
		{``, ""},
	} {
		f.Add(seed.body, seed.contentType)
	}
	e := newEnv(f, storagetest.Open(f, "sqlite"), resources.Config{})
	token := e.key("fuzz")
	f.Fuzz(func(t *testing.T, body, contentType string) {
		if strings.ContainsFunc(contentType, func(r rune) bool { return r < 0x20 && r != '\t' || r == 0x7f }) {
			t.Skip("not a header value an HTTP client can send")
		}
		e.t = t
		r := e.do("POST", erasures, token, body, "Content-Type", contentType)
		switch r.Status {
		case http.StatusCreated:
			e.do("GET", erasures+"/"+r.data(t)["id"].(string), token, nil).want(t, http.StatusOK)
		case http.StatusBadRequest, http.StatusForbidden, http.StatusConflict, http.StatusUnsupportedMediaType:
			if r.Doc["errors"] == nil {
				t.Fatalf("%d without an error document: %s", r.Status, r.Body)
			}
		default:
			t.Fatalf("status %d for body %q: %s", r.Status, body, r.Body)
		}
	})
}

// FuzzWriteBodies sends arbitrary bodies to every other endpoint that reads one: the
// workflow report, the JSON:API PATCH of an erasure request, and the Open Notes POST and
// PATCH. Whatever arrives, the answer is a success or a client error in the endpoint's
// documented shape (e.do holds every response to /openapi.json); never a 5xx.
func FuzzWriteBodies(f *testing.F) {
	for _, seed := range []struct {
		endpoint uint8
		body     string
	}{
		{0, `{"status":"in_progress","services_erased":["billing"]}`},
		{0, `{"partial_failures":[{"service":"crm","message":"timeout"}],"completed_at":null}`},
		{0, `{"status":null}`},
		{0, `{"services_erased":"billing","extra":1}`},
		{0, `{"completed_at":"yesterday"}`},
		{1, `{"data":{"type":"erasure_request","id":"ID","attributes":{"services_erased":["a"]}}}`},
		{1, `{"data":{"type":"erasure_request","id":"ID","attributes":{"resource_id":"x"}}}`},
		{1, `{"data":{"type":"erasure_request","attributes":{"status":"completed"}}}`},
		{2, `{"data":{"type":"requests","attributes":{"request_id":"r","requested_by":"p","metadata":{"a":[1,2]},"similarity_score":0.5}}}`},
		{2, `{"data":{"type":"requests","attributes":{"request_id":"a/b","requested_by":"p","note_id":"nope"}}}`},
		{2, `{"data":{"type":"requests","attributes":{"request_id":"r2","requested_by":"p","metadata":[],"similarity_score":"x"}}}`},
		{3, `{"data":{"type":"requests","id":"fuzz","attributes":{"status":"COMPLETED","note_id":null}}}`},
		{3, `{"data":{"type":"requests","id":"fuzz","attributes":{"content":"x"}}}`},
		{3, `{"data":{"type":"requests","id":"other","attributes":{}}}`},
		{3, `not json`},
	} {
		f.Add(seed.endpoint, seed.body)
	}
	e := newEnv(f, storagetest.Open(f, "sqlite"), resources.Config{})
	token := e.key("fuzz")
	erasure := e.do("POST", erasures, token, newErasure("user", "fuzzed")).want(f, http.StatusCreated).data(f)["id"].(string)
	e.do("POST", requestsPath, token, `{"data":{"type":"requests","attributes":{"request_id":"fuzz","requested_by":"p"}}}`).want(f, http.StatusCreated)
	f.Fuzz(func(t *testing.T, endpoint uint8, body string) {
		e.t = t
		body = strings.ReplaceAll(body, `"ID"`, `"`+erasure+`"`)
		var r *response
		switch endpoint % 4 {
		case 0:
			r = e.do("PATCH", "/v1/erasure-requests/"+erasure, token, body, "Content-Type", "application/json")
		case 1:
			r = e.do("PATCH", erasures+"/"+erasure, token, body)
		case 2:
			r = e.do("POST", requestsPath, token, body)
		case 3:
			r = e.do("PATCH", requestsPath+"/fuzz", token, body)
		}
		if r.Status >= 500 || r.Status == http.StatusUnauthorized {
			t.Fatalf("endpoint %d, body %q: %d %s", endpoint%4, body, r.Status, r.Body)
		}
	})
}

// FuzzListQuery sends arbitrary query strings to both list endpoints of a server with
// records in it: filters, sorts, sparse fieldsets, offset pages and cursors (decoded,
// type-checked, and bound into keyset SQL) all come from the client. The answer is a
// page or a 400 in the documented shape; never a 5xx.
func FuzzListQuery(f *testing.F) {
	for _, seed := range []string{
		"filter=eq(resource_type,account):eq(resource_id,a)&sort=-created_at&page[limit]=2",
		"filter=" + "gt(created_at,2026-01-01T00:00:00Z)" + "&page[size]=2",
		"page[size]=1&page[after]=eyJ2IjoxLCJzIjoiY3JlYXRlZF9hdCIsImsiOlsiMjAyNi0wMS0wMVQwMDowMDowMFoiLCJ4Il19",
		"page[size]=1&page[before]=eyJ2IjoxLCJzIjoiY3JlYXRlZF9hdCIsImsiOlsibm90IGEgdGltZSIsIjEiXX0",
		"page[after]=eyJ2IjoxLCJzIjoiLXJlcXVlc3RlZF9hdCIsImsiOltudWxsLCJyIl19",
		"sort=completed_at,-due_at&page[size]=3&fields[erasure_request]=status",
		"filter=like(requested_by,*a*):in(status,PENDING,FAILED)&sort=requested_at",
		"page[offset]=10000&page[limit]=100&include=events",
		"filter=eq(note_id,00000000-0000-0000-0000-000000000000)&fields[requests]=",
		"page[size]=101&page[after]=&page[offset]=1",
		"%zz=1&filter=%28",
	} {
		f.Add(uint8(0), seed)
		f.Add(uint8(1), seed)
	}
	e := newEnv(f, storagetest.Open(f, "sqlite"), resources.Config{})
	token := e.key("fuzz")
	for i := range 3 {
		e.do("POST", erasures, token, newErasure("account", fmt.Sprintf("a%d", i))).want(f, http.StatusCreated)
		e.do("POST", requestsPath, token, fmt.Sprintf(`{"data":{"type":"requests","attributes":{"request_id":"r%d","requested_by":"ann"}}}`, i)).
			want(f, http.StatusCreated)
	}
	f.Fuzz(func(t *testing.T, endpoint uint8, query string) {
		if _, err := url.ParseQuery(query); err != nil || strings.ContainsAny(query, " #\x7f") ||
			strings.ContainsFunc(query, func(r rune) bool { return r < 0x20 || r > 0x7e }) {
			t.Skip("not a query string an HTTP client sends as is")
		}
		e.t = t
		path := erasures
		if endpoint%2 == 1 {
			path = requestsPath
		}
		r := e.do("GET", path+"?"+query, token, nil)
		if r.Status != http.StatusOK && r.Status != http.StatusBadRequest {
			t.Fatalf("GET %s?%s: %d %s", path, query, r.Status, r.Body)
		}
	})
}
