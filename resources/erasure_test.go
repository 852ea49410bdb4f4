package resources_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const erasures = "/v2/personal-data/erasure-requests"

func newErasure(resourceType, resourceID string) map[string]any {
	return map[string]any{"data": map[string]any{"type": "erasure_request",
		"attributes": map[string]any{"resource_type": resourceType, "resource_id": resourceID}}}
}

func TestCreateAndReadErasureRequest(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("store-a")
		before := time.Now().UTC().Add(-time.Second)
		body := newErasure("account", "0f850c15-d643-480a-a2b4-9e3c26067178")
		body["data"].(map[string]any)["attributes"].(map[string]any)["reason"] = "customer request"
		created := e.do("POST", erasures, token, body).want(t, http.StatusCreated)
		res := created.data(t)
		id, _ := res["id"].(string)
		if res["type"] != "erasure_request" || id == "" {
			t.Fatalf("created %v", res)
		}
		self := e.url + erasures + "/" + id
		if created.Header.Get("Location") != self || res["links"].(map[string]any)["self"] != self {
			t.Errorf("Location %q, links %v; want %s", created.Header.Get("Location"), res["links"], self)
		}
		a := attrs(res)
		if a["status"] != "CREATED" || a["status_description"] != "The erasure request successfully created" ||
			a["resource_type"] != "account" || a["reason"] != "customer request" || a["completed_at"] != nil {
			t.Errorf("attributes %v", a)
		}
		ini := a["initiator"].(map[string]any)
		if ini["access-token-store-id"] != "store-a" || ini["access-token-name"] != "tester" ||
			ini["access-token-email"] != "tester@example.com" || ini["access-token-type"] != "client-credentials-token" {
			t.Errorf("initiator %v", ini)
		}
		createdAt, err := time.Parse(time.RFC3339, a["created_at"].(string))
		if err != nil || createdAt.Before(before) || !strings.HasSuffix(a["created_at"].(string), "Z") {
			t.Errorf("created_at %v (%v)", a["created_at"], err)
		}
		due, _ := time.Parse(time.RFC3339, a["due_at"].(string))
		if due.Sub(createdAt) != 30*24*time.Hour {
			t.Errorf("due_at %v is not 30 days after created_at %v", due, createdAt)
		}

		got := e.do("GET", erasures+"/"+id, token, nil).want(t, http.StatusOK)
		if got.Header.Get("ETag") == "" || got.Doc["links"].(map[string]any)["self"] != self {
			t.Errorf("ETag %q, links %v", got.Header.Get("ETag"), got.Doc["links"])
		}
		if fmt.Sprint(attrs(got.data(t))) != fmt.Sprint(a) {
			t.Errorf("GET %v\nPOST %v", attrs(got.data(t)), a)
		}
		rel := got.data(t)["relationships"].(map[string]any)["events"].(map[string]any)
		if rel["links"].(map[string]any)["related"] != self+"/events" {
			t.Errorf("events relationship %v", rel)
		}
		sparse := e.do("GET", erasures+"/"+id+"?fields[erasure_request]=status,resource_id", token, nil).want(t, http.StatusOK)
		if sa := attrs(sparse.data(t)); len(sa) != 2 || sa["status"] != "CREATED" || sparse.data(t)["relationships"] != nil {
			t.Errorf("sparse fieldset gave %v", sparse.data(t))
		}
	})
}

func TestCreateErasureRequestElasticPathForm(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("s")
		r := e.do("POST", erasures, token, `{"data":{"type":"erasure_request","resource_type":"customer","resource_id":"c-1"}}`,
			"Content-Type", "application/json").want(t, http.StatusCreated)
		if a := attrs(r.data(t)); a["resource_type"] != "customer" || a["resource_id"] != "c-1" {
			t.Errorf("attributes %v", a)
		}
		e.do("POST", erasures, token, `{"data":{"type":"erasure_request","resource_type":"planet","resource_id":"c-1"}}`).
			wantError(t, http.StatusBadRequest, "/data/resource_type")
	})
}

