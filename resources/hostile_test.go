package resources_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/resources"
	"github.com/erasured/erasured/storage/storagetest"
)

// stored counts what store holds: erasure requests, their events, and Open Notes
// requests. A refused request changes none of them.
func stored(t *testing.T, raw *sqlx.DB, store string) [3]int {
	t.Helper()
	var n [3]int
	for i, table := range []string{"erasure_requests", "erasure_events", "requests"} {
		n[i] = countRows(t, raw, `SELECT COUNT(*) FROM `+table+` WHERE store_id = ?`, store)
	}
	return n
}

// TestHostileBodies sends what an attacker would put in a body: U+0000, invalid UTF-8
// (raw, and as a lone surrogate escape), duplicate members, and timestamps outside years
// 1 to 9999 once their offset is applied, in the fields of every body. Each is a 400 that
// points at the member at fault, and nothing is stored.
func TestHostileBodies(t *testing.T) {
	t.Parallel()
	eachStoreSQL(t, func(t *testing.T, e *env, raw *sqlx.DB) {
		token := e.key("s1")
		id := e.file(token, "person")
		e.do("POST", requestsPath, token, newRequest(map[string]any{"request_id": "r1", "requested_by": "ann"})).want(t, http.StatusCreated)
		before := stored(t, raw, "s1")
		erasure := func(attributes string) string {
			return `{"data":{"type":"erasure_request","attributes":{` + attributes + `}}}`
		}
		patch := func(attributes string) string {
			return `{"data":{"type":"erasure_request","id":"` + id + `","attributes":{` + attributes + `}}}`
		}
		request := func(attributes string) string {
			return `{"data":{"type":"requests","attributes":{"request_id":"r2","requested_by":"bob",` + attributes + `}}}`
		}
		for _, c := range []struct {
			name, method, path, body, pointer string
		}{
			{"NUL in resource_id", "POST", erasures, erasure(`"resource_type":"user","resource_id":"a\u0000b"`), "/data/attributes/resource_id"},
			{"NUL in reason", "POST", erasures, erasure(`"resource_type":"user","resource_id":"a","reason":"\u0000"`), "/data/attributes/reason"},
			{"NUL in the Elastic Path form", "POST", erasures, `{"data":{"type":"erasure_request","resource_type":"user","resource_id":"a\u0000"}}`, "/data/resource_id"},
			{"invalid UTF-8 in resource_id", "POST", erasures, erasure("\"resource_type\":\"user\",\"resource_id\":\"a\xffb\""), "/data/attributes/resource_id"},
			{"a lone surrogate in reason", "POST", erasures, erasure(`"resource_type":"user","resource_id":"a","reason":"\ud800"`), "/data/attributes/reason"},
			{"invalid UTF-8 in a member name", "POST", erasures, erasure("\"resource_type\":\"user\",\"resource_id\":\"a\",\"\xff\":1"), "/data/attributes"},
			{"a duplicate attribute", "POST", erasures, erasure(`"resource_type":"user","resource_id":"a","resource_id":"b"`), "/data/attributes/resource_id"},
			{"a duplicate top-level member", "POST", erasures, `{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":"a"}},"data":{}}`, "/data"},
			{"NUL in services_erased", "PATCH", erasures + "/" + id, patch(`"services_erased":["a\u0000"]`), "/data/attributes/services_erased"},
			{"NUL in a failure", "PATCH", erasures + "/" + id, patch(`"partial_failures":[{"service":"crm","message":"\u0000"}]`), "/data/attributes/partial_failures"},
			{"completed_at before year 1", "PATCH", erasures + "/" + id, patch(`"status":"completed","completed_at":"0001-01-01T00:00:00+01:00"`), "/data/attributes/completed_at"},
			{"completed_at after year 9999", "PATCH", erasures + "/" + id, patch(`"status":"completed","completed_at":"9999-12-31T23:30:00-01:00"`), "/data/attributes/completed_at"},
			{"a duplicate status", "PATCH", erasures + "/" + id, patch(`"status":"completed","status":"in_progress"`), "/data/attributes/status"},
			{"NUL in content", "POST", requestsPath, request(`"content":"\u0000"`), "/data/attributes/content"},
			{"NUL in metadata", "POST", requestsPath, request(`"metadata":{"a":"\u0000"}`), "/data/attributes/metadata"},
			{"invalid UTF-8 in metadata", "POST", requestsPath, request("\"metadata\":{\"a\":\"\xc3\"}"), "/data/attributes/metadata/a"},
			{"requested_at in year 0", "POST", requestsPath, request(`"requested_at":"0000-12-31T23:00:00Z"`), "/data/attributes/requested_at"},
			{"requested_at past year 9999", "POST", requestsPath, request(`"requested_at":"9999-12-31T23:00:00-02:00"`), "/data/attributes/requested_at"},
			{"a duplicate metadata member", "POST", requestsPath, request(`"metadata":{"a":1,"a":2}`), "/data/attributes/metadata/a"},
		} {
			t.Run(c.name, func(t *testing.T) {
				r := e.do(c.method, c.path, token, c.body)
				r.wantError(t, http.StatusBadRequest, c.pointer)
			})
		}
		// The workflow endpoint speaks plain JSON, its errors included.
		for name, body := range map[string]string{
			"NUL in services_erased":     `{"services_erased":["\u0000"]}`,
			"invalid UTF-8":              "{\"services_erased\":[\"\xff\"]}",
			"a duplicate member":         `{"services_erased":["a"],"services_erased":["b"]}`,
			"completed_at before year 1": `{"status":"completed","completed_at":"0000-01-01T00:00:00+01:00"}`,
		} {
			t.Run("workflow: "+name, func(t *testing.T) {
				e.report(token, id, body).wantPlainError(t, http.StatusBadRequest)
			})
		}
		if after := stored(t, raw, "s1"); after != before {
			t.Errorf("refused requests changed what is stored: %v, then %v", before, after)
		}
		if v := e.do("GET", erasures+"/"+id, token, nil).want(t, http.StatusOK).Header.Get("ETag"); v != `"1"` {
			t.Errorf("refused reports changed the erasure request: ETag %s", v)
		}
	})
}

