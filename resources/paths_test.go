package resources

import (
	"maps"
	"net/http"
	"net/url"
	"testing"

	"github.com/gorilla/mux"
)

// pathMatcher answers as mux's own Path matcher does, and reads the same variables, for
// every template the server routes and paths near and far from them.
func TestPathMatcherAsMux(t *testing.T) {
	templates := []string{"/healthz", "/openapi.json", ErasureRequestsPath, ErasureRequestsPath + "/{id}",
		ErasureRequestsPath + "/{id}/events", workflowPath, RequestsPath + "/{request_id}", deletionPath + "/{deletion_id}", "/"}
	paths := []string{
		"", "/", "//", "/healthz", "/healthz/", "//healthz", "/healthz/x", "/healthzz", "/Healthz", "/openapi.json",
		"/openapiXjson", ErasureRequestsPath, ErasureRequestsPath + "/", ErasureRequestsPath + "//",
		ErasureRequestsPath + "/abc", ErasureRequestsPath + "/abc/", ErasureRequestsPath + "/a b%?#\n",
		ErasureRequestsPath + "/\xff\xfe", ErasureRequestsPath + "/é", ErasureRequestsPath + "/abc/events",
		ErasureRequestsPath + "//events", ErasureRequestsPath + "/abc/events/", ErasureRequestsPath + "/abc/other",
		"/v1/erasure-requests/r1", "/v1/erasure-requests/", RequestsPath + "/a/b", RequestsPath + "/.", deletionPath + "/d1",
		"*", "healthz", "/v2/personal-data", "/v2/personal-data/erasure-requests-x/1",
	}
	for _, tpl := range templates {
		theirs := mux.NewRouter().Path(tpl)
		ours := mux.NewRouter().MatcherFunc(pathMatcher(tpl))
		for _, p := range paths {
			r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: p}}
			var want, got mux.RouteMatch
			wantOK, gotOK := theirs.Match(r, &want), ours.Match(r, &got)
			if wantOK != gotOK || wantOK && !maps.Equal(want.Vars, got.Vars) {
				t.Errorf("%s on %q: matched %v with %v, mux matched %v with %v", tpl, p, gotOK, got.Vars, wantOK, want.Vars)
			}
		}
	}
}

func TestPathMatcherRefusesOtherTemplates(t *testing.T) {
	for _, tpl := range []string{"/a/{id:[0-9]+}", "/a/x{id}", "/a/{}", "a/b", "/a/{id"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: registered", tpl)
				}
			}()
			pathMatcher(tpl)
		}()
	}
}

// BenchmarkRouting is mux finding GET one erasure request among the routes registered
// before it, by mux's own Path and by pathMatcher.
//
//	go test ./resources -run '^$' -bench Routing -benchmem
func BenchmarkRouting(b *testing.B) {
	handler := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	for _, c := range []struct {
		name string
		path func(*mux.Router, string) *mux.Route
	}{
		{"mux", func(r *mux.Router, tpl string) *mux.Route { return r.Path(tpl) }},
		{"segments", func(r *mux.Router, tpl string) *mux.Route { return r.MatcherFunc(pathMatcher(tpl)) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := mux.NewRouter()
			for _, route := range []struct{ tpl, method string }{
				{"/healthz", http.MethodGet}, {"/readyz", http.MethodGet}, {"/openapi.json", http.MethodGet}, {"/metrics", http.MethodGet},
				{ErasureRequestsPath, http.MethodGet}, {ErasureRequestsPath, http.MethodPost}, {ErasureRequestsPath + "/{id}", http.MethodGet},
			} {
				c.path(r, route.tpl).Methods(route.method).Handler(handler)
			}
			req := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: ErasureRequestsPath + "/23eb7845-4c3e-41bc-8cb4-f7b455f2a066"}}
			for b.Loop() {
				var m mux.RouteMatch
				if !r.Match(req, &m) || m.Vars["id"] == "" {
					b.Fatal("no match")
				}
			}
		})
	}
}