func TestCreateErasureRequestRejects(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", 256)
	cases := []struct {
		name   string
		body   string
		status int
		source string
	}{
		{"missing resource_type", `{"data":{"type":"erasure_request","attributes":{"resource_id":"a"}}}`, 400, "/data/attributes/resource_type"},
		{"unknown resource_type", `{"data":{"type":"erasure_request","attributes":{"resource_type":"planet","resource_id":"a"}}}`, 400, "/data/attributes/resource_type"},
		{"empty resource_id", `{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":""}}}`, 400, "/data/attributes/resource_id"},
		{"long resource_id", `{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":"` + long + `"}}}`, 400, "/data/attributes/resource_id"},
		{"null resource_id", `{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":null}}}`, 400, "/data/attributes/resource_id"},
		{"numeric resource_id", `{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":7}}}`, 400, "/data/attributes/resource_id"},
		{"long reason", `{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":"a","reason":"` + strings.Repeat("r", 1001) + `"}}}`, 400, "/data/attributes/reason"},
		{"unknown attribute", `{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":"a","colour":"red"}}}`, 400, "/data/attributes/colour"},
		{"read-only attribute", `{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":"a","status":"SUCCESS"}}}`, 400, "/data/attributes/status"},
		{"not JSON", `{"data":`, 400, ""},
		{"trailing data", `{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":"a"}}} {}`, 400, ""},
		{"empty body", ``, 400, ""},
		{"array data", `{"data":[]}`, 400, "/data"},
		{"no data", `{"meta":{}}`, 400, "/data"},
		{"no type", `{"data":{"attributes":{"resource_type":"user","resource_id":"a"}}}`, 400, "/data/type"},
		{"unknown top-level member", `{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":"a"}},"extra":1}`, 400, "/extra"},
		{"wrong type", `{"data":{"type":"requests","attributes":{"resource_type":"user","resource_id":"a"}}}`, 409, "/data/type"},
		{"client id", `{"data":{"type":"erasure_request","id":"8a4c1a52-3c1f-4a3e-9a53-4d7f1c7f0001","attributes":{"resource_type":"user","resource_id":"a"}}}`, 403, "/data/id"},
	}
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("s")
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				e.do("POST", erasures, token, c.body).wantError(t, c.status, c.source)
			})
		}
		if n := len(e.do("GET", erasures, token, nil).want(t, 200).list(t)); n != 0 {
			t.Errorf("rejected requests stored %d rows", n)
		}
	})
}

func TestMediaTypes(t *testing.T) {
	t.Parallel()
	valid := `{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":"a"}}}`
	cases := []struct {
		name, method, contentType, accept string
		status                            int
	}{
		{"json:api", "POST", "application/vnd.api+json", "", 201},
		{"plain json", "POST", "application/json", "", 201},
		{"profile", "POST", `application/vnd.api+json; profile="https://example.com/p"`, "", 201},
		{"charset", "POST", "application/vnd.api+json; charset=utf-8", "", 415},
		{"ext", "POST", `application/vnd.api+json; ext="https://example.com/e"`, "", 415},
		{"text", "POST", "text/plain", "", 415},
		{"no content type", "POST", "", "", 415},
		{"accept with parameters only", "GET", "", "application/vnd.api+json; charset=utf-8", 406},
		{"accept one good of two", "GET", "", "application/vnd.api+json; charset=utf-8, application/vnd.api+json", 200},
		{"accept anything", "GET", "", "*/*", 200},
		{"accept json and json:api", "GET", "", "application/json, application/vnd.api+json", 200},
		{"accept xml", "GET", "", "application/xml", 406},
		{"accept json:api refused by q=0", "GET", "", "application/vnd.api+json;q=0", 406},
	}
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("s")
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var body any
				if c.method == "POST" {
					body = valid
				}
				r := e.do(c.method, erasures, token, body, "Content-Type", c.contentType, "Accept", c.accept)
				if c.status >= 400 {
					r.wantError(t, c.status, "")
				} else {
					r.want(t, c.status)
				}
				if r.Header.Get("Content-Type") != "application/vnd.api+json" {
					t.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
				}
			})
		}
	})
}

