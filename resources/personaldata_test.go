package resources_test

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/resources"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
)

const (
	logsPath    = "/v2/personal-data/logs"
	relatedPath = "/v2/personal-data/related-data-entries"
	ttlPath     = "/v2/settings/logs-ttl"
	tokenPath   = "/oauth/access_token"
)

// client creates a key in store with opts and every scope, and returns its id (the
// OAuth client id) and token (its secret).
func (e *env) client(store string, opts erasured.KeyOptions) (id, token string) {
	e.t.Helper()
	k, token, err := erasured.NewKey("tester", "tester@example.com", store, erasured.AllScopes, erasured.Now(), opts)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.db.CreateKey(context.Background(), k); err != nil {
		e.t.Fatal(err)
	}
	return k.ID, token
}

// accessToken asks for an access token with client credentials.
func (e *env) accessToken(form url.Values) *response {
	e.t.Helper()
	return e.do("POST", tokenPath, "", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
}

func credentials(id, secret string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret}}
}

// wantEP fails the test unless r is an Elastic Path error document with status.
func (r *response) wantEP(t *testing.T, status int) {
	t.Helper()
	r.want(t, status)
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	errs, _ := r.Doc["errors"].([]any)
	if len(errs) != 1 || r.Doc["jsonapi"] != nil {
		t.Fatalf("not an Elastic Path error document: %s", r.Body)
	}
	e := errs[0].(map[string]any)
	if e["status"] != fmt.Sprint(status) || e["title"] == "" || e["detail"] == "" || len(e) != 3 {
		t.Errorf("error object %v: want status %d, title and detail only", e, status)
	}
}

func TestOAuthClientCredentials(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		id, secret := e.client("s", erasured.KeyOptions{Representation: erasured.RepresentationElasticPath})
		before := time.Now().Unix()
		r := e.accessToken(credentials(id, secret)).want(t, 200)
		if r.Doc["token_type"] != "Bearer" || r.Doc["expires_in"] != 3600.0 || r.Doc["identifier"] != "client_credentials" {
			t.Errorf("token answer %s", r.Body)
		}
		if exp, _ := r.Doc["expires"].(float64); int64(exp) < before+3600 || int64(exp) > time.Now().Unix()+3600 {
			t.Errorf("expires %v, want now + 3600", r.Doc["expires"])
		}
		token, _ := r.Doc["access_token"].(string)
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("Cache-Control %q", r.Header.Get("Cache-Control"))
		}

		// The access token works as its key: its store, its scopes, its representation.
		e.do("POST", erasures, token, `{"data":{"type":"erasure_request","resource_type":"account","resource_id":"a1"}}`,
			"Content-Type", "application/json").want(t, 201)
		list := e.do("GET", erasures, token, nil).want(t, 200)
		if data, _ := list.Doc["data"].([]any); len(data) != 1 || data[0].(map[string]any)["status"] != "CREATED" {
			t.Errorf("the token's list: %s", list.Body)
		}
		other := e.key("t")
		if data, _ := e.do("GET", erasures, other, nil).want(t, 200).Doc["data"].([]any); len(data) != 0 {
			t.Errorf("another store sees the token's records: %v", data)
		}

		e.accessToken(credentials(id, secret+"0")).wantEP(t, 401)
		e.accessToken(credentials(erasured.NewID(), secret)).wantEP(t, 401)
		e.accessToken(credentials("not-a-uuid", secret)).wantEP(t, 401)
		bad := e.accessToken(url.Values{"grant_type": {"password"}, "client_id": {id}, "client_secret": {secret}})
		bad.wantEP(t, 400)
		if !strings.Contains(string(bad.Body), "unsupported_grant_type") {
			t.Errorf("another grant type: %s", bad.Body)
		}
		e.do("POST", tokenPath, "", `{"grant_type":"client_credentials"}`, "Content-Type", "application/json").wantEP(t, 415)
		if r := e.do("GET", erasures, "era_"+strings.Repeat("0", 64), nil); r.Status != 401 || r.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("an unknown access token: %d %s", r.Status, r.Body)
		}

		// Rotating the key ends its old token and the access tokens made from it.
		if err := e.db.RotateKey(context.Background(), id, erasured.HashToken("erd_new")); err != nil {
			t.Fatal(err)
		}
		// A token that names no key has no default representation: JSON:API unless Accept says.
		e.do("GET", erasures, token, nil).wantError(t, 401, "")
		e.do("GET", erasures, token, nil, "Accept", "application/json").wantEP(t, 401)
		e.accessToken(credentials(id, secret)).wantEP(t, 401)
		fresh := e.accessToken(credentials(id, "erd_new")).want(t, 200).Doc["access_token"].(string)
		e.do("GET", erasures, fresh, nil).want(t, 200)

		// Revoking it ends everything.
		if err := e.db.RevokeKey(context.Background(), id, erasured.Now()); err != nil {
			t.Fatal(err)
		}
		e.do("GET", erasures, fresh, nil, "Accept", "application/json").wantEP(t, 401)
		e.do("GET", erasures, "erd_new", nil, "Accept", "application/json").wantEP(t, 401)
		e.accessToken(credentials(id, "erd_new")).wantEP(t, 401)
	})
}