// TestHostileQueries: a query string that does not parse is refused whole, never read in
// part: a dropped filter would answer with the whole store.
func TestHostileQueries(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("s1")
		e.file(token, "person")
		many := strings.Repeat("a=1&", 10_000) + "a=1"
		for _, c := range []struct{ query, parameter string }{
			{"filter=eq(resource_id,nomatch;x)", "filter"},
			{"filter=eq(resource_id,nomatch)&bad=%zz", "bad"},
			{"%zz=1&filter=eq(resource_id,nomatch)", "%zz"},
			{"filter=eq(resource_id,nomatch)&" + many, "a"},
			{"filter=eq(resource_id,a%00b)", "filter"},
			{"filter=eq(resource_id,a%FFb)", "filter"},
			{"filter=gt(created_at,0001-01-01T00:00:00%2B01:00)", "filter"},
			{"filter=lt(due_at,9999-12-31T23:30:00-01:00)", "filter"},
		} {
			t.Run(c.query[:min(len(c.query), 60)], func(t *testing.T) {
				e.do("GET", erasures+"?"+c.query, token, nil).wantError(t, http.StatusBadRequest, c.parameter)
			})
		}
		e.do("GET", requestsPath+"?filter=eq(requested_by,a%00)", token, nil).wantError(t, http.StatusBadRequest, "filter")
		// An unknown parameter's 400 names what the endpoint takes, and page[number] is
		// not among them.
		d := e.do("GET", erasures+"?colour=red", token, nil).wantError(t, http.StatusBadRequest, "colour")["detail"].(string)
		if strings.Contains(d, "page[number]") || !strings.Contains(d, "page[size]") {
			t.Errorf("detail %q", d)
		}
	})
}

// TestHostilePathIDs: an id in a path that no record can have is a 404, before any
// database sees it.
func TestHostilePathIDs(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("s1")
		for _, id := range []string{"a%00b", "a%FFb", "%C0%AF"} {
			e.do("GET", requestsPath+"/"+id, token, nil).wantError(t, http.StatusNotFound, "")
			e.do("DELETE", requestsPath+"/"+id, token, nil).wantError(t, http.StatusNotFound, "")
			e.do("PATCH", requestsPath+"/"+id, token, `{"data":{"type":"requests","id":"x","attributes":{}}}`).wantError(t, http.StatusNotFound, "")
			e.do("GET", erasures+"/"+id, token, nil).wantError(t, http.StatusNotFound, "")
			e.do("GET", erasures+"/"+id+"/events", token, nil).wantError(t, http.StatusNotFound, "")
			e.report(token, id, `{}`).wantPlainError(t, http.StatusNotFound)
		}
	})
}