func TestAuthAndStoreIsolation(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		a := e.key("store-a")
		b := e.key("store-b")
		readOnly := e.key("store-a", "erasure_requests:read")
		id := e.do("POST", erasures, a, newErasure("user", "u-1")).want(t, 201).data(t)["id"].(string)

		e.do("GET", erasures, "", nil).wantError(t, http.StatusUnauthorized, "")
		e.do("GET", erasures, "erd_nope", nil).wantError(t, http.StatusUnauthorized, "")
		e.do("GET", erasures, "", nil, "Authorization", "Basic dXNlcjpwYXNz").wantError(t, http.StatusUnauthorized, "")
		e.do("GET", erasures, "", nil, "X-API-Key", a).want(t, http.StatusOK)
		e.do("POST", erasures, readOnly, newErasure("user", "u-2")).wantError(t, http.StatusForbidden, "")
		e.do("GET", erasures+"/"+id, readOnly, nil).want(t, http.StatusOK)

		e.do("GET", erasures+"/"+id, b, nil).wantError(t, http.StatusNotFound, "")
		list := e.do("GET", erasures, b, nil).want(t, http.StatusOK)
		if len(list.list(t)) != 0 || list.Doc["meta"].(map[string]any)["results"].(map[string]any)["total"].(float64) != 0 {
			t.Errorf("store b sees store a: %s", list.Body)
		}
		e.do("GET", erasures+"/not-a-uuid", a, nil).wantError(t, http.StatusNotFound, "")
	})
}

func TestErrorsForUnknownPathsAndMethods(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("s")
		e.do("GET", "/v2/nothing-here", token, nil).wantError(t, http.StatusNotFound, "")
		r := e.do("DELETE", erasures, token, nil)
		r.wantError(t, http.StatusMethodNotAllowed, "")
		if r.Header.Get("Allow") != "GET, HEAD, POST" {
			t.Errorf("Allow %q", r.Header.Get("Allow"))
		}
		// The logs' time to live is read and replaced, never posted or patched.
		r = e.do("PATCH", "/v2/settings/logs-ttl", token, nil)
		r.wantError(t, http.StatusMethodNotAllowed, "")
		if r.Header.Get("Allow") != "GET, HEAD, PUT" {
			t.Errorf("logs-ttl: Allow %q", r.Header.Get("Allow"))
		}
		e.do("GET", erasures+"?colour=red", token, nil).wantError(t, 400, "colour")
		e.do("GET", erasures+"?page[number]=2", token, nil).wantError(t, 400, "page[number]")
		e.do("GET", erasures+"?page[size]=0", token, nil).wantError(t, 400, "page[size]")
		e.do("GET", erasures+"?sort=colour", token, nil).wantError(t, 400, "sort")
		e.do("GET", erasures+"?sort=created_at,-created_at", token, nil).wantError(t, 400, "sort")
		e.do("GET", erasures+"?fields[erasure_request]=colour", token, nil).wantError(t, 400, "fields[erasure_request]")
		e.do("GET", erasures+"?filter=eq(status,pending)&filter=eq(status,completed)", token, nil).wantError(t, 400, "filter")
		e.do("POST", erasures, token, `{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":"`+
			strings.Repeat("a", 1<<20)+`"}}}`).wantError(t, http.StatusRequestEntityTooLarge, "")
	})
}

func TestListFiltersAndSort(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("s")
		for _, c := range []struct{ typ, id string }{
			{"account", "acc-1"}, {"account", "acc-2"}, {"customer", "cus-1"}, {"order", "a,b)c"}, {"user", `"quoted"`},
		} {
			e.do("POST", erasures, token, newErasure(c.typ, c.id)).want(t, 201)
		}
		ids := func(path string) string {
			var out []string
			for _, r := range e.do("GET", path, token, nil).want(t, 200).list(t) {
				out = append(out, attrs(r)["resource_id"].(string))
			}
			return strings.Join(out, " ")
		}
		future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
		cases := []struct{ filter, want string }{
			{"eq(resource_type,account):eq(resource_id,acc-2)", "acc-2"},
			{"in(resource_type,customer,order)", `cus-1 a,b)c`},
			{"like(resource_id,acc*)", "acc-1 acc-2"},
			{`eq(resource_id,"a,b)c")`, "a,b)c"},
			{`eq(resource_id,"\"quoted\"")`, `"quoted"`},
			{"eq(status,CREATED):eq(status,pending)", `acc-1 acc-2 cus-1 a,b)c "quoted"`},
			{"eq(status,SUCCESS)", ""},
			{"lt(created_at," + future + ")", `acc-1 acc-2 cus-1 a,b)c "quoted"`},
			{"gt(created_at," + future + ")", ""},
			{"le(due_at," + future + ")", ""},
			{"ge(due_at," + future + "):lt(updated_at," + future + ")", `acc-1 acc-2 cus-1 a,b)c "quoted"`},
		}
		for _, c := range cases {
			if got := ids(erasures + "?filter=" + url.QueryEscape(c.filter)); got != c.want {
				t.Errorf("filter %s: got %q, want %q", c.filter, got, c.want)
			}
		}
		if got := ids(erasures + "?sort=-resource_id"); got != `cus-1 acc-2 acc-1 a,b)c "quoted"` {
			t.Errorf("sort -resource_id: %q", got)
		}
		for _, bad := range []string{"eq(colour,red)", "ne(status,pending)", "eq(status,done)", "gt(created_at,yesterday)",
			"eq(resource_id,a", "eq(resource_id,a):", `eq(resource_id,"a)`, "like(created_at,2026*)"} {
			r := e.do("GET", erasures+"?filter="+url.QueryEscape(bad), token, nil)
			if d := r.wantError(t, 400, "filter")["detail"].(string); !strings.Contains(d, " ") {
				t.Errorf("filter %s: detail %q says nothing", bad, d)
			}
		}
	})
}

