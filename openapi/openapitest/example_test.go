package openapitest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/erasured/erasured/openapi/openapitest"
)

// Build the validator once per test binary, then pass every exchange of every test through
// Check (in a test: if err := v.Check(...); err != nil { t.Error(err) }).
func ExampleValidator_Check() {
	v, err := openapitest.NewValidator()
	if err != nil {
		panic(err)
	}
	// A handler that forgets the jsonapi member.
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/vnd.api+json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"links":{"describedby":"http://example.com/openapi.json"},`+
			`"errors":[{"status":"404","code":"not_found","title":"Not Found","detail":"no such erasure request"}]}`)
	})

	req := httptest.NewRequest("GET", "/v2/personal-data/erasure-requests/0f850c15-d643-480a-a2b4-9e3c26067178", nil)
	rec := httptest.NewRecorder()
	handler.ServeHTTP(rec, req)
	fmt.Println(v.Check(req, rec.Code, rec.Header(), rec.Body.Bytes()))
	// Output:
	// openapi: GET /v2/personal-data/erasure-requests/0f850c15-d643-480a-a2b4-9e3c26067178 → 404 (application/vnd.api+json): 2 violation(s):
	//   - body /: missing property 'jsonapi'
	//   - jsonapi /jsonapi: missing: every response has jsonapi {"version": "1.1"}
	//   body: {"links":{"describedby":"http://example.com/openapi.json"},"errors":[{"status":"404","code":"not_found","title":"Not Found","detail":"no such erasure request"}]}
}
