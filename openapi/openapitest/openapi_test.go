package openapitest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"

	"github.com/erasured/erasured/openapi"
)

// buildModel parses the embedded document and builds its OpenAPI 3.1 model, failing on any error.
func buildModel(t *testing.T) (libopenapi.Document, *v3.Document) {
	t.Helper()
	doc, err := libopenapi.NewDocument(openapi.Document())
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("build the v3 model: %v", err)
	}
	return doc, &model.Model
}

func TestDocumentIsValidOpenAPI31(t *testing.T) {
	doc, model := buildModel(t)
	if !strings.HasPrefix(model.Version, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", model.Version)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, errs := v.ValidateDocument(); !ok {
		for _, e := range errs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, f := range e.SchemaValidationErrors {
				t.Errorf("  %s: %s", f.FieldPath, f.Reason)
			}
		}
	}
}

func TestDocumentReturnsACopy(t *testing.T) {
	d := openapi.Document()
	d[0] = 'x'
	if !json.Valid(openapi.Document()) {
		t.Fatal("changing what Document returned changed the document")
	}
}

// TestDocumentCoversTheContract holds the document to API.md's lists: every path and method,
// the security of each, and the error statuses every JSON:API operation must list.
func TestDocumentCoversTheContract(t *testing.T) {
	_, model := buildModel(t)
	want := map[string][]string{
		"/v2/personal-data/erasure-requests":             {"GET", "POST"},
		"/v2/personal-data/erasure-requests/{id}":        {"GET", "PATCH"},
		"/v2/personal-data/erasure-requests/{id}/events": {"GET"},
		"/v2/personal-data/logs":                         {"GET"},
		"/v2/personal-data/related-data-entries":         {"GET"},
		"/v2/settings/logs-ttl":                          {"GET", "PUT"},
		"/oauth/access_token":                            {"POST"},
		"/v1/erasure-requests/{request_id}":              {"PATCH"},
		"/v2/erasure-services":                           {"GET", "POST"},
		"/v2/erasure-services/{name}":                    {"GET", "PATCH", "DELETE"},
		"/v2/webhooks":                                   {"GET", "POST"},
		"/v2/webhooks/{id}":                              {"GET", "PATCH", "DELETE"},
		"/v2/webhooks/{id}/deliveries":                   {"GET"},
		"/api/public/v1/requests":                        {"GET", "POST"},
		"/api/public/v1/requests/{request_id}":           {"GET", "PATCH", "DELETE"},
		"/deletions/{deletion_id}":                       {"GET"},
		"/openapi.json":                                  {"GET"},
		"/healthz":                                       {"GET"},
		"/readyz":                                        {"GET"},
		"/metrics":                                       {"GET"},
	}
	// The token endpoint takes no API key: it is where a client gets its token.
	public := []string{"/openapi.json", "/healthz", "/readyz", "/metrics", "/oauth/access_token"}
	if n := model.Paths.PathItems.Len(); n != len(want) {
		t.Errorf("%d paths, want %d", n, len(want))
	}
	if len(model.Security) != 2 {
		t.Errorf("top-level security: %d alternatives, want bearer or apiKey", len(model.Security))
	}
	for path, methods := range want {
		item := model.Paths.PathItems.GetOrZero(path)
		if item == nil {
			t.Errorf("%s is missing", path)
			continue
		}
		ops := item.GetOperations()
		var got []string
		for m := range ops.KeysFromOldest() {
			got = append(got, strings.ToUpper(m))
		}
		slices.Sort(got)
		slices.Sort(methods)
		if !slices.Equal(got, methods) {
			t.Errorf("%s: methods %v, want %v", path, got, methods)
		}
		for m, op := range ops.FromOldest() {
			name := strings.ToUpper(m) + " " + path
			isPublic := slices.Contains(public, path)
			if isPublic != (op.Security != nil && len(op.Security) == 0) {
				t.Errorf("%s: security %v; public endpoints have none, the others the top-level one", name, op.Security)
			}
			if isPublic {
				continue
			}
			statuses := []string{"400", "401", "403", "429", "500", "503"}
			if path != "/v1/erasure-requests/{request_id}" {
				statuses = append(statuses, "406")
			}
			if strings.Contains(path, "{") {
				statuses = append(statuses, "404")
			}
			if op.RequestBody != nil {
				statuses = append(statuses, "413", "415")
			}
			for _, s := range statuses {
				if op.Responses.Codes.GetOrZero(s) == nil {
					t.Errorf("%s: does not list %s", name, s)
				}
			}
		}
	}
}

