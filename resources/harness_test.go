package resources_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/openapi/openapitest"
	"github.com/erasured/erasured/resources"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
)

// env is one server on one fresh database, driven over real HTTP.
type env struct {
	t   testing.TB
	db  *storage.DB
	url string
}

// eachStore runs fn against a server on each store kind, in parallel.
func eachStore(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		fn(t, newEnv(t, db, resources.Config{}))
	})
}

// eachStoreSQL is eachStore with a plain connection to the same database, for tests
// that check what the tables themselves hold or install triggers that make the database
// fail on purpose.
func eachStoreSQL(t *testing.T, fn func(t *testing.T, e *env, raw *sqlx.DB)) {
	t.Helper()
	storagetest.EachURL(t, func(t *testing.T, databaseURL string) {
		fn(t, newEnv(t, storagetest.OpenURL(t, databaseURL), resources.Config{}), storagetest.SQL(t, databaseURL))
	})
}

func newEnv(t testing.TB, db *storage.DB, cfg resources.Config) *env {
	t.Helper()
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	// A fuzz target may not log through its *testing.F.
	if _, fuzz := t.(*testing.F); testing.Verbose() && !fuzz {
		log = slog.New(slog.NewTextHandler(testWriter{t}, nil))
	}
	srv := httptest.NewServer(resources.New(cfg, db, log))
	t.Cleanup(srv.Close)
	return &env{t: t, db: db, url: srv.URL}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// key creates an API key named "tester" in store with scopes (every scope when none)
// and returns its token.
func (e *env) key(store string, scopes ...string) string {
	e.t.Helper()
	return e.namedKey("tester", store, scopes...)
}

// namedKey is key with a name of its own: the actor of the events its changes append.
func (e *env) namedKey(name, store string, scopes ...string) string {
	e.t.Helper()
	if len(scopes) == 0 {
		scopes = erasured.AllScopes
	}
	k, token, err := erasured.NewKey(name, name+"@example.com", store, scopes, erasured.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.CreateKey(context.Background(), k); err != nil {
		e.t.Fatal(err)
	}
	return token
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
	Doc    map[string]any
}

// do sends one request. body is sent as is when it is a string, JSON-encoded
// otherwise; headers are name, value pairs and may replace the defaults
// (Authorization: Bearer token, Content-Type: application/vnd.api+json).
func (e *env) do(method, path, token string, body any, headers ...string) *response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/vnd.api+json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
		} else {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := &response{Status: resp.StatusCode, Header: resp.Header, Body: raw}
	if strings.Contains(resp.Header.Get("Content-Type"), "json") && len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.Doc); err != nil {
			e.t.Fatalf("%s %s: body is not JSON: %v\n%s", method, path, err, raw)
		}
	}
	checkJSONAPI(e.t, method, path, r)
	v, err := validator()
	if err != nil {
		e.t.Fatal(err)
	}
	if err := v.Check(req, r.Status, r.Header, raw); err != nil {
		e.t.Errorf("%s %s: the response breaks /openapi.json:\n%v", method, path, err)
	}
	return r
}

// validator holds every response of every test to the published OpenAPI document.
var validator = sync.OnceValues(openapitest.NewValidator)

// checkJSONAPI holds every JSON:API response to the rules common to all of them.
func checkJSONAPI(t testing.TB, method, path string, r *response) {
	t.Helper()
	if r.Header.Get("Content-Type") != "application/vnd.api+json" {
		return
	}
	if v, _ := r.Doc["jsonapi"].(map[string]any); v["version"] != "1.1" {
		t.Errorf("%s %s: jsonapi member is %v", method, path, r.Doc["jsonapi"])
	}
	if links, _ := r.Doc["links"].(map[string]any); links["describedby"] == nil {
		t.Errorf("%s %s: no links.describedby", method, path)
	}
	_, hasData := r.Doc["data"]
	_, hasErrors := r.Doc["errors"]
	if hasData == hasErrors && r.Doc["meta"] == nil {
		t.Errorf("%s %s: a document needs exactly one of data and errors: %s", method, path, r.Body)
	}
	if r.Status >= 400 && !hasErrors {
		t.Errorf("%s %s: status %d without errors", method, path, r.Status)
	}
}

// want fails the test unless r has status.
func (r *response) want(t testing.TB, status int) *response {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
	return r
}

// wantError fails the test unless r is a JSON:API error document with status whose
// first error's source has the given pointer or parameter ("" for none).
func (r *response) wantError(t *testing.T, status int, source string) map[string]any {
	t.Helper()
	r.want(t, status)
	errs, _ := r.Doc["errors"].([]any)
	if len(errs) == 0 {
		t.Fatalf("no errors in %s", r.Body)
	}
	e := errs[0].(map[string]any)
	if e["status"] != strconv.Itoa(status) {
		t.Errorf("error status %v, want %q", e["status"], strconv.Itoa(status))
	}
	if e["title"] == "" || e["detail"] == "" || e["code"] == "" {
		t.Errorf("error lacks title, detail or code: %v", e)
	}
	src, _ := e["source"].(map[string]any)
	got := ""
	if src != nil {
		got, _ = src["pointer"].(string)
		if p, ok := src["parameter"].(string); ok {
			got = p
		}
	}
	if got != source {
		t.Errorf("error source %q, want %q: %s", got, source, r.Body)
	}
	return e
}

// data returns the primary data of a single-resource document.
func (r *response) data(t testing.TB) map[string]any {
	t.Helper()
	d, ok := r.Doc["data"].(map[string]any)
	if !ok {
		t.Fatalf("no single resource in %s", r.Body)
	}
	return d
}

// list returns the primary data of a collection document.
func (r *response) list(t *testing.T) []map[string]any {
	t.Helper()
	d, ok := r.Doc["data"].([]any)
	if !ok {
		t.Fatalf("no collection in %s", r.Body)
	}
	out := make([]map[string]any, len(d))
	for i, v := range d {
		out[i] = v.(map[string]any)
	}
	return out
}

func attrs(res map[string]any) map[string]any { a, _ := res["attributes"].(map[string]any); return a }
