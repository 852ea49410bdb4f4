package resources_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
)

const cursorProfile = "https://jsonapi.org/profiles/ethanresnick/cursor-pagination/"

// cursorPage is one cursor page as a client sees it.
type cursorPage struct {
	ids        []string
	prev, next string // "" for null
	links      map[string]any
	meta       map[string]any
}

func (e *env) cursorPage(t *testing.T, token, link string) cursorPage {
	t.Helper()
	r := e.do("GET", strings.TrimPrefix(link, e.url), token, nil).want(t, 200)
	p := cursorPage{links: r.Doc["links"].(map[string]any), meta: r.Doc["meta"].(map[string]any)}
	for _, res := range r.list(t) {
		p.ids = append(p.ids, attrs(res)["resource_id"].(string))
	}
	for _, rel := range []string{"prev", "next"} {
		v, ok := p.links[rel]
		if !ok {
			t.Fatalf("%s: no %s link (it must be present, null at the ends): %v", link, rel, p.links)
		}
		if s, _ := v.(string); rel == "prev" {
			p.prev = s
		} else {
			p.next = s
		}
	}
	return p
}

func TestCursorPagination(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("s")
		var want []string
		for i := range 13 {
			id := fmt.Sprintf("u-%02d", i)
			e.do("POST", erasures, token, newErasure("user", id)).want(t, 201)
			want = append(want, id)
		}
		e.do("POST", erasures, e.key("other"), newErasure("user", "not-mine")).want(t, 201)

		// Forwards with next, five at a time; the filter and fieldset stay in every link.
		first := e.url + erasures + "?page[size]=5&filter=" + url.QueryEscape("like(resource_id,u-*)") + "&fields[erasure_request]=resource_id,status"
		var got []string
		var pages []cursorPage
		for link := first; link != ""; {
			p := e.cursorPage(t, token, link)
			pages = append(pages, p)
			got = append(got, p.ids...)
			if fmt.Sprint(p.meta) != "map[page:map[size:5] results:map[total:13]]" {
				t.Errorf("%s: meta %v", link, p.meta)
			}
			if p.next != "" {
				u, err := url.Parse(p.next)
				if err != nil {
					t.Fatal(err)
				}
				if q := u.Query(); !strings.HasPrefix(q.Get("filter"), "like") || q.Get("fields[erasure_request]") == "" || q.Get("page[after]") == "" {
					t.Fatalf("next link lost a parameter: %s", p.next)
				}
			}
			if p.links["first"] != e.url+erasures+"?fields%5Berasure_request%5D=resource_id%2Cstatus&filter=like%28resource_id%2Cu-%2A%29&page%5Bsize%5D=5" {
				t.Errorf("first link %v", p.links["first"])
			}
			link = p.next
		}
		if !slices.Equal(got, want) || len(pages) != 3 {
			t.Fatalf("following next: %v in %d pages, want %v", got, len(pages), want)
		}
		if pages[0].prev != "" {
			t.Errorf("first page has a prev link: %s", pages[0].prev)
		}

		// Backwards with prev from the last page, to a first page whose prev is null.
		back := pages[2].ids
		for link := pages[2].prev; link != ""; {
			p := e.cursorPage(t, token, link)
			back = append(p.ids, back...)
			link = p.prev
		}
		if !slices.Equal(back, want) {
			t.Fatalf("following prev: %v", back)
		}

		// A range: after the 5th and before the 11th.
		after, before := param(t, pages[0].next, "page[after]"), param(t, pages[2].prev, "page[before]")
		whole := e.cursorPage(t, token, erasures+"?page[after]="+after+"&page[before]="+before)
		if !slices.Equal(whole.ids, want[5:10]) || fmt.Sprint(whole.meta["page"]) != "map[size:100]" {
			t.Errorf("range: %v, meta %v", whole.ids, whole.meta)
		}
		cut := e.cursorPage(t, token, erasures+"?page[size]=2&page[after]="+after+"&page[before]="+before)
		if !slices.Equal(cut.ids, want[5:7]) || fmt.Sprint(cut.meta["page"]) != "map[rangeTruncated:true size:2]" || cut.next == "" {
			t.Errorf("truncated range: %v, meta %v, next %q", cut.ids, cut.meta, cut.next)
		}

		// Newest first, and a cursor of one sort refused by another.
		desc := e.cursorPage(t, token, erasures+"?sort=-created_at&page[size]=4")
		if !slices.Equal(desc.ids, []string{"u-12", "u-11", "u-10", "u-09"}) {
			t.Errorf("sort=-created_at: %v", desc.ids)
		}
		wantProfileError(t, e.do("GET", erasures+"?sort=-created_at&page[after]="+after, token, nil), "page[after]", "invalid-parameter-value")

		// An empty list: both links null, and the store's own records only.
		none := e.cursorPage(t, e.key("empty"), erasures+"?page[size]=5")
		if len(none.ids) != 0 || none.prev != "" || none.next != "" || fmt.Sprint(none.meta["results"]) != "map[total:0]" {
			t.Errorf("empty list: %+v", none)
		}
	})
}