func TestPagination(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("s")
		empty := e.do("GET", erasures, token, nil).want(t, 200)
		if len(empty.list(t)) != 0 || fmt.Sprint(empty.Doc["meta"]) != "map[page:map[current:1 limit:25 offset:0 total:0] results:map[total:0]]" {
			t.Errorf("empty collection: %s", empty.Body)
		}
		for i := range 30 {
			e.do("POST", erasures, token, newErasure("user", fmt.Sprintf("u-%02d", i))).want(t, 201)
		}
		type page struct {
			query      string
			n          int
			first      string
			meta       string
			prev, next bool
		}
		for _, c := range []page{
			{"", 25, "u-00", "map[page:map[current:1 limit:25 offset:0 total:2] results:map[total:30]]", false, true},
			{"page[limit]=30", 30, "u-00", "map[page:map[current:1 limit:30 offset:0 total:1] results:map[total:30]]", false, false},
			{"page[offset]=25", 5, "u-25", "map[page:map[current:2 limit:25 offset:25 total:2] results:map[total:30]]", true, false},
			{"page[offset]=40&page[limit]=10", 0, "", "map[page:map[current:5 limit:10 offset:40 total:3] results:map[total:30]]", true, false},
			{"page[limit]=100", 30, "u-00", "map[page:map[current:1 limit:100 offset:0 total:1] results:map[total:30]]", false, false},
			{"page[offset]=10000", 0, "", "map[page:map[current:401 limit:25 offset:10000 total:2] results:map[total:30]]", true, false},
		} {
			r := e.do("GET", erasures+"?"+c.query, token, nil).want(t, 200)
			list := r.list(t)
			if len(list) != c.n || (c.n > 0 && attrs(list[0])["resource_id"] != c.first) || fmt.Sprint(r.Doc["meta"]) != c.meta {
				t.Errorf("%q: %d records from %v, meta %v", c.query, len(list), c.first, r.Doc["meta"])
			}
			links := r.Doc["links"].(map[string]any)
			if (links["prev"] != nil) != c.prev || (links["next"] != nil) != c.next {
				t.Errorf("%q: prev %v next %v", c.query, links["prev"], links["next"])
			}
			if !strings.HasPrefix(links["first"].(string), e.url+erasures+"?") || links["last"] == nil {
				t.Errorf("%q: links %v", c.query, links)
			}
		}
		// Following next from the first page visits every record once, and keeps the filter.
		seen := map[string]bool{}
		next := e.url + erasures + "?page[limit]=7&filter=" + url.QueryEscape("like(resource_id,u-*)")
		for next != "" {
			r := e.do("GET", strings.TrimPrefix(next, e.url), token, nil).want(t, 200)
			for _, res := range r.list(t) {
				if seen[res["id"].(string)] {
					t.Fatalf("%s repeated", res["id"])
				}
				seen[res["id"].(string)] = true
			}
			next, _ = r.Doc["links"].(map[string]any)["next"].(string)
			if next != "" && !strings.Contains(next, "filter=") {
				t.Fatalf("next link lost the filter: %s", next)
			}
		}
		if len(seen) != 30 {
			t.Errorf("following next saw %d records, want 30", len(seen))
		}
		for _, bad := range []string{"page[limit]=0", "page[limit]=101", "page[offset]=10001", "page[offset]=-1", "page[limit]=ten"} {
			name := bad[:strings.Index(bad, "=")]
			e.do("GET", erasures+"?"+bad, token, nil).wantError(t, 400, name)
		}
	})
}
