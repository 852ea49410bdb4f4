package main

import (
	"bytes"
	"net/http"
	"path/filepath"
	"slices"
	"testing"
)

// --cors-origins, --rate-limit and --rate-burst reach the server, from the command line
// or the environment.
func TestCORSAndRateLimitFlags(t *testing.T) {
	t.Parallel()
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "o.db")
	m, out := start(t, []string{"--rate-limit", "0.5"}, map[string]string{"DATABASE_URL": dbURL,
		"ERASURED_CORS_ORIGINS": "https://dash.example.com, http://localhost:3000", "ERASURED_RATE_LIMIT": "100", "ERASURED_RATE_BURST": "1"})
	if !slices.Equal(m.cfg.CORSOrigins, []string{"https://dash.example.com", "http://localhost:3000"}) || m.cfg.RateLimit != 0.5 || m.cfg.RateBurst != 1 {
		t.Errorf("config %+v", m.cfg)
	}
	req, _ := http.NewRequest("OPTIONS", "http://"+m.Addr()+"/v2/personal-data/erasure-requests", nil)
	req.Header.Set("Origin", "http://localhost:3000")
	req.Header.Set("Access-Control-Request-Method", "POST")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "http://localhost:3000" {
		t.Errorf("preflight: %d, %v", resp.StatusCode, resp.Header)
	}
	token := tokenRE.FindString(out.String())
	if status, _ := get(t, m, "/v2/personal-data/erasure-requests", token); status != http.StatusOK {
		t.Errorf("first request: %d", status)
	}
	if status, _ := get(t, m, "/v2/personal-data/erasure-requests", token); status != http.StatusTooManyRequests {
		t.Errorf("second request in a burst of 1: %d, want 429", status)
	}

	for _, bad := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"--cors-origins", "https://dash.example.com/"}, nil},
		{nil, map[string]string{"ERASURED_CORS_ORIGINS": "dash.example.com"}},
		{[]string{"--rate-limit", "-1"}, nil},
		{[]string{"--rate-limit", "NaN"}, nil},
		{[]string{"--rate-burst", "-2"}, nil},
		{nil, map[string]string{"ERASURED_RATE_LIMIT": "fast"}},
	} {
		if _, err := newMain(bad.args, &bytes.Buffer{}, &bytes.Buffer{}, env(bad.env)); err == nil {
			t.Errorf("%v %v accepted", bad.args, bad.env)
		}
	}
}
