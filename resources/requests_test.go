package resources_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured/workers"
)

const requestsPath = "/api/public/v1/requests"

// newRequest is a POST body for a request with the given attributes.
func newRequest(attributes map[string]any) map[string]any {
	return map[string]any{"data": map[string]any{"type": "requests", "attributes": attributes}}
}

// patchRequest is a PATCH body for request id.
func patchRequest(id string, attributes map[string]any) map[string]any {
	return map[string]any{"data": map[string]any{"type": "requests", "id": id, "attributes": attributes}}
}

// ids lists the ids of a collection.
func ids(t *testing.T, r *response) string {
	t.Helper()
	var out []string
	for _, res := range r.list(t) {
		out = append(out, res["id"].(string))
	}
	return strings.Join(out, " ")
}

// local turns an absolute link of the server into a path for e.do.
func (e *env) local(t *testing.T, link any) string {
	t.Helper()
	s, ok := link.(string)
	if !ok || !strings.HasPrefix(s, e.url+"/") {
		t.Fatalf("link %v is not an absolute URL of the server %s", link, e.url)
	}
	return strings.TrimPrefix(s, e.url)
}

// runDeletions runs the deletion worker until no deletion is pending, as the server's
// background goroutine would.
func runDeletions(t *testing.T, e *env) {
	t.Helper()
	runUntilIdle(t, &workers.Deletion{DB: e.db})
}

func countRows(t *testing.T, raw *sqlx.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := raw.Get(&n, raw.Rebind(query), args...); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}