func TestExpiredKeys(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		k, token, err := erasured.NewKey("old", "old@example.com", "s", erasured.AllScopes, erasured.Now(), erasured.KeyOptions{ExpiresIn: time.Hour})
		if err != nil {
			t.Fatal(err)
		}
		past := erasured.Now().Add(-time.Second)
		k.ExpiresAt = &past
		if err := e.db.CreateKey(context.Background(), k); err != nil {
			t.Fatal(err)
		}
		e.do("GET", erasures, token, nil).wantError(t, 401, "")
		e.accessToken(credentials(k.ID, token)).wantEP(t, 401)
	})
}

// A key revoked in the database stops working within --key-cache-ttl in a process that
// remembers it, and at once in one that does not.
func TestRevokedKeyWithinTheCacheTTL(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		ttl := 300 * time.Millisecond
		e := newEnv(t, db, resources.Config{KeyCacheTTL: ttl})
		id, secret := e.client("s", erasured.KeyOptions{})
		access := e.accessToken(credentials(id, secret)).want(t, 200).Doc["access_token"].(string)
		e.do("GET", erasures, secret, nil).want(t, 200)
		e.do("GET", erasures, access, nil).want(t, 200)
		revoked := time.Now()
		if err := e.db.RevokeKey(context.Background(), id, erasured.Now()); err != nil {
			t.Fatal(err)
		}
		for _, token := range []string{secret, access} {
			deadline := time.Now().Add(30 * time.Second)
			for e.do("GET", erasures, token, nil).Status != 401 {
				if time.Now().After(deadline) {
					t.Fatalf("a revoked key still works %v after its revocation", time.Since(revoked))
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		// A fresh process, without the cache, refuses it at once.
		fresh := newEnv(t, db, resources.Config{})
		fresh.do("GET", erasures, secret, nil).wantError(t, 401, "")
	})
}

func TestTwoRepresentations(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		_, jsonapiKey := e.client("s", erasured.KeyOptions{})
		_, epKey := e.client("s", erasured.KeyOptions{Representation: erasured.RepresentationElasticPath})
		flat := `{"data":{"type":"erasure_request","resource_type":"customer","resource_id":"c1","reason":"asked"}}`

		// The key's default where Accept says neither.
		created := e.do("POST", erasures, epKey, flat, "Content-Type", "application/json").want(t, 201)
		ep := created.data(t)
		if created.Header.Get("Content-Type") != "application/json" || created.Doc["jsonapi"] != nil || ep["status"] != "CREATED" ||
			ep["attributes"] != nil || ep["resource_id"] != "c1" || created.Header.Get("Location") == "" {
			t.Fatalf("Elastic Path's representation: %s", created.Body)
		}
		id := ep["id"].(string)
		ja := e.do("GET", erasures+"/"+id, jsonapiKey, nil).want(t, 200)
		if ja.Header.Get("Content-Type") != "application/vnd.api+json" {
			t.Fatalf("JSON:API key: %s", ja.Body)
		}
		// The same record: every attribute the same in both.
		for name, v := range attrs(ja.data(t)) {
			if fmt.Sprint(ep[name]) != fmt.Sprint(v) {
				t.Errorf("%s: %v in Elastic Path's, %v in JSON:API", name, ep[name], v)
			}
		}

		// Accept decides over the key.
		for _, c := range []struct{ token, accept, want string }{
			{jsonapiKey, "application/json", "application/json"},
			{epKey, "application/vnd.api+json", "application/vnd.api+json"},
			{epKey, "application/json, application/vnd.api+json", "application/vnd.api+json"},
			{epKey, "*/*", "application/json"},
			{jsonapiKey, "*/*", "application/vnd.api+json"},
		} {
			r := e.do("GET", erasures+"?page[limit]=1", c.token, nil, "Accept", c.accept).want(t, 200)
			if got := r.Header.Get("Content-Type"); got != c.want {
				t.Errorf("Accept %q: %s", c.accept, got)
			}
			if !strings.Contains(r.Header.Get("Vary"), "Accept") {
				t.Errorf("Accept %q: no Vary: Accept", c.accept)
			}
		}

		// A page in Elastic Path's shape: links with current, meta as everywhere.
		e.do("POST", erasures, epKey, strings.Replace(flat, "c1", "c2", 1), "Content-Type", "application/json").want(t, 201)
		page := e.do("GET", erasures+"?page[limit]=1&page[offset]=1&filter=eq(resource_type,customer)", epKey, nil).want(t, 200)
		links, _ := page.Doc["links"].(map[string]any)
		if links["current"] == nil || links["current"] != links["self"] || links["prev"] == nil || links["next"] != nil || links["describedby"] != nil {
			t.Errorf("links: %v", links)
		}
		if meta, _ := page.Doc["meta"].(map[string]any); fmt.Sprint(meta["results"]) != "map[total:2]" {
			t.Errorf("meta: %v", page.Doc["meta"])
		}

		// Errors come in the representation of the request, 401 included where Accept says.
		e.do("GET", erasures+"/"+erasured.NewID(), epKey, nil).wantEP(t, 404)
		e.do("GET", erasures+"/"+erasured.NewID(), jsonapiKey, nil).wantError(t, 404, "")
		e.do("POST", erasures, epKey, `{"data":{"type":"erasure_request","resource_type":"planet","resource_id":"x"}}`,
			"Content-Type", "application/json").wantEP(t, 400)
		e.do("GET", erasures, "", nil, "Accept", "application/json").wantEP(t, 401)
		e.do("GET", erasures, "", nil).wantError(t, 401, "")
		e.do("GET", erasures+"/"+id+"/events", epKey, nil).want(t, 200)
	})
}

