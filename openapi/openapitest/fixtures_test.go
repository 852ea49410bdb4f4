package openapitest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// Hand-written exchanges, one per documented answer, as the server is meant to produce them.
// The tests accept each as it is, and reject each mutation of it with a precise message.

var sharedValidator = sync.OnceValues(NewValidator)

// mustValidator returns the validator all tests share, built once per test binary.
func mustValidator(tb testing.TB) *Validator {
	tb.Helper()
	v, err := sharedValidator()
	if err != nil {
		tb.Fatalf("NewValidator: %v", err)
	}
	return v
}

const (
	host      = "http://example.com"
	erID      = "0f850c15-d643-480a-a2b4-9e3c26067178"
	erURL     = host + "/v2/personal-data/erasure-requests/" + erID
	described = host + "/openapi.json"
	jsonapi   = `"jsonapi":{"version":"1.1"}`
)

var (
	jsonAPIHeader = http.Header{"Content-Type": {"application/vnd.api+json"}}
	jsonHeader    = http.Header{"Content-Type": {"application/json"}}
	xmlHeader     = http.Header{"Content-Type": {"application/xml; charset=utf-8"}}
)

// erasureRequest is a resource object of type erasure_request, as GET …/{id} has it.
const erasureRequest = `{
	"type": "erasure_request",
	"id": "` + erID + `",
	"attributes": {
		"resource_type": "account",
		"resource_id": "acc-1",
		"reason": null,
		"status": "FAILURE",
		"status_description": "There was an error processing your request, you can retry it or report it using the id",
		"initiator": {
			"access-token-email": "ops@example.com",
			"access-token-id": "7",
			"access-token-name": "ops",
			"access-token-store-id": "store-1",
			"access-token-type": "client-credentials-token"
		},
		"services_erased": ["requests", "billing"],
		"partial_failures": [{"service": "crm", "message": "timeout"}],
		"created_at": "2026-01-01T00:00:00Z",
		"updated_at": "2026-01-02T10:30:00.123456Z",
		"due_at": "2026-01-31T00:00:00Z",
		"completed_at": "2026-01-02T10:30:00.123456Z"
	},
	"relationships": {
		"events": {"links": {"related": "` + erURL + `/events"}}
	},
	"links": {"self": "` + erURL + `"}
}`

const erasureEvent = `{
	"type": "erasure_event",
	"id": "1",
	"attributes": {
		"created_at": "2026-01-01T00:00:00Z",
		"actor": "ops",
		"old_status": null,
		"new_status": "pending",
		"report": {}
	}
}`

const erasureRequestDocument = `{` + jsonapi + `,
	"links": {"self": "` + erURL + `", "describedby": "` + described + `"},
	"data": ` + erasureRequest + `
}`

const erasureRequestPage = `{` + jsonapi + `,
	"links": {
		"self": "` + host + `/v2/personal-data/erasure-requests?page[limit]=1&sort=-created_at",
		"describedby": "` + described + `",
		"first": "` + host + `/v2/personal-data/erasure-requests?page%5Blimit%5D=1&page%5Boffset%5D=0&sort=-created_at",
		"last": "` + host + `/v2/personal-data/erasure-requests?page%5Blimit%5D=1&page%5Boffset%5D=2&sort=-created_at",
		"prev": null,
		"next": "` + host + `/v2/personal-data/erasure-requests?page%5Blimit%5D=1&page%5Boffset%5D=1&sort=-created_at"
	},
	"meta": {"page": {"limit": 1, "offset": 0, "current": 1, "total": 3}, "results": {"total": 3}},
	"data": [` + erasureRequest + `]
}`

const cursorPage = `{` + jsonapi + `,
	"links": {
		"self": "` + host + `/v2/personal-data/erasure-requests?page[size]=1",
		"describedby": "` + described + `",
		"prev": null,
		"next": "` + host + `/v2/personal-data/erasure-requests?page%5Bafter%5D=abc&page%5Bsize%5D=1"
	},
	"meta": {"page": {"rangeTruncated": false}, "results": {"total": 20000, "estimated": true}},
	"data": [` + erasureRequest + `]
}`

const eventsPage = `{` + jsonapi + `,
	"links": {"self": "` + erURL + `/events", "describedby": "` + described + `"},
	"data": [` + erasureEvent + `]
}`

const workflowResponse = `{
	"request_id": "` + erID + `",
	"user_id": "acc-1",
	"requested_by": "ops",
	"status": "completed",
	"reason": "customer asked",
	"services_erased": ["requests", "billing"],
	"partial_failures": [],
	"requested_at": "2026-01-01T00:00:00Z",
	"completed_at": "2026-01-02T10:30:00Z"
}`