// TestRequestStory follows a request from its creation through lists, changes and its
// deletion, as a client would, and looks into the tables at the end.
func TestRequestStory(t *testing.T) {
	t.Parallel()
	eachStoreSQL(t, func(t *testing.T, e *env, raw *sqlx.DB) {
		token := e.key("s1")

		// Every attribute, as a client may send them. Metadata keeps a number that a
		// float64 would round.
		full := `{"data":{"type":"requests","attributes":{"request_id":"r1","requested_by":"alice",
			"status":"IN_PROGRESS","note_id":"6F9619FF-8B86-D011-B42D-00C04FC964FF","community_server_id":"cs-1",
			"requested_at":"2025-03-04T05:06:07.123456+01:00","content":"please check <this> & that",
			"platform_message_id":"m-1","platform_channel_id":"c-1",
			"metadata":{"big":12345678901234567890,"tags":["a","b"],"nested":{"ok":true}},
			"similarity_score":0.75,"dataset_name":"ds","dataset_item_id":"item-1"}}}`
		created := e.do("POST", requestsPath, token, full).want(t, http.StatusCreated)
		self := e.url + requestsPath + "/r1"
		if created.Header.Get("Location") != self || created.Header.Get("ETag") != `"1"` {
			t.Errorf("Location %q, ETag %q", created.Header.Get("Location"), created.Header.Get("ETag"))
		}
		res := created.data(t)
		if res["type"] != "requests" || res["id"] != "r1" || res["links"].(map[string]any)["self"] != self {
			t.Errorf("resource %v", res)
		}
		a := attrs(res)
		want := map[string]any{
			"request_id": "r1", "requested_by": "alice", "status": "IN_PROGRESS",
			"note_id": "6f9619ff-8b86-d011-b42d-00c04fc964ff", "community_server_id": "cs-1",
			"requested_at": "2025-03-04T04:06:07.123456Z", "content": "please check <this> & that",
			"platform_message_id": "m-1", "platform_channel_id": "c-1", "similarity_score": 0.75,
			"dataset_name": "ds", "dataset_item_id": "item-1",
		}
		for k, v := range want {
			if a[k] != v {
				t.Errorf("%s = %#v, want %#v", k, a[k], v)
			}
		}
		if !strings.Contains(string(created.Body), `"metadata":{"big":12345678901234567890,"nested":{"ok":true},"tags":["a","b"]}`) {
			t.Errorf("metadata did not come back as written: %s", created.Body)
		}
		if a["created_at"] != a["updated_at"] || !strings.HasSuffix(a["created_at"].(string), "Z") {
			t.Errorf("created_at %v, updated_at %v", a["created_at"], a["updated_at"])
		}

		// The least a client must send; everything else has its default or is null.
		before := time.Now().UTC().Add(-time.Second)
		minimal := e.do("POST", requestsPath, token, newRequest(map[string]any{"request_id": "r2", "requested_by": "bob"})).
			want(t, http.StatusCreated)
		m := attrs(minimal.data(t))
		if m["status"] != "PENDING" {
			t.Errorf("default status %v", m["status"])
		}
		if at, err := time.Parse(time.RFC3339, m["requested_at"].(string)); err != nil || at.Before(before) {
			t.Errorf("default requested_at %v (%v)", m["requested_at"], err)
		}
		for _, k := range []string{"note_id", "community_server_id", "content", "platform_message_id",
			"platform_channel_id", "metadata", "similarity_score", "dataset_name", "dataset_item_id"} {
			if v, ok := m[k]; !ok || v != nil {
				t.Errorf("%s is %v (present %v), want null", k, v, ok)
			}
		}
		e.do("POST", requestsPath, token, newRequest(map[string]any{"request_id": "r3", "requested_by": "carol",
			"community_server_id": "cs-2", "dataset_name": "ds", "requested_at": "2024-01-01T00:00:00Z"})).want(t, http.StatusCreated)

		got := e.do("GET", requestsPath+"/r1", token, nil).want(t, http.StatusOK)
		if got.Header.Get("ETag") != `"1"` || got.Doc["links"].(map[string]any)["self"] != self {
			t.Errorf("ETag %q, links %v", got.Header.Get("ETag"), got.Doc["links"])
		}
		if fmt.Sprint(attrs(got.data(t))) != fmt.Sprint(a) {
			t.Errorf("GET %v\nPOST %v", attrs(got.data(t)), a)
		}

		// Lists: the newest requested_at first, then each filter and sort.
		list := e.do("GET", requestsPath, token, nil).want(t, http.StatusOK)
		if got := ids(t, list); got != "r2 r1 r3" {
			t.Errorf("default order %q", got)
		}
		future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		for _, c := range []struct{ filter, want string }{
			{"eq(status,IN_PROGRESS)", "r1"},
			{"in(status,PENDING,COMPLETED)", "r2 r3"},
			{"eq(requested_by,bob)", "r2"},
			{"like(requested_by,*o*)", "r2 r3"},
			{"eq(community_server_id,cs-1)", "r1"},
			{"eq(dataset_name,ds)", "r1 r3"},
			{"eq(note_id,6f9619ff-8b86-d011-b42d-00c04fc964ff)", "r1"},
			{"gt(requested_at,2024-06-01T00:00:00Z):lt(requested_at,2026-01-01T00:00:00Z)", "r1"},
			{"le(created_at," + future + ")", "r2 r1 r3"},
			{"ge(created_at," + future + ")", ""},
		} {
			r := e.do("GET", requestsPath+"?filter="+url.QueryEscape(c.filter), token, nil).want(t, http.StatusOK)
			if got := ids(t, r); got != c.want {
				t.Errorf("filter %s: %q, want %q", c.filter, got, c.want)
			}
		}
		for sort, want := range map[string]string{
			"requested_by":             "r1 r2 r3",
			"-requested_by":            "r3 r2 r1",
			"requested_at":             "r3 r1 r2",
			"status,-dataset_name":     "r1 r2 r3",
			"community_server_id":      "r1 r3 r2",
			"-created_at,requested_by": "r3 r2 r1",
		} {
			r := e.do("GET", requestsPath+"?sort="+sort, token, nil).want(t, http.StatusOK)
			if got := ids(t, r); got != want {
				t.Errorf("sort %s: %q, want %q", sort, got, want)
			}
		}

		// Paging keeps filter, sort and fields in its links.
		q := "?filter=" + url.QueryEscape("like(requested_by,*)") + "&sort=requested_by&fields[requests]=requested_by&page[limit]=2"
		page := e.do("GET", requestsPath+q, token, nil).want(t, http.StatusOK)
		var seen []string
		for pages := 0; ; pages++ {
			if pages > 2 {
				t.Fatal("links.next never ends")
			}
			for _, res := range page.list(t) {
				if a := attrs(res); len(a) != 1 || a["requested_by"] == nil {
					t.Errorf("sparse fieldset gave %v", a)
				}
				seen = append(seen, res["id"].(string))
			}
			meta := page.Doc["meta"].(map[string]any)
			if meta["results"].(map[string]any)["total"] != 3.0 || meta["page"].(map[string]any)["total"] != 2.0 {
				t.Errorf("meta %v", meta)
			}
			next := page.Doc["links"].(map[string]any)["next"]
			if next == nil {
				break
			}
			u, err := url.Parse(next.(string))
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if q.Get("filter") == "" || q.Get("sort") != "requested_by" || q.Get("fields[requests]") != "requested_by" || q.Get("page[limit]") != "2" {
				t.Errorf("links.next %s lost a parameter", next)
			}
			page = e.do("GET", e.local(t, next), token, nil).want(t, http.StatusOK)
		}
		if got := strings.Join(seen, " "); got != "r1 r2 r3" {
			t.Errorf("paging gave %q", got)
		}
		sparse := e.do("GET", requestsPath+"/r1?fields[requests]=status,note_id", token, nil).want(t, http.StatusOK)
		if sa := attrs(sparse.data(t)); len(sa) != 2 || sa["status"] != "IN_PROGRESS" {
			t.Errorf("sparse fieldset gave %v", sa)
		}

		// PATCH: status, then note_id, then null clears note_id. Only those change.
		noteID := "0b3f9a8e-2d4c-4c3e-9a53-4d7f1c7f0001"
		p := e.do("PATCH", requestsPath+"/r1", token, patchRequest("r1", map[string]any{"status": "COMPLETED"}),
			"If-Match", `"1"`).want(t, http.StatusOK)
		pa := attrs(p.data(t))
		if p.Header.Get("ETag") != `"2"` || pa["status"] != "COMPLETED" || pa["note_id"] != a["note_id"] ||
			pa["content"] != a["content"] || pa["updated_at"] == a["updated_at"] || pa["created_at"] != a["created_at"] {
			t.Errorf("after the status patch: ETag %q, %v", p.Header.Get("ETag"), pa)
		}
		p = e.do("PATCH", requestsPath+"/r1", token, patchRequest("r1", map[string]any{"note_id": noteID})).want(t, http.StatusOK)
		if pa := attrs(p.data(t)); pa["note_id"] != noteID || pa["status"] != "COMPLETED" || p.Header.Get("ETag") != `"3"` {
			t.Errorf("after the note_id patch: ETag %q, %v", p.Header.Get("ETag"), pa)
		}
		e.do("PATCH", requestsPath+"/r1", token, `{"data":{"type":"requests","id":"r1","attributes":{"note_id":null}}}`).
			want(t, http.StatusOK)
		if ga := attrs(e.do("GET", requestsPath+"/r1", token, nil).want(t, http.StatusOK).data(t)); ga["note_id"] != nil || ga["status"] != "COMPLETED" {
			t.Errorf("after clearing note_id: %v", ga)
		}

		// DELETE answers at once; a second DELETE while pending names the same deletion.
		del := e.do("DELETE", requestsPath+"/r1", token, nil).want(t, http.StatusAccepted)
		meta := del.Doc["meta"].(map[string]any)
		id, _ := meta["deletion_id"].(float64)
		location := fmt.Sprintf("%s/deletions/%d", e.url, int64(id))
		if id < 1 || meta["status"] != "PENDING" || meta["message"] != "Deletion is pending" ||
			del.Header.Get("Location") != location || del.Doc["data"] != nil {
			t.Errorf("DELETE: Location %q, %s", del.Header.Get("Location"), del.Body)
		}
		again := e.do("DELETE", requestsPath+"/r1", token, nil).want(t, http.StatusAccepted)
		if again.Doc["meta"].(map[string]any)["deletion_id"] != id || again.Header.Get("Location") != location {
			t.Errorf("second DELETE: %s", again.Body)
		}
		e.do("GET", requestsPath+"/r1", token, nil).want(t, http.StatusOK)
		pending := e.do("GET", e.local(t, location), token, nil).want(t, http.StatusOK)
		if string(pending.Body) != fmt.Sprintf(`{"deletion_id":%d,"status":"PENDING","message":"Deletion is pending"}`+"\n", int64(id)) {
			t.Errorf("pending deletion: %s", pending.Body)
		}

		runDeletions(t, e)

		done := e.do("GET", e.local(t, location), token, nil).want(t, http.StatusOK)
		if done.Header.Get("Content-Type") != "application/json" ||
			string(done.Body) != fmt.Sprintf(`{"deletion_id":%d,"status":"SUCCESS","message":"Request deleted successfully"}`+"\n", int64(id)) {
			t.Errorf("JSON: %s %s", done.Header.Get("Content-Type"), done.Body)
		}
		asXML := e.do("GET", e.local(t, location), token, nil, "Accept", "application/xml").want(t, http.StatusOK)
		wantXML := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><deletion><deletion_id>%d</deletion_id><status>SUCCESS</status><message>Request deleted successfully</message></deletion>`, int64(id))
		if asXML.Header.Get("Content-Type") != "application/xml" || string(asXML.Body) != wantXML {
			t.Errorf("XML: %s %s\nwant %s", asXML.Header.Get("Content-Type"), asXML.Body, wantXML)
		}
		asJSONAPI := e.do("GET", e.local(t, location), token, nil, "Accept", "application/vnd.api+json").want(t, http.StatusOK)
		d := asJSONAPI.data(t)
		if d["type"] != "deletions" || d["id"] != fmt.Sprint(int64(id)) || d["links"].(map[string]any)["self"] != location ||
			fmt.Sprint(attrs(d)) != "map[message:Request deleted successfully status:SUCCESS]" {
			t.Errorf("JSON:API: %s", asJSONAPI.Body)
		}

		// The request is gone, and says so; its row is gone from the table itself.
		e.do("GET", requestsPath+"/r1", token, nil).wantError(t, http.StatusGone, "")
		e.do("DELETE", requestsPath+"/r1", token, nil).wantError(t, http.StatusGone, "")
		e.do("PATCH", requestsPath+"/r1", token, patchRequest("r1", map[string]any{"status": "FAILED"})).wantError(t, http.StatusGone, "")
		if got := ids(t, e.do("GET", requestsPath, token, nil).want(t, http.StatusOK)); got != "r2 r3" {
			t.Errorf("list after the deletion: %q", got)
		}
		if n := countRows(t, raw, `SELECT COUNT(*) FROM requests WHERE request_id = ?`, "r1"); n != 0 {
			t.Errorf("%d rows of the deleted request remain", n)
		}
		if n := countRows(t, raw, `SELECT COUNT(*) FROM requests WHERE content = ? OR requested_by = ?`, "please check <this> & that", "alice"); n != 0 {
			t.Errorf("%d rows still hold the deleted request's personal attributes", n)
		}
		// Its id is free again: a new request may take it.
		e.do("POST", requestsPath, token, newRequest(map[string]any{"request_id": "r1", "requested_by": "dave"})).want(t, http.StatusCreated)
	})
}

// TestRequestIDsInURLs checks that request ids that need escaping in a path work
// everywhere a URL names them.
func TestRequestIDsInURLs(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("s")
		for _, id := range []string{"café ☕", "50% off", "a b?c#d", "x;y,z=1&k+", "%2F", `"quoted"`} {
			created := e.do("POST", requestsPath, token, newRequest(map[string]any{"request_id": id, "requested_by": "u"})).
				want(t, http.StatusCreated)
			location := created.Header.Get("Location")
			if location != e.url+requestsPath+"/"+url.PathEscape(id) || created.data(t)["links"].(map[string]any)["self"] != location {
				t.Errorf("%q: Location %q, links %v", id, location, created.data(t)["links"])
			}
			path := e.local(t, location)
			got := e.do("GET", path, token, nil).want(t, http.StatusOK)
			if got.data(t)["id"] != id || got.Doc["links"].(map[string]any)["self"] != location {
				t.Errorf("%q: GET %s gave %s", id, path, got.Body)
			}
			e.do("PATCH", path, token, patchRequest(id, map[string]any{"status": "FAILED"})).want(t, http.StatusOK)
			e.do("DELETE", path, token, nil).want(t, http.StatusAccepted)
		}
		// An escaped "/" is a separator to the router, and no request_id may hold one.
		e.do("GET", requestsPath+"/a%2Fb", token, nil).wantError(t, http.StatusNotFound, "")
		e.do("POST", requestsPath, token, newRequest(map[string]any{"request_id": "a/b", "requested_by": "u"})).
			wantError(t, http.StatusBadRequest, "/data/attributes/request_id")
	})
}

func TestCreateRequestRejects(t *testing.T) {
	t.Parallel()
	body := func(attributes string) string {
		return `{"data":{"type":"requests","attributes":{"request_id":"r","requested_by":"u"` + attributes + `}}}`
	}
	cases := []struct {
		name   string
		body   string
		status int
		source string
	}{
		{"missing request_id", `{"data":{"type":"requests","attributes":{"requested_by":"u"}}}`, 400, "/data/attributes/request_id"},
		{"empty request_id", `{"data":{"type":"requests","attributes":{"request_id":"","requested_by":"u"}}}`, 400, "/data/attributes/request_id"},
		{"numeric request_id", `{"data":{"type":"requests","attributes":{"request_id":7,"requested_by":"u"}}}`, 400, "/data/attributes/request_id"},
		{"request_id with a slash", `{"data":{"type":"requests","attributes":{"request_id":"a/b","requested_by":"u"}}}`, 400, "/data/attributes/request_id"},
		{"request_id with a tab", `{"data":{"type":"requests","attributes":{"request_id":"a\tb","requested_by":"u"}}}`, 400, "/data/attributes/request_id"},
		{"missing requested_by", `{"data":{"type":"requests","attributes":{"request_id":"r"}}}`, 400, "/data/attributes/requested_by"},
		{"null requested_by", `{"data":{"type":"requests","attributes":{"request_id":"r","requested_by":null}}}`, 400, "/data/attributes/requested_by"},
		{"long requested_by", `{"data":{"type":"requests","attributes":{"request_id":"r","requested_by":"` + strings.Repeat("u", 256) + `"}}}`, 400, "/data/attributes/requested_by"},
		{"unknown status", body(`,"status":"DONE"`), 400, "/data/attributes/status"},
		{"null status", body(`,"status":null`), 400, "/data/attributes/status"},
		{"bad note_id", body(`,"note_id":"not-a-uuid"`), 400, "/data/attributes/note_id"},
		{"braced note_id", body(`,"note_id":"{6f9619ff-8b86-d011-b42d-00c04fc964ff}"`), 400, "/data/attributes/note_id"},
		{"bad requested_at", body(`,"requested_at":"yesterday"`), 400, "/data/attributes/requested_at"},
		{"null requested_at", body(`,"requested_at":null`), 400, "/data/attributes/requested_at"},
		{"numeric content", body(`,"content":5`), 400, "/data/attributes/content"},
		{"array metadata", body(`,"metadata":[1]`), 400, "/data/attributes/metadata"},
		{"string similarity_score", body(`,"similarity_score":"high"`), 400, "/data/attributes/similarity_score"},
		{"read-only created_at", body(`,"created_at":"2026-01-01T00:00:00Z"`), 400, "/data/attributes/created_at"},
		{"read-only updated_at", body(`,"updated_at":"2026-01-01T00:00:00Z"`), 400, "/data/attributes/updated_at"},
		{"unknown attribute", body(`,"colour":"red"`), 400, "/data/attributes/colour"},
		{"two unknown attributes", body(`,"zone":1,"colour":"red"`), 400, "/data/attributes/colour"},
		{"attributes outside attributes", `{"data":{"type":"requests","request_id":"r","requested_by":"u"}}`, 400, "/data/request_id"},
		{"no attributes", `{"data":{"type":"requests"}}`, 400, "/data/attributes/request_id"},
		{"not JSON", `{"data":`, 400, ""},
		{"client id", `{"data":{"type":"requests","id":"r","attributes":{"request_id":"r","requested_by":"u"}}}`, 403, "/data/id"},
		{"wrong type", `{"data":{"type":"erasure_request","attributes":{"request_id":"r","requested_by":"u"}}}`, 409, "/data/type"},
	}
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("s")
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e.do("POST", requestsPath, token, c.body).wantError(t, c.status, c.source)
			})
		}
		if n := len(e.do("GET", requestsPath, token, nil).want(t, http.StatusOK).list(t)); n != 0 {
			t.Errorf("rejected requests stored %d rows", n)
		}

		e.do("POST", requestsPath, token, body("")).want(t, http.StatusCreated)
		e.do("POST", requestsPath, token, body(`,"content":"other"`)).wantError(t, http.StatusConflict, "")
		// request_ids are unique per store, not across stores.
		e.do("POST", requestsPath, e.key("other"), body("")).want(t, http.StatusCreated)
	})
}

func TestPatchRequestRejects(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("s")
		e.do("POST", requestsPath, token, newRequest(map[string]any{"request_id": "r", "requested_by": "u"})).want(t, http.StatusCreated)
		path := requestsPath + "/r"
		for _, c := range []struct {
			name   string
			body   string
			status int
			source string
		}{
			{"null status", `{"data":{"type":"requests","id":"r","attributes":{"status":null}}}`, 400, "/data/attributes/status"},
			{"unknown status", `{"data":{"type":"requests","id":"r","attributes":{"status":"DONE"}}}`, 400, "/data/attributes/status"},
			{"numeric status", `{"data":{"type":"requests","id":"r","attributes":{"status":1}}}`, 400, "/data/attributes/status"},
			{"bad note_id", `{"data":{"type":"requests","id":"r","attributes":{"note_id":"nope"}}}`, 400, "/data/attributes/note_id"},
			{"unchangeable attribute", `{"data":{"type":"requests","id":"r","attributes":{"requested_by":"someone"}}}`, 400, "/data/attributes/requested_by"},
			{"read-only attribute", `{"data":{"type":"requests","id":"r","attributes":{"created_at":"2026-01-01T00:00:00Z"}}}`, 400, "/data/attributes/created_at"},
			{"unknown attribute", `{"data":{"type":"requests","id":"r","attributes":{"status":"FAILED","colour":"red"}}}`, 400, "/data/attributes/colour"},
			{"no id", `{"data":{"type":"requests","attributes":{"status":"FAILED"}}}`, 400, "/data/id"},
			{"other id", `{"data":{"type":"requests","id":"q","attributes":{"status":"FAILED"}}}`, 409, "/data/id"},
			{"wrong type", `{"data":{"type":"notes","id":"r","attributes":{"status":"FAILED"}}}`, 409, "/data/type"},
		} {
			t.Run(c.name, func(t *testing.T) {
				e.do("PATCH", path, token, c.body).wantError(t, c.status, c.source)
			})
		}
		get := e.do("GET", path, token, nil).want(t, http.StatusOK)
		if a := attrs(get.data(t)); get.Header.Get("ETag") != `"1"` || a["status"] != "PENDING" || a["requested_by"] != "u" {
			t.Fatalf("rejected patches changed the request: ETag %q, %v", get.Header.Get("ETag"), a)
		}

		status := func(s string) map[string]any { return patchRequest("r", map[string]any{"status": s}) }
		for _, c := range []struct {
			ifMatch string
			status  int
		}{
			{`"2"`, 412},              // at version 1: a version it never had
			{`"1"`, 200},              // now at 2
			{`"1"`, 412},              // stale
			{`W/"2"`, 412},            // a weak tag never matches strongly
			{`"x", "7", "2"`, 200},    // the list holds the current version; now at 3
			{`"1", "2"`, 412},         // it does not
			{`*`, 200},                // any version; now at 4
			{`"4"`, 200},              // now at 5
			{`"5" , "6"`, 200},        // now at 6
			{`"6", *`, 200},           // "*" anywhere in the list; now at 7
			{`"7"`, 200},              // now at 8
			{`, "8" ,`, 200},          // empty list members are nothing; now at 9
			{`"1", W/"9"`, 412},       // stale, and weak
			{`"10000000000000"`, 412}, // far ahead
		} {
			r := e.do("PATCH", path, token, status("FAILED"), "If-Match", c.ifMatch)
			if c.status == 200 {
				r.want(t, http.StatusOK)
			} else {
				r.wantError(t, c.status, "")
			}
		}
		if etag := e.do("GET", path, token, nil).want(t, http.StatusOK).Header.Get("ETag"); etag != `"9"` {
			t.Errorf("after the conditional patches, ETag %s, want \"9\"", etag)
		}
		// A missing request is 404 before any precondition.
		e.do("PATCH", requestsPath+"/nope", token, patchRequest("nope", map[string]any{"status": "FAILED"}), "If-Match", `"1"`).
			wantError(t, http.StatusNotFound, "")
		e.do("PATCH", requestsPath+"/nope", token, patchRequest("nope", map[string]any{"status": "FAILED"}), "If-Match", `"1", "2"`).
			wantError(t, http.StatusNotFound, "")
	})
}

func TestRequestAuthAndStores(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		a := e.key("store-a")
		b := e.key("store-b")
		readOnly := e.key("store-a", "requests:read")
		writeOnly := e.key("store-a", "requests:write")
		e.do("POST", requestsPath, a, newRequest(map[string]any{"request_id": "r", "requested_by": "u"})).want(t, http.StatusCreated)
		path := requestsPath + "/r"

		for _, c := range []struct{ method, path string }{
			{"GET", requestsPath}, {"POST", requestsPath}, {"GET", path}, {"PATCH", path}, {"DELETE", path},
		} {
			var body any
			if c.method == "POST" {
				body = newRequest(map[string]any{"request_id": "q", "requested_by": "u"})
			} else if c.method == "PATCH" {
				body = patchRequest("r", map[string]any{"status": "FAILED"})
			}
			e.do(c.method, c.path, "", body).wantError(t, http.StatusUnauthorized, "")
			e.do(c.method, c.path, "erd_unknown", body).wantError(t, http.StatusUnauthorized, "")
			scoped := readOnly
			if c.method == "GET" {
				scoped = writeOnly
			}
			e.do(c.method, c.path, scoped, body).wantError(t, http.StatusForbidden, "")
		}

		// X-API-Key works as Bearer does.
		if got := ids(t, e.do("GET", requestsPath, "", nil, "X-API-Key", a).want(t, http.StatusOK)); got != "r" {
			t.Errorf("X-API-Key list: %q", got)
		}
		e.do("POST", requestsPath, "", newRequest(map[string]any{"request_id": "k", "requested_by": "u"}), "X-API-Key", a).
			want(t, http.StatusCreated)

		// Another store's request does not exist for store b.
		e.do("GET", path, b, nil).wantError(t, http.StatusNotFound, "")
		e.do("PATCH", path, b, patchRequest("r", map[string]any{"status": "FAILED"})).wantError(t, http.StatusNotFound, "")
		e.do("DELETE", path, b, nil).wantError(t, http.StatusNotFound, "")
		list := e.do("GET", requestsPath, b, nil).want(t, http.StatusOK)
		if len(list.list(t)) != 0 || list.Doc["meta"].(map[string]any)["results"].(map[string]any)["total"] != 0.0 {
			t.Errorf("store b sees store a: %s", list.Body)
		}
		e.do("GET", requestsPath+"/nope", a, nil).wantError(t, http.StatusNotFound, "")
		e.do("DELETE", requestsPath+"/nope", a, nil).wantError(t, http.StatusNotFound, "")
	})
}

func TestRequestListRejects(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("s")
		for query, source := range map[string]string{
			"filter=eq(content,x)":               "filter",
			"filter=eq(note_id,nope)":            "filter",
			"filter=eq(status,DONE)":             "filter",
			"filter=gt(requested_at,yesterday)":  "filter",
			"sort=content":                       "sort",
			"sort=status,-status":                "sort",
			"fields[requests]=colour":            "fields[requests]",
			"page[limit]=0":                      "page[limit]",
			"page[offset]=-1":                    "page[offset]",
			"page[number]=2":                     "page[number]",
			"include=events":                     "include",
			"colour=red":                         "colour",
			"filter=eq(status,PENDING)&filter=x": "filter",
		} {
			e.do("GET", requestsPath+"?"+query, token, nil).wantError(t, http.StatusBadRequest, source)
		}
		e.do("GET", requestsPath+"/r?colour=red", token, nil).wantError(t, http.StatusBadRequest, "colour")
		e.do("DELETE", requestsPath+"/r?force=1", token, nil).wantError(t, http.StatusBadRequest, "force")
		r := e.do("PUT", requestsPath+"/r", token, nil)
		r.wantError(t, http.StatusMethodNotAllowed, "")
		if r.Header.Get("Allow") != "GET, HEAD, PATCH, DELETE" {
			t.Errorf("Allow %q", r.Header.Get("Allow"))
		}
	})
}

// TestDeletionFailure makes the database refuse a deletion: it reads FAILURE with the
// reason, in every representation, and the request is still there, untouched.
func TestDeletionFailure(t *testing.T) {
	t.Parallel()
	eachStoreSQL(t, func(t *testing.T, e *env, raw *sqlx.DB) {
		// The reason holds characters that XML must escape.
		stmts := []string{`CREATE TRIGGER refuse BEFORE DELETE ON requests WHEN OLD.request_id = 'stuck'
			BEGIN SELECT RAISE(ABORT, 'refused <by> the "test" & trigger'); END`}
		if e.db.Dialect() == "postgres" {
			stmts = []string{
				`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN RAISE EXCEPTION 'refused <by> the "test" & trigger'; END $$`,
				`CREATE TRIGGER refuse BEFORE DELETE ON requests FOR EACH ROW
				WHEN (OLD.request_id = 'stuck') EXECUTE FUNCTION refuse()`,
			}
		}
		for _, s := range stmts {
			if _, err := raw.Exec(s); err != nil {
				t.Fatal(err)
			}
		}
		token := e.key("s")
		e.do("POST", requestsPath, token, newRequest(map[string]any{"request_id": "stuck", "requested_by": "alice",
			"content": "still here"})).want(t, http.StatusCreated)
		location := e.do("DELETE", requestsPath+"/stuck", token, nil).want(t, http.StatusAccepted).Header.Get("Location")

		runDeletions(t, e)

		var d struct {
			DeletionID int64  `json:"deletion_id"`
			Status     string `json:"status"`
			Message    string `json:"message"`
		}
		asJSON := e.do("GET", e.local(t, location), token, nil).want(t, http.StatusOK)
		if err := json.Unmarshal(asJSON.Body, &d); err != nil {
			t.Fatal(err)
		}
		if d.Status != "FAILURE" || !strings.Contains(d.Message, `refused <by> the "test" & trigger`) {
			t.Fatalf("deletion after the failure: %s", asJSON.Body)
		}
		asXML := e.do("GET", e.local(t, location), token, nil, "Accept", "application/xml").want(t, http.StatusOK)
		x := parseXMLDeletion(t, asXML.Body)
		if x.DeletionID != d.DeletionID || x.Status != "FAILURE" || x.Message != d.Message ||
			!strings.Contains(string(asXML.Body), "refused &lt;by&gt; the &#34;test&#34; &amp; trigger") {
			t.Errorf("XML: %s", asXML.Body)
		}
		asJSONAPI := e.do("GET", e.local(t, location), token, nil, "Accept", "application/vnd.api+json").want(t, http.StatusOK)
		if a := attrs(asJSONAPI.data(t)); a["status"] != "FAILURE" || a["message"] != d.Message {
			t.Errorf("JSON:API: %s", asJSONAPI.Body)
		}

		got := e.do("GET", requestsPath+"/stuck", token, nil).want(t, http.StatusOK)
		if a := attrs(got.data(t)); a["content"] != "still here" || a["requested_by"] != "alice" || got.Header.Get("ETag") != `"1"` {
			t.Errorf("the request after the failed deletion: %s", got.Body)
		}
		if n := countRows(t, raw, `SELECT COUNT(*) FROM requests WHERE request_id = ? AND content = ?`, "stuck", "still here"); n != 1 {
			t.Errorf("%d rows of the request remain, want 1", n)
		}
		// A failed deletion is over: a new DELETE starts another.
		next := e.do("DELETE", requestsPath+"/stuck", token, nil).want(t, http.StatusAccepted)
		if next.Header.Get("Location") == location || next.Doc["meta"].(map[string]any)["status"] != "PENDING" {
			t.Errorf("DELETE after a failure: Location %s, %s", next.Header.Get("Location"), next.Body)
		}
	})
}