// TestAuthenticationChallenge: every 401 names the scheme to use.
func TestAuthenticationChallenge(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		for _, r := range []*response{
			e.do("GET", erasures, "", nil),
			e.do("GET", requestsPath, "erd_unknown", nil),
			e.report("", "0f850c15-d643-480a-a2b4-9e3c26067178", `{}`),
			e.do("GET", "/deletions/1", "", nil, "Accept", "application/xml"),
		} {
			if r.Status != http.StatusUnauthorized || r.Header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("status %d, WWW-Authenticate %q", r.Status, r.Header.Get("WWW-Authenticate"))
			}
		}
	})
}

// TestEmptyIDOnCreate: some clients always send data.id; empty, it is no id.
func TestEmptyIDOnCreate(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("s1")
		e.do("POST", requestsPath, token, `{"data":{"type":"requests","id":"","attributes":{"request_id":"r1","requested_by":"ann"}}}`).want(t, http.StatusCreated)
		e.do("POST", erasures, token, `{"data":{"type":"erasure_request","id":"","attributes":{"resource_type":"user","resource_id":"ann"}}}`).want(t, http.StatusCreated)
		e.do("POST", erasures, token, `{"data":{"type":"erasure_request","id":"x","attributes":{"resource_type":"user","resource_id":"ann"}}}`).wantError(t, http.StatusForbidden, "/data/id")
	})
}