const request = `{
	"type": "requests",
	"id": "req-1",
	"attributes": {
		"request_id": "req-1",
		"requested_by": "user-9",
		"status": "PENDING",
		"note_id": null,
		"community_server_id": "guild-1",
		"requested_at": "2026-01-01T00:00:00Z",
		"created_at": "2026-01-01T00:00:00Z",
		"updated_at": "2026-01-01T00:00:00Z",
		"content": "Is this true?",
		"platform_message_id": "m-1",
		"platform_channel_id": null,
		"metadata": {"lang": "en"},
		"similarity_score": 0.87,
		"dataset_name": null,
		"dataset_item_id": null
	},
	"links": {"self": "` + host + `/api/public/v1/requests/req-1"}
}`

const requestDocument = `{` + jsonapi + `,
	"links": {"self": "` + host + `/api/public/v1/requests/req-1", "describedby": "` + described + `"},
	"data": ` + request + `
}`

const requestPage = `{` + jsonapi + `,
	"links": {
		"self": "` + host + `/api/public/v1/requests",
		"describedby": "` + described + `",
		"first": "` + host + `/api/public/v1/requests?page%5Blimit%5D=25&page%5Boffset%5D=0",
		"last": "` + host + `/api/public/v1/requests?page%5Blimit%5D=25&page%5Boffset%5D=0",
		"prev": null,
		"next": null
	},
	"meta": {"page": {"limit": 25, "offset": 0, "current": 1, "total": 1}, "results": {"total": 1}},
	"data": [` + request + `]
}`

const deletionAccepted = `{` + jsonapi + `,
	"links": {"self": "` + host + `/api/public/v1/requests/req-1", "describedby": "` + described + `"},
	"meta": {"deletion_id": 25, "status": "PENDING", "message": "Deletion is pending"}
}`

const deletionJSON = `{"deletion_id": 25, "status": "SUCCESS", "message": "Request deleted successfully"}`

const deletionXML = `<?xml version="1.0" encoding="UTF-8"?>
<deletion><deletion_id>25</deletion_id><status>SUCCESS</status><message>Request deleted successfully</message></deletion>`

const deletionDocument = `{` + jsonapi + `,
	"links": {"self": "` + host + `/deletions/25", "describedby": "` + described + `"},
	"data": {"type": "deletions", "id": "25", "attributes": {"status": "FAILURE", "message": "database is locked"}}
}`

// errorDocument is a JSON:API error document with one error of the given status.
func errorDocument(status int, code, source string) string {
	s := strconv.Itoa(status)
	src := ""
	if source != "" {
		src = `, "source": ` + source
	}
	return `{` + jsonapi + `,
	"links": {"describedby": "` + described + `"},
	"errors": [{"status": "` + s + `", "code": "` + code + `", "title": "` + http.StatusText(status) + `", "detail": "it went wrong"` + src + `}]
}`
}

const plainError = `{"error": "not_found", "message": "no erasure request ` + erID + `"}`

const podcastError = `{"code": 404, "message": "no deletion 99", "error": "not_found"}`

const podcastErrorXML = `<?xml version="1.0" encoding="UTF-8"?><error><code>404</code><message>no deletion 99</message></error>`

// exchange is one request and the response to hold to the document.
type exchange struct {
	method, target string // target: path and query, as sent
	reqHeader      http.Header
	status         int
	header         http.Header
	body           string
}

func (x exchange) request() *http.Request {
	req := httptest.NewRequest(x.method, x.target, nil)
	for k, vs := range x.reqHeader {
		req.Header[k] = vs
	}
	return req
}

// with returns h with more headers.
func with(h http.Header, kv ...string) http.Header {
	h = h.Clone()
	for i := 0; i < len(kv); i += 2 {
		h.Set(kv[i], kv[i+1])
	}
	return h
}

// set returns the JSON document doc with the value at the JSON Pointer ptr replaced by v
// (a JSON text), or removed when v is "".
func set(tb testing.TB, doc, ptr, v string) string {
	tb.Helper()
	var root any
	if err := json.Unmarshal([]byte(doc), &root); err != nil {
		tb.Fatalf("fixture is not JSON: %v", err)
	}
	tokens := strings.Split(ptr, "/")[1:]
	parent := root
	for _, t := range tokens[:len(tokens)-1] {
		switch p := parent.(type) {
		case map[string]any:
			parent = p[t]
		case []any:
			i, _ := strconv.Atoi(t)
			parent = p[i]
		}
	}
	last := tokens[len(tokens)-1]
	var value any
	if v != "" {
		if err := json.Unmarshal([]byte(v), &value); err != nil {
			tb.Fatalf("value %s is not JSON: %v", v, err)
		}
	}
	switch p := parent.(type) {
	case map[string]any:
		if v == "" {
			delete(p, last)
		} else {
			p[last] = value
		}
	case []any:
		i, _ := strconv.Atoi(last)
		p[i] = value
	default:
		tb.Fatalf("%s: no object or array at its parent", ptr)
	}
	b, err := json.Marshal(root)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}
