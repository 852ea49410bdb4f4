package resources_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// xmlDeclaration opens every XML body the server writes.
const xmlDeclaration = `<?xml version="1.0" encoding="UTF-8"?>`

type xmlDeletion struct {
	XMLName    xml.Name `xml:"deletion"`
	DeletionID int64    `xml:"deletion_id"`
	Status     string   `xml:"status"`
	Message    string   `xml:"message"`
}

func parseXMLDeletion(t *testing.T, body []byte) xmlDeletion {
	t.Helper()
	var d xmlDeletion
	if !strings.HasPrefix(string(body), xmlDeclaration) {
		t.Fatalf("no XML declaration: %s", body)
	}
	if err := xml.Unmarshal(body, &d); err != nil {
		t.Fatalf("not a deletion in XML: %v\n%s", err, body)
	}
	return d
}

// Representations of a deletion, by the Accept header that asks for each.
const (
	asJSON    = "application/json"
	asXML     = "application/xml"
	asJSONAPI = "application/vnd.api+json"
)

// newDeletion creates a request in the key's store, asks for its deletion and returns
// the path of the deletion.
func newDeletion(t *testing.T, e *env, token, requestID string) string {
	t.Helper()
	e.do("POST", requestsPath, token, newRequest(map[string]any{"request_id": requestID, "requested_by": "u"})).
		want(t, http.StatusCreated)
	return e.local(t, e.do("DELETE", requestsPath+"/"+requestID, token, nil).want(t, http.StatusAccepted).Header.Get("Location"))
}

// wantDeletion fails the test unless r is the pending deletion id in representation as.
func wantDeletion(t *testing.T, r *response, as string, id int64) {
	t.Helper()
	r.want(t, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); ct != as {
		t.Fatalf("Content-Type %q, want %q: %s", ct, as, r.Body)
	}
	switch as {
	case asJSON:
		var d struct {
			DeletionID int64  `json:"deletion_id"`
			Status     string `json:"status"`
			Message    string `json:"message"`
		}
		if err := json.Unmarshal(r.Body, &d); err != nil || d.DeletionID != id || d.Status != "PENDING" || d.Message != "Deletion is pending" {
			t.Errorf("JSON deletion %s (%v)", r.Body, err)
		}
	case asXML:
		if d := parseXMLDeletion(t, r.Body); d.DeletionID != id || d.Status != "PENDING" || d.Message != "Deletion is pending" {
			t.Errorf("XML deletion %s", r.Body)
		}
	case asJSONAPI:
		d := r.data(t)
		if d["type"] != "deletions" || d["id"] != strconv.FormatInt(id, 10) || attrs(d)["status"] != "PENDING" {
			t.Errorf("JSON:API deletion %s", r.Body)
		}
	}
}

// wantDeletionError fails the test unless r is an error with status in representation as.
func wantDeletionError(t *testing.T, r *response, as string, status int, source string) {
	t.Helper()
	r.want(t, status)
	if ct := r.Header.Get("Content-Type"); ct != as {
		t.Fatalf("Content-Type %q, want %q: %s", ct, as, r.Body)
	}
	switch as {
	case asJSON:
		// The Open Podcast API's Error: code (the status) and message, with the kind.
		var e struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
			Error   string `json:"error"`
		}
		dec := json.NewDecoder(bytes.NewReader(r.Body))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil || e.Code != status || e.Error == "" || e.Message == "" {
			t.Errorf("JSON error %s (%v)", r.Body, err)
		}
	case asXML:
		var e struct {
			XMLName xml.Name `xml:"error"`
			Code    int      `xml:"code"`
			Message string   `xml:"message"`
		}
		if !strings.HasPrefix(string(r.Body), xmlDeclaration) {
			t.Errorf("no XML declaration: %s", r.Body)
		}
		if err := xml.Unmarshal(r.Body, &e); err != nil || e.Code != status || e.Message == "" {
			t.Errorf("XML error %s (%v)", r.Body, err)
		}
	case asJSONAPI:
		r.wantError(t, status, source)
	}
}

