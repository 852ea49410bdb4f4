package jsonapi

import (
	"net/http"
	"testing"
)

// FuzzNegotiation feeds arbitrary Accept and Content-Type headers to the media type
// rules: they never panic, and they answer only with the statuses the rules allow.
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
	offers := []Offer{{Type: "application/json"}, {Type: "application/xml"}, {Type: MediaType, Params: map[string]string{"profile": ""}}}
	f.Fuzz(func(t *testing.T, accept, contentType string) {
		if err := CheckAccept([]string{accept}); err != nil && err.(*Error).Status != http.StatusNotAcceptable {
			t.Fatalf("Accept %q: %v", accept, err)
		}
		if _, err := Choose([]string{accept}, offers...); err != nil && err.(*Error).Status != http.StatusNotAcceptable {
			t.Fatalf("Accept %q: %v", accept, err)
		}
		if err := CheckContentType(contentType, Bodies...); err != nil && err.(*Error).Status != http.StatusUnsupportedMediaType {
			t.Fatalf("Content-Type %q: %v", contentType, err)
		}
	})
}