// wantProfileError checks a 400 of the cursor pagination profile: its source, and its
// type link.
func wantProfileError(t *testing.T, r *response, param, typ string) map[string]any {
	t.Helper()
	e := r.wantError(t, 400, param)
	links, _ := e["links"].(map[string]any)
	if links["type"] != cursorProfile+typ {
		t.Errorf("%s: error links %v, want type %s", param, e["links"], typ)
	}
	return e
}

func TestCursorPaginationErrors(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("s")
		for _, c := range []struct{ query, param, typ string }{
			{"page[size]=0", "page[size]", "invalid-parameter-value"},
			{"page[size]=-3", "page[size]", "invalid-parameter-value"},
			{"page[size]=ten", "page[size]", "invalid-parameter-value"},
			{"page[after]=", "page[after]", "invalid-parameter-value"},
			{"page[after]=bm90IGEgY3Vyc29y", "page[after]", "invalid-parameter-value"},
			{"page[before]=%7B%7D", "page[before]", "invalid-parameter-value"},
			// A well-formed cursor whose id is no uuid: refused before it reaches SQL.
			{"page[after]=eyJ2IjoxLCJzIjoiY3JlYXRlZF9hdCIsImsiOlsiMjAyNi0wMS0wMVQwMDowMDowMFoiLCJ4Il19", "page[after]", "invalid-parameter-value"},
		} {
			wantProfileError(t, e.do("GET", erasures+"?"+c.query, token, nil), c.param, c.typ)
		}
		tooBig := wantProfileError(t, e.do("GET", erasures+"?page[size]=101", token, nil), "page[size]", "max-size-exceeded")
		if fmt.Sprint(tooBig["meta"]) != "map[page:map[maxSize:100]]" {
			t.Errorf("max size error meta: %v", tooBig["meta"])
		}
		// Offset and cursor parameters do not mix.
		e.do("GET", erasures+"?page[size]=5&page[offset]=0", token, nil).wantError(t, 400, "page[offset]")
		e.do("GET", erasures+"?page[size]=5&page[limit]=5", token, nil).wantError(t, 400, "page[limit]")
		e.do("GET", erasures+"?page[size]=5&page[size]=6", token, nil).wantError(t, 400, "page[size]")
		e.do("GET", erasures+"?page[cursor]=x", token, nil).wantError(t, 400, "page[cursor]")
	})
}

// The Open Notes list pages by cursor too: newest requested_at first by default, and
// following next, then prev, visits every request once each way.
func TestRequestsCursorPagination(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("s")
		for i := range 7 {
			e.do("POST", requestsPath, token, fmt.Sprintf(`{"data":{"type":"requests","attributes":{"request_id":"r%d","requested_by":"p","requested_at":"2026-01-0%dT00:00:00Z"}}}`, i, i+1)).
				want(t, 201)
		}
		read := func(link string) (ids []string, prev, next string) {
			r := e.do("GET", strings.TrimPrefix(link, e.url), token, nil).want(t, 200)
			for _, res := range r.list(t) {
				ids = append(ids, res["id"].(string))
			}
			links := r.Doc["links"].(map[string]any)
			prev, _ = links["prev"].(string)
			next, _ = links["next"].(string)
			return ids, prev, next
		}
		var forward []string
		link := e.url + requestsPath + "?page[size]=3"
		for link != "" {
			ids, _, next := read(link)
			forward = append(forward, ids...)
			link = next
		}
		if got := strings.Join(forward, " "); got != "r6 r5 r4 r3 r2 r1 r0" {
			t.Fatalf("following next: %s", got)
		}
		// Back from the last page: before the cursor of its first record.
		last, prev, _ := read(e.url + requestsPath + "?page[size]=3&page[after]=" + url.QueryEscape(mustCursorAfter(t, e, token, 6)))
		if strings.Join(last, " ") != "r0" || prev == "" {
			t.Fatalf("last page %v, prev %q", last, prev)
		}
		back, _, _ := read(prev)
		if strings.Join(back, " ") != "r3 r2 r1" {
			t.Errorf("prev of the last page: %v", back)
		}
		e.do("GET", requestsPath+"?page[size]=3&page[offset]=3", token, nil).wantError(t, 400, "page[offset]")
	})
}

// mustCursorAfter returns the page[after] cursor that the requests list's next link
// carries after n records of the default order, read by following next links.
func mustCursorAfter(t *testing.T, e *env, token string, n int) string {
	t.Helper()
	r := e.do("GET", requestsPath+fmt.Sprintf("?page[size]=%d", n), token, nil).want(t, 200)
	next, _ := r.Doc["links"].(map[string]any)["next"].(string)
	u, err := url.Parse(next)
	if err != nil || u.Query().Get("page[after]") == "" {
		t.Fatalf("next link %q has no page[after]", next)
	}
	return u.Query().Get("page[after]")
}

// param is query parameter name of link.
func param(t *testing.T, link, name string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get(name)
}
