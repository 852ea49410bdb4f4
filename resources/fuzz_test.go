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