// TestCheckAccepts: a valid exchange for each documented answer passes.
func TestCheckAccepts(t *testing.T) {
	v := mustValidator(t)
	erasureWithEvents := set(t, erasureRequestDocument, "/data/relationships/events/data", `[{"type":"erasure_event","id":"1"}]`)
	erasureWithEvents = set(t, erasureWithEvents, "/included", `[`+erasureEvent+`]`)
	sparse := set(t, erasureRequestPage, "/data/0/attributes", `{"status":"CREATED","resource_id":"acc-1"}`)
	sparse = set(t, sparse, "/data/0/relationships", "")
	etag := with(jsonAPIHeader, "ETag", `"3"`)

	for name, x := range map[string]exchange{
		"erasure requests: a page":                        {"GET", "/v2/personal-data/erasure-requests?page[limit]=1&sort=-created_at", nil, 200, jsonAPIHeader, erasureRequestPage},
		"erasure requests: a page asked with include":     {"GET", "/v2/personal-data/erasure-requests?include=events", nil, 200, jsonAPIHeader, set(t, erasureRequestPage, "/included", "[]")},
		"erasure requests: a cursor page":                 {"GET", "/v2/personal-data/erasure-requests?page[size]=1", nil, 200, jsonAPIHeader, cursorPage},
		"erasure requests: a sparse page":                 {"GET", "/v2/personal-data/erasure-requests?fields[erasure_request]=status,resource_id", nil, 200, jsonAPIHeader, sparse},
		"erasure requests: a cursor profile media type":   {"GET", "/v2/personal-data/erasure-requests?page[size]=1", nil, 200, http.Header{"Content-Type": {`application/vnd.api+json; profile="https://jsonapi.org/profiles/ethanresnick/cursor-pagination"`}}, cursorPage},
		"erasure requests: created":                       {"POST", "/v2/personal-data/erasure-requests", nil, 201, with(etag, "Location", erURL), erasureRequestDocument},
		"erasure requests: one":                           {"GET", "/v2/personal-data/erasure-requests/" + erID, nil, 200, etag, erasureRequestDocument},
		"erasure requests: one with its events":           {"GET", "/v2/personal-data/erasure-requests/" + erID + "?include=events", nil, 200, etag, erasureWithEvents},
		"erasure requests: patched":                       {"PATCH", "/v2/personal-data/erasure-requests/" + erID, nil, 200, jsonAPIHeader, erasureRequestDocument},
		"erasure requests: events":                        {"GET", "/v2/personal-data/erasure-requests/" + erID + "/events", nil, 200, jsonAPIHeader, eventsPage},
		"erasure requests: not found":                     {"GET", "/v2/personal-data/erasure-requests/" + erID, nil, 404, jsonAPIHeader, errorDocument(404, "not_found", "")},
		"erasure requests: a bad filter":                  {"GET", "/v2/personal-data/erasure-requests?filter=eq(x,1)", nil, 400, jsonAPIHeader, errorDocument(400, "invalid", `{"parameter":"filter"}`)},
		"erasure requests: a bad attribute":               {"POST", "/v2/personal-data/erasure-requests", nil, 400, jsonAPIHeader, errorDocument(400, "invalid", `{"pointer":"/data/attributes/resource_type"}`)},
		"erasure requests: too many":                      {"GET", "/v2/personal-data/erasure-requests", nil, 429, with(jsonAPIHeader, "Retry-After", "30"), errorDocument(429, "rate_limited", "")},
		"erasure requests: database down":                 {"GET", "/v2/personal-data/erasure-requests", nil, 503, jsonAPIHeader, errorDocument(503, "unavailable", "")},
		"erasure requests: idempotency key reused":        {"POST", "/v2/personal-data/erasure-requests", nil, 422, jsonAPIHeader, errorDocument(422, "unprocessable", `{"header":"Idempotency-Key"}`)},
		"workflow: reported":                              {"PATCH", "/v1/erasure-requests/" + erID, nil, 200, jsonHeader, workflowResponse},
		"workflow: completed is final":                    {"PATCH", "/v1/erasure-requests/" + erID, nil, 409, jsonHeader, plainError},
		"workflow: unauthorized":                          {"PATCH", "/v1/erasure-requests/" + erID, nil, 401, with(jsonHeader, "WWW-Authenticate", "Bearer"), `{"error": "unauthorized", "message": "unknown API key"}`},
		"requests: a page":                                {"GET", "/api/public/v1/requests", nil, 200, jsonAPIHeader, requestPage},
		"requests: created":                               {"POST", "/api/public/v1/requests", nil, 201, with(etag, "Location", host+"/api/public/v1/requests/req-1"), requestDocument},
		"requests: one":                                   {"GET", "/api/public/v1/requests/req-1", nil, 200, etag, requestDocument},
		"requests: patched":                               {"PATCH", "/api/public/v1/requests/req-1", nil, 200, etag, requestDocument},
		"requests: deleting":                              {"DELETE", "/api/public/v1/requests/req-1", nil, 202, with(jsonAPIHeader, "Location", "/deletions/25"), deletionAccepted},
		"requests: gone":                                  {"GET", "/api/public/v1/requests/req-1", nil, 410, jsonAPIHeader, errorDocument(410, "gone", "")},
		"requests: duplicate":                             {"POST", "/api/public/v1/requests", nil, 409, jsonAPIHeader, errorDocument(409, "conflict", `{"pointer":"/data/attributes/request_id"}`)},
		"deletions: JSON":                                 {"GET", "/deletions/25", nil, 200, jsonHeader, deletionJSON},
		"deletions: XML":                                  {"GET", "/deletions/25", nil, 200, xmlHeader, deletionXML},
		"deletions: JSON:API":                             {"GET", "/deletions/25", nil, 200, jsonAPIHeader, deletionDocument},
		"deletions: not found in JSON":                    {"GET", "/deletions/99", nil, 404, jsonHeader, podcastError},
		"deletions: not found in XML":                     {"GET", "/deletions/99", nil, 404, xmlHeader, podcastErrorXML},
		"deletions: not found in JSON:API":                {"GET", "/deletions/99", nil, 404, jsonAPIHeader, errorDocument(404, "not_found", "")},
		"deletions: not acceptable":                       {"GET", "/deletions/25", nil, 406, jsonAPIHeader, errorDocument(406, "not_acceptable", `{"header":"Accept"}`)},
		"operations: this document":                       {"GET", "/openapi.json", nil, 200, jsonHeader, string(openapi.Document())},
		"operations: healthy":                             {"GET", "/healthz", nil, 200, http.Header{"Content-Type": {"text/plain; charset=utf-8"}}, "ok\n"},
		"operations: not ready":                           {"GET", "/readyz", nil, 503, jsonAPIHeader, errorDocument(503, "unavailable", "")},
		"operations: metrics":                             {"GET", "/metrics", nil, 200, http.Header{"Content-Type": {"text/plain; version=0.0.4; charset=utf-8"}}, "# HELP up 1\nup 1\n"},
		"an unknown path":                                 {"GET", "/v2/nothing-here", nil, 404, jsonAPIHeader, errorDocument(404, "not_found", "")},
		"a collection's path with a trailing slash":       {"GET", "/api/public/v1/requests/", nil, 404, jsonAPIHeader, errorDocument(404, "not_found", "")},
		"an unknown method":                               {"PUT", "/v2/personal-data/erasure-requests/" + erID, nil, 405, jsonAPIHeader, errorDocument(405, "method_not_allowed", "")},
		"a CORS preflight":                                {"OPTIONS", "/v2/personal-data/erasure-requests", http.Header{"Origin": {"https://dash.example"}, "Access-Control-Request-Method": {"POST"}}, 204, http.Header{"Access-Control-Allow-Origin": {"https://dash.example"}}, ""},
		"erasure requests: a weak ETag on the single GET": {"GET", "/v2/personal-data/erasure-requests/" + erID, nil, 200, with(jsonAPIHeader, "ETag", `W/"3"`), erasureRequestDocument},
	} {
		t.Run(name, func(t *testing.T) {
			if err := v.Check(x.request(), x.status, x.header, []byte(x.body)); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestCheckRejects: each mutation of a valid exchange fails, with a message that names the
// fault. These are the proof that Check can fail.
func TestCheckRejects(t *testing.T) {
	v := mustValidator(t)
	etag := with(jsonAPIHeader, "ETag", `"3"`)
	one := "/v2/personal-data/erasure-requests/" + erID
	list := "/v2/personal-data/erasure-requests"
	linkedEvents := set(t, erasureRequestDocument, "/data/relationships/events/data", `[{"type":"erasure_event","id":"1"}]`)

	for name, tc := range map[string]struct {
		x    exchange
		want []string // each must appear in the error
	}{
		"a 401 without WWW-Authenticate": {
			exchange{"GET", "/deletions/25", nil, 401, jsonHeader, `{"code": 401, "message": "unknown API key", "error": "unauthorized"}`},
			[]string{"header WWW-Authenticate"},
		},
		"a deletion error in the identity service's shape": {
			exchange{"GET", "/deletions/99", nil, 404, jsonHeader, plainError},
			[]string{"body /: missing property 'code'"},
		},
		"an attribute of the wrong type": {
			exchange{"GET", one, nil, 200, etag, set(t, erasureRequestDocument, "/data/attributes/reason", `3`)},
			[]string{"body /data/attributes/reason: got number, want null or string"},
		},
		"a status outside the vocabulary": {
			exchange{"GET", one, nil, 200, etag, set(t, erasureRequestDocument, "/data/attributes/status", `"completed"`)},
			[]string{"body /data/attributes/status: value must be one of 'CREATED', 'IN_PROGRESS', 'SUCCESS', 'FAILURE'"},
		},
		"an unknown attribute": {
			exchange{"GET", one, nil, 200, etag, set(t, erasureRequestDocument, "/data/attributes/store_id", `"store-1"`)},
			[]string{"body /data/attributes: additional properties 'store_id' not allowed"},
		},
		"a timestamp that is not UTC": {
			exchange{"GET", one, nil, 200, etag, set(t, erasureRequestDocument, "/data/attributes/created_at", `"2026-01-01T01:00:00+01:00"`)},
			[]string{"body /data/attributes/created_at: '2026-01-01T01:00:00+01:00' does not match pattern 'Z$'"},
		},
		"a timestamp that is not RFC 3339": {
			exchange{"GET", one, nil, 200, etag, set(t, erasureRequestDocument, "/data/attributes/due_at", `"31/01/2026Z"`)},
			[]string{"body /data/attributes/due_at: '31/01/2026Z' is not valid date-time"},
		},
		"an id that is not a UUID": {
			exchange{"GET", one, nil, 200, etag, set(t, erasureRequestDocument, "/data/id", `"42"`)},
			[]string{"body /data/id: '42' is not valid uuid"},
		},
		"a relative self link": {
			exchange{"GET", one, nil, 200, etag, set(t, erasureRequestDocument, "/links/self", `"/v2/personal-data/erasure-requests/`+erID+`"`)},
			[]string{"body /links/self:"},
		},
		"a missing jsonapi member": {
			exchange{"GET", one, nil, 200, etag, set(t, erasureRequestDocument, "/jsonapi", "")},
			[]string{"body /: missing property 'jsonapi'", `jsonapi /jsonapi: missing`},
		},
		"JSON:API 1.0": {
			exchange{"GET", one, nil, 200, etag, set(t, erasureRequestDocument, "/jsonapi/version", `"1.0"`)},
			[]string{`jsonapi /jsonapi/version: must be "1.1", not "1.0"`},
		},
		"a missing describedby": {
			exchange{"GET", one, nil, 200, etag, set(t, erasureRequestDocument, "/links/describedby", "")},
			[]string{"body /links: missing property 'describedby'"},
		},
		"data and errors together": {
			exchange{"GET", one, nil, 200, etag, set(t, erasureRequestDocument, "/errors", `[{"status":"404","code":"not_found","title":"Not Found","detail":"x"}]`)},
			[]string{"jsonapi /: data and errors must not both be present", "body /: additional properties 'errors' not allowed"},
		},
		"an error document with a self link": {
			exchange{"GET", one, nil, 404, jsonAPIHeader, set(t, errorDocument(404, "not_found", ""), "/links/self", `"`+erURL+`"`)},
			[]string{"body /links: additional properties 'self' not allowed"},
		},
		"an error status that is a number": {
			exchange{"GET", one, nil, 404, jsonAPIHeader, set(t, errorDocument(404, "not_found", ""), "/errors/0/status", `404`)},
			[]string{"body /errors/0/status: got number, want string", "jsonapi /errors/0/status: must be a string, not 404"},
		},
		"an error status that is not the response's": {
			exchange{"GET", one, nil, 400, jsonAPIHeader, errorDocument(404, "not_found", "")},
			[]string{`jsonapi /errors/0/status: "404" differs from the response status 400`},
		},
		"an error source with an unknown member": {
			exchange{"GET", list, nil, 400, jsonAPIHeader, errorDocument(400, "invalid", `{"query":"filter"}`)},
			[]string{"body /errors/0/source: additional properties 'query' not allowed", `jsonapi /errors/0/source/query: member "query" is not allowed here (pointer, parameter, header)`},
		},
		"an undocumented status": {
			exchange{"GET", one, nil, 418, jsonAPIHeader, errorDocument(418, "teapot", "")},
			[]string{"status 418 is not documented for GET /v2/personal-data/erasure-requests/{id} (documented: 200, 400, 401, 403, 404, 406, 429, 500, 503)"},
		},
		"a 201 on a GET": {
			exchange{"GET", one, nil, 201, etag, erasureRequestDocument},
			[]string{"status 201 is not documented for GET /v2/personal-data/erasure-requests/{id}"},
		},
		"a wrong content type": {
			exchange{"GET", one, nil, 200, with(etag, "Content-Type", "text/plain"), erasureRequestDocument},
			[]string{"Content-Type text/plain is not documented for GET /v2/personal-data/erasure-requests/{id} → 200 (documented: application/vnd.api+json, application/json)"},
		},
		"no content type": {
			exchange{"GET", one, nil, 200, http.Header{"Etag": {`"3"`}}, erasureRequestDocument},
			[]string{"Content-Type none is not documented"},
		},
		"a JSON:API media type with a charset": {
			exchange{"GET", one, nil, 200, with(etag, "Content-Type", "application/vnd.api+json; charset=utf-8"), erasureRequestDocument},
			[]string{`has the parameter "charset": only ext and profile are allowed`},
		},
		"a missing ETag": {
			exchange{"GET", one, nil, 200, jsonAPIHeader, erasureRequestDocument},
			[]string{"header ETag: Required header 'ETag' is missing"},
		},
		"an ETag that is not an entity tag": {
			exchange{"GET", one, nil, 200, with(jsonAPIHeader, "ETag", "3"), erasureRequestDocument},
			[]string{`header Etag: '3' does not match pattern '^(W/)?"[^"]*"$'`},
		},
		"a 201 without Location": {
			exchange{"POST", list, nil, 201, etag, erasureRequestDocument},
			[]string{"header Location: Required header 'Location' is missing"},
		},
		"a 202 whose Location is not a deletion": {
			exchange{"DELETE", "/api/public/v1/requests/req-1", nil, 202, with(jsonAPIHeader, "Location", "/api/public/v1/requests/req-1"), deletionAccepted},
			[]string{"header Location: '/api/public/v1/requests/req-1' does not match pattern '/deletions/[1-9][0-9]*$'"},
		},
		"a 429 without Retry-After": {
			exchange{"GET", list, nil, 429, jsonAPIHeader, errorDocument(429, "rate_limited", "")},
			[]string{"header Retry-After: Required header 'Retry-After' is missing"},
		},
		"an empty body": {
			exchange{"GET", one, nil, 200, etag, ""},
			[]string{"jsonapi /: the body is not a JSON document"},
		},
		"an offset page without last": {
			exchange{"GET", list, nil, 200, jsonAPIHeader, set(t, erasureRequestPage, "/links/last", "")},
			[]string{"body /links: missing property 'last'"},
		},
		"a page without meta": {
			exchange{"GET", list, nil, 200, jsonAPIHeader, set(t, erasureRequestPage, "/meta", "")},
			[]string{"body /: missing property 'meta'"},
		},
		"a page total that is a string": {
			exchange{"GET", list, nil, 200, jsonAPIHeader, set(t, erasureRequestPage, "/meta/results/total", `"3"`)},
			[]string{"body /meta/results/total: got string, want integer"},
		},
		"a limit past 100": {
			exchange{"GET", list, nil, 200, jsonAPIHeader, set(t, erasureRequestPage, "/meta/page/limit", `101`)},
			[]string{"body /meta/page/limit: maximum: got 101, want 100"},
		},
		"include asked, included missing": {
			exchange{"GET", list + "?include=events", nil, 200, jsonAPIHeader, erasureRequestPage},
			[]string{"jsonapi /: include=events was asked: the document must have included, even []"},
		},
		"an included resource nothing links": {
			exchange{"GET", one + "?include=events", nil, 200, etag, set(t, erasureRequestDocument, "/included", `[`+erasureEvent+`]`)},
			[]string{`jsonapi /included/0: resource erasure_event "1" is not referenced by any relationship of the primary data or of another included resource (full linkage)`},
		},
		"an included resource twice": {
			exchange{"GET", one + "?include=events", nil, 200, etag, set(t, linkedEvents, "/included", `[`+erasureEvent+`,`+erasureEvent+`]`)},
			[]string{`jsonapi /included/1: resource erasure_event "1" appears more than once (first at /included/0)`},
		},
		"a field outside the sparse fieldset": {
			exchange{"GET", list + "?fields[erasure_request]=status", nil, 200, jsonAPIHeader, erasureRequestPage},
			[]string{`jsonapi /data/0/attributes/reason: fields[erasure_request]=status was asked: "reason" must not be sent`, `jsonapi /data/0/relationships/events: fields[erasure_request]=status was asked`},
		},
		"a workflow response missing a member": {
			exchange{"PATCH", "/v1/erasure-requests/" + erID, nil, 200, jsonHeader, set(t, workflowResponse, "/completed_at", "")},
			[]string{"body /: missing property 'completed_at'"},
		},
		"a workflow response in the Elastic Path vocabulary": {
			exchange{"PATCH", "/v1/erasure-requests/" + erID, nil, 200, jsonHeader, set(t, workflowResponse, "/status", `"SUCCESS"`)},
			[]string{"body /status: value must be one of 'pending', 'in_progress', 'completed'"},
		},
		"a workflow error as a JSON:API error document": {
			exchange{"PATCH", "/v1/erasure-requests/" + erID, nil, 409, jsonAPIHeader, errorDocument(409, "conflict", "")},
			[]string{"Content-Type application/vnd.api+json is not documented for PATCH /v1/erasure-requests/{request_id} → 409 (documented: application/json)"},
		},
		"a request with a score that is a string": {
			exchange{"GET", "/api/public/v1/requests/req-1", nil, 200, etag, set(t, requestDocument, "/data/attributes/similarity_score", `"0.87"`)},
			[]string{"body /data/attributes/similarity_score: got string, want null or number"},
		},
		"a request with a note that is not a UUID": {
			exchange{"GET", "/api/public/v1/requests/req-1", nil, 200, etag, set(t, requestDocument, "/data/attributes/note_id", `"note-1"`)},
			[]string{"body /data/attributes/note_id: 'note-1' is not valid uuid"},
		},
		"a deletion accepted that is not pending": {
			exchange{"DELETE", "/api/public/v1/requests/req-1", nil, 202, with(jsonAPIHeader, "Location", "/deletions/25"), set(t, deletionAccepted, "/meta/status", `"SUCCESS"`)},
			[]string{"body /meta/status: value must be 'PENDING'"},
		},
		"a deletion in XML with an unknown status": {
			exchange{"GET", "/deletions/25", nil, 200, xmlHeader, strings.Replace(deletionXML, "SUCCESS", "DONE", 1)},
			[]string{"body /status: value must be one of 'PENDING', 'SUCCESS', 'FAILURE'"},
		},
		"a deletion in XML with an id that is not a number": {
			exchange{"GET", "/deletions/25", nil, 200, xmlHeader, strings.Replace(deletionXML, ">25<", ">twenty-five<", 1)},
			[]string{"body /deletion_id: got string, want integer"},
		},
		"a deletion in XML under another root": {
			exchange{"GET", "/deletions/25", nil, 200, xmlHeader, strings.ReplaceAll(deletionXML, "deletion>", "status_report>")},
			[]string{"body /: missing properties 'deletion_id', 'status', 'message'"},
		},
		"a deletion in JSON:API of another type": {
			exchange{"GET", "/deletions/25", nil, 200, jsonAPIHeader, set(t, deletionDocument, "/data/type", `"deletion"`)},
			[]string{"body /data/type: value must be 'deletions'"},
		},
		"a deletion in YAML": {
			exchange{"GET", "/deletions/25", nil, 200, http.Header{"Content-Type": {"application/yaml"}}, "deletion_id: 25\n"},
			[]string{"Content-Type application/yaml is not documented for GET /deletions/{deletion_id} → 200 (documented: application/json, application/xml, application/vnd.api+json)"},
		},
		"an unknown path that answers 200": {
			exchange{"GET", "/v3/erasure-requests", nil, 200, jsonAPIHeader, erasureRequestPage},
			[]string{"GET /v3/erasure-requests: the path is not in the document; it may only answer 404, not 200"},
		},
		"an unknown path whose 404 is not an error document": {
			exchange{"GET", "/v3/erasure-requests", nil, 404, http.Header{"Content-Type": {"text/plain"}}, "404 page not found\n"},
			[]string{"Content-Type text/plain is not documented for GET (undocumented path) → 404 (documented: application/vnd.api+json)"},
		},
		"an unknown method that answers 404": {
			exchange{"PUT", one, nil, 404, jsonAPIHeader, errorDocument(404, "not_found", "")},
			[]string{"PUT " + one + ": the method is not in the document; it may only answer 405, not 404"},
		},
		"an unknown method whose 405 has no jsonapi": {
			exchange{"DELETE", "/healthz", nil, 405, jsonAPIHeader, set(t, errorDocument(405, "method_not_allowed", ""), "/jsonapi", "")},
			[]string{"body /: missing property 'jsonapi'", "jsonapi /jsonapi: missing"},
		},
		"a CORS preflight with a body": {
			exchange{"OPTIONS", list, http.Header{"Access-Control-Request-Method": {"POST"}}, 200, http.Header{"Content-Type": {"text/plain"}}, "ok"},
			[]string{"OPTIONS " + list + ": the method is not in the document; it may only answer 405, not 200"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			err := v.Check(tc.x.request(), tc.x.status, tc.x.header, []byte(tc.x.body))
			if err == nil {
				t.Fatal("Check accepted it")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("the error does not say %q:\n%v", w, err)
				}
			}
		})
	}
}

// TestCheckIsConcurrent: the tests of a package share one Validator across parallel tests.
func TestCheckIsConcurrent(t *testing.T) {
	v := mustValidator(t)
	good := exchange{"GET", "/v2/personal-data/erasure-requests", nil, 200, jsonAPIHeader, erasureRequestPage}
	bad := exchange{"GET", "/v2/personal-data/erasure-requests", nil, 200, jsonAPIHeader, set(t, erasureRequestPage, "/data/0/attributes/reason", "3")}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for range 20 {
				x, wantErr := good, false
				if i%2 == 1 {
					x, wantErr = bad, true
				}
				if err := v.Check(x.request(), x.status, x.header, []byte(x.body)); (err != nil) != wantErr {
					t.Errorf("Check = %v, want an error: %v", err, wantErr)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestCheckLeavesItsArgumentsAlone: Check only reads the header and the body it is given.
func TestCheckLeavesItsArgumentsAlone(t *testing.T) {
	v := mustValidator(t)
	header := with(jsonAPIHeader, "ETag", `"3"`)
	before := header.Clone()
	body := []byte(erasureRequestDocument)
	x := exchange{"GET", "/v2/personal-data/erasure-requests/" + erID, nil, 200, header, erasureRequestDocument}
	if err := v.Check(x.request(), x.status, header, body); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(body, []byte(erasureRequestDocument)) || len(header) != len(before) || header.Get("ETag") != before.Get("ETag") {
		t.Error("Check changed its arguments")
	}
}

func BenchmarkNewValidator(b *testing.B) {
	for b.Loop() {
		if _, err := NewValidator(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCheck(b *testing.B) {
	v := mustValidator(b)
	for name, x := range map[string]exchange{
		"page":  {"GET", "/v2/personal-data/erasure-requests?page[limit]=1", nil, 200, jsonAPIHeader, erasureRequestPage},
		"error": {"GET", "/v2/personal-data/erasure-requests/" + erID, nil, 404, jsonAPIHeader, errorDocument(404, "not_found", "")},
		"xml":   {"GET", "/deletions/25", nil, 200, xmlHeader, deletionXML},
	} {
		req, body := x.request(), []byte(x.body)
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				if err := v.Check(req, x.status, x.header, body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