func TestDeletionNegotiation(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("s")
		path := newDeletion(t, e, token, "r")
		id, _ := strconv.ParseInt(strings.TrimPrefix(path, "/deletions/"), 10, 64)
		for _, c := range []struct{ accept, want string }{
			{"", asJSON},
			{"application/json", asJSON},
			{"application/xml", asXML},
			{"application/vnd.api+json", asJSONAPI},
			{"*/*", asJSON},
			{"application/*", asJSON},
			{"text/html, application/*;q=0.2", asJSON},
			{"application/xml;q=0.9, application/json;q=0.1", asXML},
			{"application/json;q=0.1, application/xml;q=0.9", asXML},
			{"application/json, application/xml", asJSON},
			{"application/xml, application/json", asXML},
			{"application/vnd.api+json;q=0.5, application/xml;q=0.5, application/json;q=0.4", asJSONAPI},
			{"application/*;q=0.5, application/xml;q=0.5", asXML}, // equal q: the more specific range wins
			{"application/json;q=0, */*", asXML},                  // JSON refused, the rest by preference
			{"*/*;q=0.1, application/vnd.api+json", asJSONAPI},
			{"application/xml;charset=UTF-8", asXML}, // a charset it writes
			{`application/vnd.api+json;profile="https://example.com/p"`, asJSONAPI},
			{`application/vnd.api+json;ext="https://example.com/e", application/xml;q=0.1`, asXML},
			{"application/json;q=oops, application/xml;q=0.2", asXML}, // a malformed range counts for nothing
		} {
			t.Run(c.accept, func(t *testing.T) {
				r := e.do("GET", path, token, nil, "Accept", c.accept)
				wantDeletion(t, r, c.want, id)
				if r.Header.Get("Vary") != "Accept" {
					t.Errorf("Vary %q", r.Header.Get("Vary"))
				}
			})
		}
		for _, accept := range []string{
			"text/html",
			"application/json;q=0",
			"application/xml;q=0, application/json;q=0, application/vnd.api+json;q=0",
			"application/xml;charset=latin1",
			`application/vnd.api+json;ext="https://example.com/e"`,
			"image/*",
			"nonsense",
		} {
			t.Run("406 "+accept, func(t *testing.T) {
				e.do("GET", path, token, nil, "Accept", accept).wantError(t, http.StatusNotAcceptable, "")
			})
		}
	})
}

func TestDeletionErrorsInEachRepresentation(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		a := e.key("store-a")
		b := e.key("store-b")
		noScope := e.key("store-a", "requests:read", "requests:write")
		path := newDeletion(t, e, a, "r")
		for _, as := range []string{asJSON, asXML, asJSONAPI} {
			t.Run(as, func(t *testing.T) {
				wantDeletionError(t, e.do("GET", path, "", nil, "Accept", as), as, http.StatusUnauthorized, "")
				wantDeletionError(t, e.do("GET", path, "erd_unknown", nil, "Accept", as), as, http.StatusUnauthorized, "")
				wantDeletionError(t, e.do("GET", path, noScope, nil, "Accept", as), as, http.StatusForbidden, "")
				wantDeletionError(t, e.do("GET", path, b, nil, "Accept", as), as, http.StatusNotFound, "")
				for _, id := range []string{"999999", "0", "-1", "05", "+1", "1.0", "abc", "99999999999999999999"} {
					wantDeletionError(t, e.do("GET", "/deletions/"+id, a, nil, "Accept", as), as, http.StatusNotFound, "")
				}
				wantDeletionError(t, e.do("GET", path+"?colour=red", a, nil, "Accept", as), as, http.StatusBadRequest, "colour")
				// X-API-Key works as Bearer does.
				e.do("GET", path, "", nil, "Accept", as, "X-API-Key", a).want(t, http.StatusOK)
			})
		}
		// Sparse fieldsets are a JSON:API matter.
		sparse := e.do("GET", path+"?fields[deletions]=status", a, nil, "Accept", asJSONAPI).want(t, http.StatusOK)
		if got := attrs(sparse.data(t)); len(got) != 1 || got["status"] != "PENDING" {
			t.Errorf("fields[deletions]=status gave %v", got)
		}
		e.do("GET", path+"?fields[deletions]=colour", a, nil, "Accept", asJSONAPI).wantError(t, http.StatusBadRequest, "fields[deletions]")
		wantDeletionError(t, e.do("GET", path+"?fields[deletions]=status", a, nil), asJSON, http.StatusBadRequest, "")

		r := e.do("DELETE", path, a, nil)
		r.wantError(t, http.StatusMethodNotAllowed, "")
		if r.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("Allow %q", r.Header.Get("Allow"))
		}
	})
}