// person creates the requests of a person in store, through the API.
func (e *env) person(token, name string, ids ...string) {
	e.t.Helper()
	for _, id := range ids {
		e.do("POST", "/api/public/v1/requests", token, map[string]any{"data": map[string]any{"type": "requests",
			"attributes": map[string]any{"request_id": id, "requested_by": name, "content": "CONTENT-OF-" + strings.ToUpper(name) + "-" + id}}}).want(e.t, 201)
	}
}

// logsOf lists the logs of one entry of a set, in Elastic Path's representation.
func (e *env) logsOf(t *testing.T, token, typ, id string) []map[string]any {
	t.Helper()
	r := e.do("GET", logsPath+"?filter="+url.QueryEscape("eq(resource_type,"+typ+"):eq(resource_id,"+id+")"), token, nil,
		"Accept", "application/json").want(t, 200)
	return r.list(t)
}

func eventsOf(entries []map[string]any) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = fmt.Sprint(e["resource_id"], " ", e["event_type"])
	}
	return out
}

func TestPersonalDataLogsAndRelatedEntries(t *testing.T) {
	t.Parallel()
	storagetest.EachURL(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, storagetest.OpenURL(t, databaseURL), resources.Config{})
		ctx := context.Background()
		token := e.key("s")
		other := e.key("t")
		e.person(token, "alice", "r1", "r2")
		e.person(token, "bob", "r3")
		e.do("PATCH", "/api/public/v1/requests/r1", token, `{"data":{"type":"requests","id":"r1","attributes":{"status":"IN_PROGRESS"}}}`).want(t, 200)

		r1 := e.logsOf(t, token, "requests", "r1")
		if got := eventsOf(r1); strings.Join(got, ",") != "r1 requests.event.created,r1 requests.event.updated" {
			t.Fatalf("logs of r1: %v", got)
		}
		if d := r1[0]["delta"].(map[string]any); d["requested_by"] != "alice" || d["content"] != "CONTENT-OF-ALICE-r1" || d["status"] != "PENDING" {
			t.Errorf("created delta: %v", d)
		}
		if d := r1[1]["delta"].(map[string]any); fmt.Sprint(d) != "map[status:IN_PROGRESS]" {
			t.Errorf("updated delta: %v", d)
		}
		if in := r1[0]["initiator"].(map[string]any); in["access-token-name"] != "tester" || in["access-token-store-id"] != "s" {
			t.Errorf("initiator: %v", in)
		}
		if got := eventsOf(e.logsOf(t, token, "user", "alice")); len(got) != 3 {
			t.Errorf("alice's logs: %v", got)
		}
		// JSON:API: the same entries, with a cursor too.
		ja := e.do("GET", logsPath+"?page[size]=1&filter="+url.QueryEscape("eq(resource_type,user):eq(resource_id,alice)"), token, nil).want(t, 200)
		if len(ja.list(t)) != 1 || attrs(ja.list(t)[0])["event_type"] != "requests.event.created" {
			t.Errorf("JSON:API logs: %s", ja.Body)
		}

		related := func(token, typ, id string, query string) []string {
			t.Helper()
			r := e.do("GET", relatedPath+"?filter="+url.QueryEscape("eq(resource_type,"+typ+"):eq(resource_id,"+id+")")+query, token, nil,
				"Accept", "application/json").want(t, 200)
			var out []string
			for _, entry := range r.list(t) {
				out = append(out, fmt.Sprint(entry["resource_type"], "/", entry["resource_id"]))
			}
			return out
		}
		if got := strings.Join(related(token, "requests", "r2", ""), ","); got != "user/alice,requests/r1,requests/r2" {
			t.Errorf("r2's set: %s", got)
		}
		if got := strings.Join(related(token, "user", "alice", "&page[offset]=2&page[limit]=1"), ","); got != "requests/r2" {
			t.Errorf("alice's set, third entry: %s", got)
		}

		// Another store sees nothing of them.
		if got := related(other, "user", "alice", ""); len(got) != 0 {
			t.Errorf("another store's view of alice's set: %v", got)
		}
		if got := e.logsOf(t, other, "requests", "r1"); len(got) != 0 {
			t.Errorf("another store's view of r1's logs: %v", got)
		}

		// The filter is required, and only it.
		for _, f := range []string{"", "&filter=eq(resource_type,user)", "&filter=eq(resource_type,user):eq(resource_id,a):eq(resource_id,b)",
			"&filter=like(resource_id,a*)"} {
			e.do("GET", logsPath+"?page[limit]=5"+f, token, nil).wantError(t, 400, "filter")
			e.do("GET", relatedPath+"?page[limit]=5"+f, token, nil, "Accept", "application/json").wantEP(t, 400)
		}

		// An erasure asked for any entry of the set (here a request) erases the set, and
		// the personal data in its logs; the entries stay.
		er := e.do("POST", erasures, token, `{"data":{"type":"erasure_request","attributes":{"resource_type":"requests","resource_id":"r2"}}}`).want(t, 201)
		if _, n, err := e.db.EraseHeldData(ctx, "s", er.data(t)["id"].(string)); err != nil || n != 2 {
			t.Fatalf("erase: %d requests, %v", n, err)
		}
		for _, id := range []string{"r1", "r2"} {
			if a := attrs(e.do("GET", "/api/public/v1/requests/"+id, token, nil).want(t, 200).data(t)); a["requested_by"] != nil || a["content"] != nil {
				t.Errorf("%s is not erased: %v", id, a)
			}
		}
		if a := attrs(e.do("GET", "/api/public/v1/requests/r3", token, nil).want(t, 200).data(t)); a["requested_by"] != "bob" {
			t.Errorf("bob's request was touched: %v", a)
		}
		r1 = e.logsOf(t, token, "requests", "r1")
		if got := strings.Join(eventsOf(r1), ","); got != "r1 requests.event.created,r1 requests.event.updated,r1 requests.event.erased" {
			t.Fatalf("logs of r1 after the erasure: %v", got)
		}
		for _, entry := range r1 {
			for name, v := range entry["delta"].(map[string]any) {
				if v != nil {
					t.Errorf("%s: delta.%s is still %v", entry["event_type"], name, v)
				}
			}
		}
		if d := r1[0]["delta"].(map[string]any); len(d) < 10 {
			t.Errorf("the erased created entry lost its members: %v", d)
		}
		if in := r1[2]["initiator"].(map[string]any); in["access-token-name"] != "tester" {
			t.Errorf("the erasure's initiator: %v", in)
		}
		if got := e.logsOf(t, token, "user", "alice"); len(got) != 0 {
			t.Errorf("the erased person is still found in the logs: %v", eventsOf(got))
		}
		if got := strings.Join(related(token, "requests", "r2", ""), ","); got != "requests/r2" {
			t.Errorf("an erased request's set: %s", got)
		}
		if got := e.logsOf(t, token, "user", "bob"); len(got) != 1 || got[0]["delta"].(map[string]any)["content"] != "CONTENT-OF-BOB-r3" {
			t.Errorf("bob's logs: %v", got)
		}

		// A deletion logs too, and leaves nothing personal in the logs of its request.
		e.do("DELETE", "/api/public/v1/requests/r3", token, nil).want(t, 202)
		d, err := e.db.ClaimDeletion(ctx, time.Minute, erasured.Now())
		if err != nil || d == nil {
			t.Fatalf("claim the deletion: %v %v", d, err)
		}
		if err := e.db.PerformDeletion(ctx, d); err != nil || d.Status != erasured.DeletionSuccess {
			t.Fatalf("deletion: %v %+v", err, d)
		}
		r3 := e.logsOf(t, token, "requests", "r3")
		if got := strings.Join(eventsOf(r3), ","); got != "r3 requests.event.created,r3 requests.event.deleted" ||
			r3[0]["delta"].(map[string]any)["content"] != nil || r3[1]["initiator"].(map[string]any)["access-token-name"] != "tester" {
			t.Errorf("logs of r3 after its deletion: %v", r3)
		}

		// What was erased or deleted is not in the database any more, nor in its files.
		raw := storagetest.SQL(t, databaseURL)
		var n int
		if err := raw.Get(&n, `SELECT COUNT(*) FROM personal_data_logs WHERE CAST(delta AS TEXT) LIKE '%CONTENT-OF%' OR subject IS NOT NULL`); err != nil || n != 0 {
			t.Errorf("%d log entries still hold personal data (%v)", n, err)
		}
		path, ok := strings.CutPrefix(databaseURL, "sqlite:")
		if !ok {
			return
		}
		raw.Close()
		for _, f := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(f)
			if os.IsNotExist(err) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, gone := range []string{"CONTENT-OF-ALICE-r1", "CONTENT-OF-ALICE-r2", "CONTENT-OF-BOB-r3"} {
				if bytes.Contains(b, []byte(gone)) {
					t.Errorf("%s still holds %q", filepath.Base(f), gone)
				}
			}
		}
	})
}

