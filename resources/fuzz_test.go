package resources_test

import (
	"net/http"
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
