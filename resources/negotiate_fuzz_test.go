package resources

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzNegotiation feeds arbitrary Accept and Content-Type headers to the JSON:API media
// type rules: they never panic, and they answer only with the statuses the rules allow.
func FuzzNegotiation(f *testing.F) {
	for _, seed := range [][2]string{
		{"application/vnd.api+json", "application/vnd.api+json"},
		{"application/vnd.api+json; charset=utf-8, */*;q=0.1", "application/json; charset=utf-8"},
		{`application/vnd.api+json; profile="a b"; ext="c"`, `application/vnd.api+json; ext="https://x"`},
		{"text/html;q=1.0, application/*;q=0.000", "text/plain"},
		{";;;,,,;q=", "application/vnd.api+json;"},
		{"*/*;q=abc", `application/vnd.api+json; profile="unterminated`},
		{"", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, accept, contentType string) {
		if err := checkAccept([]string{accept}); err != nil {
			if err.(*apiError).status != http.StatusNotAcceptable {
				t.Fatalf("Accept %q: %v", accept, err)
			}
		}
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
		r.Header["Content-Type"] = []string{contentType}
		if err := checkContentType(r); err != nil {
			if err.(*apiError).status != http.StatusUnsupportedMediaType {
				t.Fatalf("Content-Type %q: %v", contentType, err)
			}
		}
	})
}