func TestLogsTTL(t *testing.T) {
	t.Parallel()
	storagetest.EachURL(t, func(t *testing.T, databaseURL string) {
		e := newEnv(t, storagetest.OpenURL(t, databaseURL), resources.Config{})
		token := e.key("s")
		other := e.key("t")
		reader := e.key("s", erasured.ScopeErasureRead)

		if r := e.do("GET", ttlPath, token, nil).want(t, 200); attrs(r.data(t))["days"] != 365.0 {
			t.Errorf("default: %s", r.Body)
		}
		ep := e.do("PUT", ttlPath, token, `{"data":{"type":"time_to_live","days":30}}`, "Content-Type", "application/json", "Accept", "application/json").want(t, 200)
		if ep.data(t)["days"] != 30.0 || ep.data(t)["type"] != "time_to_live" || ep.Header.Get("Content-Type") != "application/json" {
			t.Errorf("PUT in Elastic Path's form: %s", ep.Body)
		}
		if r := e.do("GET", ttlPath, token, nil, "Accept", "application/json").want(t, 200); r.data(t)["days"] != 30.0 {
			t.Errorf("after PUT: %s", r.Body)
		}
		e.do("PUT", ttlPath, token, `{"data":{"type":"time_to_live","attributes":{"days":3650}}}`).want(t, 200)
		e.do("PUT", ttlPath, token, `{"data":{"type":"time_to_live","days":0}}`, "Content-Type", "application/json", "Accept", "application/json").wantEP(t, 400)
		e.do("PUT", ttlPath, token, `{"data":{"type":"time_to_live","attributes":{"days":3651}}}`).wantError(t, 400, "/data/attributes/days")
		e.do("PUT", ttlPath, token, `{"data":{"type":"time_to_live","attributes":{"days":1.5}}}`).wantError(t, 400, "/data/attributes/days")
		e.do("PUT", ttlPath, token, `{"data":{"type":"settings","attributes":{"days":5}}}`).wantError(t, 409, "/data/type")
		e.do("PUT", ttlPath, reader, `{"data":{"type":"time_to_live","attributes":{"days":5}}}`).wantError(t, 403, "")
		if r := e.do("GET", ttlPath, other, nil).want(t, 200); attrs(r.data(t))["days"] != 365.0 {
			t.Errorf("another store's: %s", r.Body)
		}
		e.do("PUT", ttlPath, token, `{"data":{"type":"time_to_live","days":30}}`, "Content-Type", "application/json").want(t, 200)

		// Each store's logs go once older than its own time to live.
		e.person(token, "alice", "s-31", "s-29")
		e.person(other, "alice", "t-31", "t-366")
		raw := storagetest.SQL(t, databaseURL)
		now := erasured.Now()
		for id, days := range map[string]int{"s-31": 31, "s-29": 29, "t-31": 31, "t-366": 366} {
			at := now.Add(-time.Duration(days) * 24 * time.Hour).Format("2006-01-02T15:04:05.000000Z")
			if _, err := raw.Exec(raw.Rebind(`UPDATE personal_data_logs SET time = ? WHERE resource_id = ?`), at, id); err != nil {
				t.Fatal(err)
			}
		}
		r, err := e.db.PurgeLogs(context.Background(), now, time.Hour, time.Minute, 1)
		if err != nil || !r.Claimed || r.Deleted != 2 {
			t.Fatalf("purge: %+v, %v", r, err)
		}
		for id, kept := range map[string]bool{"s-31": false, "s-29": true, "t-31": true, "t-366": false} {
			tok := token
			if strings.HasPrefix(id, "t") {
				tok = other
			}
			if got := len(e.logsOf(t, tok, "requests", id)); got != map[bool]int{true: 1}[kept] {
				t.Errorf("%s: %d entries after the purge", id, got)
			}
		}
		// One purge per interval, whichever process asks.
		if r, err := storagetest.OpenURL(t, databaseURL).PurgeLogs(context.Background(), now.Add(time.Minute), time.Hour, time.Minute, 1); err != nil || r.Claimed {
			t.Errorf("a second purge within the interval: %+v, %v", r, err)
		}
	})
}