// TestClientGoneIsNoServerError: a client that hangs up while its request waits for the
// database is counted as 499, not as a 500.
func TestClientGoneIsNoServerError(t *testing.T) {
	t.Parallel()
	// The server's connections name themselves, so that the test can see them wait.
	u := storagetest.URL(t, "postgres") + "&application_name=client-gone-" + erasured.NewID()[:8]
	e := newEnv(t, storagetest.OpenURL(t, u), resources.Config{})
	raw := storagetest.SQL(t, u)
	token := e.key("s1")
	e.do("POST", requestsPath, token, newRequest(map[string]any{"request_id": "r1", "requested_by": "ann"})).want(t, http.StatusCreated)

	// Hold the request's row, so that the PATCH waits for it.
	tx, err := raw.Beginx()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback() //nolint:errcheck // committed or not, it only held a lock
	if _, err := tx.Exec(`SELECT 1 FROM requests WHERE request_id = 'r1' FOR UPDATE`); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "PATCH", e.url+requestsPath+"/r1",
		strings.NewReader(`{"data":{"type":"requests","id":"r1","attributes":{"status":"FAILED"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/vnd.api+json")
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	waitFor(t, "the PATCH to wait for the row", func() bool {
		return countRows(t, raw, `SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'
			AND application_name = current_setting('application_name')`) > 0
	})
	cancel()
	if err := <-done; err == nil {
		t.Fatal("the client's request finished although it was cancelled")
	}
	waitFor(t, "the server to count the request", func() bool {
		return e.scrape(t).value("erasured_http_requests_total", "route", requestsPath+"/{request_id}", "method", "PATCH", "status", "499") == 1
	})
	if n := e.scrape(t).value("erasured_http_requests_total", "route", requestsPath+"/{request_id}", "method", "PATCH", "status", "500"); n != 0 {
		t.Errorf("%v requests counted as 500", n)
	}
}

// waitFor waits until cond holds, failing the test when it does not within a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}

// FuzzHostileInput sends arbitrary bodies and query strings to every endpoint that reads
// one, on PostgreSQL, whose text columns refuse U+0000 and whose timestamps reach beyond
// RFC 3339's years: whatever arrives, the answer is never a 5xx, and a refused request
// stores nothing (the counts, and the versions, of what the store holds do not move).
func FuzzHostileInput(f *testing.F) {
	for _, seed := range []struct {
		endpoint uint8
		input    string
	}{
		{0, `{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":"a\u0000","reason":"\ud800"}}}`},
		{0, "{\"data\":{\"type\":\"erasure_request\",\"resource_type\":\"user\",\"resource_id\":\"\xff\"}}"},
		{0, `{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":"x","resource_id":"y"}}}`},
		{1, `{"data":{"type":"erasure_request","id":"ID","attributes":{"status":"completed","completed_at":"0000-12-31T23:59:59-23:59"}}}`},
		{1, `{"data":{"type":"erasure_request","id":"ID","attributes":{"services_erased":["\u0000"],"partial_failures":[{"service":"s","message":"\udfff"}]}}}`},
		{2, `{"status":"completed","completed_at":"9999-12-31T23:59:59-00:01"}`},
		{2, `{"completed_at":"2026-01-01T00:00:00+24:00"}`},
		{2, "{\"partial_failures\":[{\"service\":\"\xc3\",\"message\":\"m\"}]}"},
		{3, `{"data":{"type":"requests","attributes":{"request_id":"r\u0000","requested_by":"p","requested_at":"0001-01-01T00:00:00+00:01"}}}`},
		{3, `{"data":{"type":"requests","attributes":{"request_id":"ok","requested_by":"p","metadata":{"\u0000":1},"content":"\u0000"}}}`},
		{4, `{"data":{"type":"requests","id":"fuzz","attributes":{"status":"FAILED","note_id":"0F850C15-D643-480A-A2B4-9E3C2606717\u0000"}}}`},
		{5, `filter=eq(resource_id,a%00b)&sort=-created_at`},
		{5, `filter=gt(created_at,0000-01-01T00:00:00Z):lt(due_at,9999-12-31T23:59:59.999999999-23:59)`},
		{5, `filter=in(status,SUCCESS,%FF)&page[offset]=-0&page[limit]=+1`},
		{5, `page[size]=1&page[after]=eyJ2IjoxLCJzIjoiY3JlYXRlZF9hdCIsImsiOlsiMDAwMC0wMS0wMVQwMDowMDowMFoiLCJ4Il19`},
		{6, `filter=like(requested_by,%00*):eq(note_id,%00)&sort=requested_at;x`},
		{6, `filter=ge(requested_at,9999-12-31T23:00:00-01:00)&bad=%zz`},
		{7, `a%00b`},
		{7, `%FF%FE`},
	} {
		f.Add(seed.endpoint, seed.input)
	}
	u := storagetest.URL(f, "postgres")
	e := newEnv(f, storagetest.OpenURL(f, u), resources.Config{})
	raw := storagetest.SQL(f, u)
	token := e.key("fuzz")
	erasure := e.do("POST", erasures, token, newErasure("user", "fuzzed")).want(f, http.StatusCreated).data(f)["id"].(string)
	e.do("POST", requestsPath, token, `{"data":{"type":"requests","attributes":{"request_id":"fuzz","requested_by":"p"}}}`).want(f, http.StatusCreated)
	state := func(t testing.TB) [5]int {
		t.Helper()
		var n [5]int
		for i, q := range []string{
			`SELECT COUNT(*) FROM erasure_requests`, `SELECT COUNT(*) FROM erasure_events`, `SELECT COUNT(*) FROM requests`,
			`SELECT COALESCE(SUM(version), 0) FROM erasure_requests`, `SELECT COALESCE(SUM(version), 0) FROM requests`,
		} {
			if err := raw.Get(&n[i], q); err != nil {
				t.Fatal(err)
			}
		}
		return n
	}
	f.Fuzz(func(t *testing.T, endpoint uint8, input string) {
		e.t = t
		before := state(t)
		var r *response
		switch endpoint % 8 {
		case 0:
			r = e.do("POST", erasures, token, input)
		case 1:
			r = e.do("PATCH", erasures+"/"+erasure, token, strings.ReplaceAll(input, `"ID"`, `"`+erasure+`"`))
		case 2:
			r = e.do("PATCH", workflow+erasure, token, input, "Content-Type", "application/json")
		case 3:
			r = e.do("POST", requestsPath, token, input)
		case 4:
			r = e.do("PATCH", requestsPath+"/fuzz", token, input)
		case 5, 6:
			if !sendable(input, "#") {
				t.Skip("not a query string an HTTP client sends as is")
			}
			path := erasures
			if endpoint%8 == 6 {
				path = requestsPath
			}
			r = e.do("GET", path+"?"+input, token, nil)
		case 7:
			if _, err := url.PathUnescape(input); err != nil || !sendable(input, "/?# ") {
				t.Skip("not a path segment an HTTP client sends as is")
			}
			r = e.do("GET", requestsPath+"/"+input, token, nil)
		}
		if r.Status >= 500 {
			t.Fatalf("endpoint %d, input %q: %d %s", endpoint%8, input, r.Status, r.Body)
		}
		if after := state(t); r.Status >= 400 && after != before {
			t.Fatalf("endpoint %d, input %q was refused (%d) but changed the store: %v, then %v", endpoint%8, input, r.Status, before, after)
		}
	})
}

// sendable reports whether s may stand as it is in a URL that an HTTP client sends:
// printable ASCII, none of special.
func sendable(s, special string) bool {
	return !strings.ContainsAny(s, special) && !strings.ContainsFunc(s, func(r rune) bool { return r < 0x21 || r > 0x7e })
}
