package resources_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/erasured/erasured/resources"
	"github.com/erasured/erasured/storage/storagetest"
)

const dashboard = "https://dash.example.com"

// corsHeaders returns the Access-Control-* headers of r.
func corsHeaders(r *response) http.Header {
	out := http.Header{}
	for name, v := range r.Header {
		if strings.HasPrefix(name, "Access-Control-") {
			out[name] = v
		}
	}
	return out
}

// wantList fails unless header name of r lists every one of want (comma-separated, in
// any order and case).
func wantList(t *testing.T, r *response, name string, want ...string) {
	t.Helper()
	var have []string
	for _, v := range r.Header.Values(name) {
		for item := range strings.SplitSeq(v, ",") {
			have = append(have, strings.ToLower(strings.TrimSpace(item)))
		}
	}
	for _, w := range want {
		if !slices.Contains(have, strings.ToLower(w)) {
			t.Errorf("%s: %q lacks %s", name, r.Header.Values(name), w)
		}
	}
}

func TestCORSAllowedOrigin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storagetest.Open(t, "sqlite"), resources.Config{CORSOrigins: []string{"https://other.example.com", dashboard}})
	token := e.key("s1")
	created := e.do("POST", erasures, token, newErasure("user", "alice"), "Origin", dashboard).want(t, http.StatusCreated)
	got := e.do("GET", erasures, token, nil, "Origin", dashboard).want(t, http.StatusOK)
	// Error answers carry the headers too, or a dashboard could not show why it failed.
	notFound := e.do("GET", erasures+"/7d0c9b1e-5f1a-4c3e-9d55-3b1f0c2a8e11", token, nil, "Origin", dashboard)
	notFound.wantError(t, http.StatusNotFound, "")
	unauthorized := e.do("GET", erasures, "", nil, "Origin", dashboard)
	unauthorized.wantError(t, http.StatusUnauthorized, "")
	for name, r := range map[string]*response{"201": created, "200": got, "404": notFound, "401": unauthorized} {
		if o := r.Header.Get("Access-Control-Allow-Origin"); o != dashboard {
			t.Errorf("%s: Access-Control-Allow-Origin %q, want %s", name, o, dashboard)
		}
		wantList(t, r, "Vary", "Origin")
		wantList(t, r, "Access-Control-Expose-Headers", "Location", "ETag", "X-Request-Id", "Retry-After")
	}
}

// A preflight is answered before routing and authentication, for any path: it carries
// no credentials, and OPTIONS has no route.
func TestCORSPreflight(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storagetest.Open(t, "sqlite"), resources.Config{CORSOrigins: []string{dashboard}})
	for _, path := range []string{erasures, erasures + "/7d0c9b1e-5f1a-4c3e-9d55-3b1f0c2a8e11", "/v1/erasure-requests/x", "/api/public/v1/requests/r1"} {
		r := e.do("OPTIONS", path, "", nil, "Origin", dashboard,
			"Access-Control-Request-Method", "PATCH", "Access-Control-Request-Headers", "authorization,content-type,if-match")
		r.want(t, http.StatusNoContent)
		if o := r.Header.Get("Access-Control-Allow-Origin"); o != dashboard {
			t.Errorf("%s: Access-Control-Allow-Origin %q", path, o)
		}
		// The methods that routes answer, and no other: PUT replaces the logs' time to live.
		wantList(t, r, "Access-Control-Allow-Methods", "GET", "POST", "PUT", "PATCH", "DELETE")
		if m := r.Header.Get("Access-Control-Allow-Methods"); strings.Contains(m, "OPTIONS") || strings.Contains(m, "TRACE") {
			t.Errorf("%s: Access-Control-Allow-Methods %q", path, m)
		}
		wantList(t, r, "Access-Control-Allow-Headers", "Authorization", "X-API-Key", "Content-Type", "Idempotency-Key", "If-Match", "Accept", "X-Request-Id")
		wantList(t, r, "Vary", "Origin")
		if r.Header.Get("Access-Control-Max-Age") == "" {
			t.Errorf("%s: no Access-Control-Max-Age", path)
		}
	}
}

func TestCORSOtherOrigins(t *testing.T) {
	t.Parallel()
	db := storagetest.Open(t, "sqlite")
	for _, c := range []struct {
		name    string
		origins []string
	}{
		{"origin not listed", []string{dashboard}},
		{"no origins configured", nil},
	} {
		e := newEnv(t, db, resources.Config{CORSOrigins: c.origins})
		token := e.key("s1")
		get := e.do("GET", erasures, token, nil, "Origin", "https://evil.example.com").want(t, http.StatusOK)
		// Without an allowed origin a preflight is an ordinary OPTIONS request, which no
		// route takes.
		preflight := e.do("OPTIONS", erasures, "", nil, "Origin", "https://evil.example.com", "Access-Control-Request-Method", "POST")
		preflight.wantError(t, http.StatusMethodNotAllowed, "")
		for what, r := range map[string]*response{"GET": get, "preflight": preflight} {
			if h := corsHeaders(r); len(h) != 0 {
				t.Errorf("%s, %s: CORS headers %v", c.name, what, h)
			}
		}
		if vary := get.Header.Values("Vary"); c.origins == nil && slices.Contains(vary, "Origin") {
			t.Errorf("%s: Vary %q, though no answer depends on Origin", c.name, vary)
		}
	}
}

func TestCORSAnyOrigin(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storagetest.Open(t, "sqlite"), resources.Config{CORSOrigins: []string{"*"}})
	for _, origin := range []string{dashboard, "http://localhost:3000"} {
		r := e.do("GET", "/healthz", "", nil, "Origin", origin).want(t, http.StatusOK)
		if o := r.Header.Get("Access-Control-Allow-Origin"); o != origin {
			t.Errorf("Access-Control-Allow-Origin %q, want %s", o, origin)
		}
	}
	// Not a browser: nothing to add.
	if h := corsHeaders(e.do("GET", "/healthz", "", nil)); len(h) != 0 {
		t.Errorf("CORS headers without Origin: %v", h)
	}
}
