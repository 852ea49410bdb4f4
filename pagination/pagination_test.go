package pagination

import (
	"encoding/json"
	"errors"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	const def = 25
	tests := []struct {
		name   string
		q      url.Values
		want   Page
		param  string // error's Parameter; "" means success
		detail string // error's Detail, when checked
	}{
		{name: "defaults", q: url.Values{}, want: Page{0, def}},
		{name: "nil query", q: nil, want: Page{0, def}},
		{name: "offset only", q: url.Values{"page[offset]": {"50"}}, want: Page{50, def}},
		{name: "limit only", q: url.Values{"page[limit]": {"10"}}, want: Page{0, 10}},
		{name: "both", q: url.Values{"page[offset]": {"30"}, "page[limit]": {"15"}}, want: Page{30, 15}},
		{name: "leading zeros", q: url.Values{"page[offset]": {"007"}}, want: Page{7, def}},
		{name: "other page keys ignored", q: url.Values{"page[size]": {"x"}, "page[after]": {"a"}, "page[before]": {"b"}, "page[foo]": {"1"}}, want: Page{0, def}},
		{name: "non-page keys ignored", q: url.Values{"filter": {"eq(a,b)"}, "sort": {"-id"}}, want: Page{0, def}},
		{name: "empty value slice is absent", q: url.Values{"page[limit]": {}}, want: Page{0, def}},

		{name: "offset 0", q: url.Values{"page[offset]": {"0"}}, want: Page{0, def}},
		{name: "offset max", q: url.Values{"page[offset]": {"10000"}}, want: Page{10000, def}},
		{name: "offset max+1", q: url.Values{"page[offset]": {"10001"}}, param: "page[offset]",
			detail: `page[offset] must be an integer from 0 to 10000, got "10001"`},
		{name: "offset -1", q: url.Values{"page[offset]": {"-1"}}, param: "page[offset]",
			detail: `page[offset] must be an integer from 0 to 10000, got "-1"`},
		{name: "limit 0", q: url.Values{"page[limit]": {"0"}}, param: "page[limit]",
			detail: `page[limit] must be an integer from 1 to 100, got "0"`},
		{name: "limit 1", q: url.Values{"page[limit]": {"1"}}, want: Page{0, 1}},
		{name: "limit 100", q: url.Values{"page[limit]": {"100"}}, want: Page{0, 100}},
		{name: "limit 101", q: url.Values{"page[limit]": {"101"}}, param: "page[limit]",
			detail: `page[limit] must be an integer from 1 to 100, got "101"`},

		{name: "limit abc", q: url.Values{"page[limit]": {"abc"}}, param: "page[limit]",
			detail: `page[limit] must be an integer from 1 to 100, got "abc"`},
		{name: "limit empty", q: url.Values{"page[limit]": {""}}, param: "page[limit]",
			detail: `page[limit] must be an integer from 1 to 100, got ""`},
		{name: "limit plus sign", q: url.Values{"page[limit]": {"+5"}}, param: "page[limit]"},
		{name: "limit leading space", q: url.Values{"page[limit]": {" 5"}}, param: "page[limit]"},
		{name: "limit trailing space", q: url.Values{"page[limit]": {"5 "}}, param: "page[limit]"},
		{name: "limit exponent", q: url.Values{"page[limit]": {"1e3"}}, param: "page[limit]"},
		{name: "limit decimal", q: url.Values{"page[limit]": {"5.0"}}, param: "page[limit]"},
		{name: "limit hex", q: url.Values{"page[limit]": {"0x10"}}, param: "page[limit]"},
		{name: "limit underscore", q: url.Values{"page[limit]": {"1_0"}}, param: "page[limit]"},
		{name: "offset overflow", q: url.Values{"page[offset]": {"99999999999999999999999"}}, param: "page[offset]",
			detail: `page[offset] must be an integer from 0 to 10000, got "99999999999999999999999"`},
		{name: "offset plus sign", q: url.Values{"page[offset]": {"+0"}}, param: "page[offset]"},
		{name: "offset abc", q: url.Values{"page[offset]": {"abc"}}, param: "page[offset]"},

		{name: "duplicate limit", q: url.Values{"page[limit]": {"10", "20"}}, param: "page[limit]",
			detail: "page[limit] may be given only once"},
		{name: "duplicate offset same value", q: url.Values{"page[offset]": {"0", "0"}}, param: "page[offset]",
			detail: "page[offset] may be given only once"},

		{name: "page number", q: url.Values{"page[number]": {"2"}}, param: "page[number]",
			detail: "page[number] is not supported; use page[offset] and page[limit]"},
		{name: "page number empty", q: url.Values{"page[number]": {""}}, param: "page[number]"},
		{name: "page number with valid offset", q: url.Values{"page[number]": {"1"}, "page[offset]": {"0"}}, param: "page[number]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.q, def)
			if tt.param == "" {
				if err != nil {
					t.Fatalf("Parse(%v) error %v, want %+v", tt.q, err, tt.want)
				}
				if got != tt.want {
					t.Fatalf("Parse(%v) = %+v, want %+v", tt.q, got, tt.want)
				}
				return
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("Parse(%v) = %+v, %v; want *Error for %s", tt.q, got, err, tt.param)
			}
			if pe.Parameter != tt.param {
				t.Errorf("Parameter = %q, want %q", pe.Parameter, tt.param)
			}
			if tt.detail != "" && pe.Detail != tt.detail {
				t.Errorf("Detail = %q, want %q", pe.Detail, tt.detail)
			}
			if pe.Error() != pe.Detail {
				t.Errorf("Error() = %q, want the Detail %q", pe.Error(), pe.Detail)
			}
		})
	}
}

func TestParseDefaultLimitClamped(t *testing.T) {
	for _, tt := range []struct{ def, want int }{{0, 1}, {-5, 1}, {1, 1}, {100, 100}, {500, 100}} {
		p, err := Parse(nil, tt.def)
		if err != nil || p.Limit != tt.want {
			t.Errorf("Parse(nil, %d) = %+v, %v; want limit %d", tt.def, p, err, tt.want)
		}
	}
}

func TestMeta(t *testing.T) {
	tests := []struct {
		name  string
		page  Page
		total int
		want  Meta
	}{
		{"empty collection", Page{0, 25}, 0, Meta{Limit: 25, Offset: 0, Current: 1, Total: 0}},
		{"exactly one full page", Page{0, 25}, 25, Meta{25, 0, 1, 1}},
		{"limit+1 records", Page{0, 25}, 26, Meta{25, 0, 1, 2}},
		{"second page of limit+1", Page{25, 25}, 26, Meta{25, 25, 2, 2}},
		{"fewer than a page", Page{0, 25}, 3, Meta{25, 0, 1, 1}},
		{"offset past the end", Page{100, 25}, 30, Meta{25, 100, 5, 2}},
		{"offset not a multiple of limit", Page{30, 25}, 100, Meta{25, 30, 2, 4}},
		{"limit 1", Page{9, 1}, 10, Meta{1, 9, 10, 10}},
		{"max offset", Page{10000, 100}, 50000, Meta{100, 10000, 101, 500}},
		{"huge total does not overflow", Page{0, 100}, int(^uint(0) >> 1), Meta{100, 0, 1, int(^uint(0)>>1)/100 + 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.page.Meta(tt.total); got != tt.want {
				t.Fatalf("%+v.Meta(%d) = %+v, want %+v", tt.page, tt.total, got, tt.want)
			}
		})
	}
}

func TestMetaJSON(t *testing.T) {
	b, err := json.Marshal(Page{25, 25}.Meta(60))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"limit":25,"offset":25,"current":2,"total":3}`; string(b) != want {
		t.Fatalf("json = %s, want %s", b, want)
	}
}

const base = "https://h.example/v2/erasure-requests"

// pageLink is the expected URL of a page link for a query without other parameters.
func pageLink(offset, limit int) string {
	return base + "?page%5Blimit%5D=" + strconv.Itoa(limit) + "&page%5Boffset%5D=" + strconv.Itoa(offset)
}

func ptr(s string) *string { return &s }

func TestLinks(t *testing.T) {
	tests := []struct {
		name  string
		page  Page
		q     url.Values
		total int
		want  Links
	}{
		{
			name: "empty collection, no query", page: Page{0, 25}, total: 0,
			want: Links{Self: base, First: pageLink(0, 25), Last: pageLink(0, 25)},
		},
		{
			name: "exactly one full page", page: Page{0, 25}, total: 25,
			q:    url.Values{"page[limit]": {"25"}},
			want: Links{Self: base + "?page%5Blimit%5D=25", First: pageLink(0, 25), Last: pageLink(0, 25)},
		},
		{
			name: "first of two pages", page: Page{0, 25}, total: 26,
			want: Links{Self: base, First: pageLink(0, 25), Last: pageLink(25, 25), Next: ptr(pageLink(25, 25))},
		},
		{
			name: "middle page", page: Page{50, 25}, total: 120,
			q: url.Values{"page[offset]": {"50"}},
			want: Links{Self: base + "?page%5Boffset%5D=50", First: pageLink(0, 25), Last: pageLink(100, 25),
				Prev: ptr(pageLink(25, 25)), Next: ptr(pageLink(75, 25))},
		},
		{
			name: "last page", page: Page{100, 25}, total: 120,
			want: Links{Self: base, First: pageLink(0, 25), Last: pageLink(100, 25), Prev: ptr(pageLink(75, 25))},
		},
		{
			name: "last page exactly full", page: Page{75, 25}, total: 100,
			want: Links{Self: base, First: pageLink(0, 25), Last: pageLink(75, 25), Prev: ptr(pageLink(50, 25))},
		},
		{
			name: "offset past the end", page: Page{500, 25}, total: 120,
			want: Links{Self: base, First: pageLink(0, 25), Last: pageLink(100, 25), Prev: ptr(pageLink(475, 25))},
		},
		{
			name: "offset not a multiple of limit: prev clamps at 0", page: Page{10, 25}, total: 120,
			want: Links{Self: base, First: pageLink(0, 25), Last: pageLink(100, 25),
				Prev: ptr(pageLink(0, 25)), Next: ptr(pageLink(35, 25))},
		},
		{
			name: "next may land exactly on MaxOffset", page: Page{9900, 100}, total: 50000,
			want: Links{Self: base, First: pageLink(0, 100), Last: pageLink(10000, 100),
				Prev: ptr(pageLink(9800, 100)), Next: ptr(pageLink(10000, 100))},
		},
		{
			name: "at MaxOffset: no next, last clamped", page: Page{10000, 100}, total: 50000,
			want: Links{Self: base, First: pageLink(0, 100), Last: pageLink(10000, 100),
				Prev: ptr(pageLink(9900, 100))},
		},
		{
			name: "next would pass MaxOffset", page: Page{9990, 25}, total: 50000,
			want: Links{Self: base, First: pageLink(0, 25), Last: pageLink(10000, 25), // 10000 is a multiple of 25; next (10015) is not reachable
				Prev: ptr(pageLink(9965, 25))},
		},
		{
			name: "last clamped to multiple of limit below MaxOffset", page: Page{0, 30}, total: 50000,
			want: Links{Self: base, First: pageLink(0, 30), Last: pageLink(9990, 30), Next: ptr(pageLink(30, 30))},
		},
		{
			name: "last not clamped when it fits", page: Page{0, 25}, total: 10025,
			want: Links{Self: base, First: pageLink(0, 25), Last: pageLink(10000, 25), Next: ptr(pageLink(25, 25))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.page.Links(base, tt.q, tt.total)
			if got.Self != tt.want.Self {
				t.Errorf("Self = %s, want %s", got.Self, tt.want.Self)
			}
			if got.First != tt.want.First {
				t.Errorf("First = %s, want %s", got.First, tt.want.First)
			}
			if got.Last != tt.want.Last {
				t.Errorf("Last = %s, want %s", got.Last, tt.want.Last)
			}
			if !equalPtr(got.Prev, tt.want.Prev) {
				t.Errorf("Prev = %s, want %s", show(got.Prev), show(tt.want.Prev))
			}
			if !equalPtr(got.Next, tt.want.Next) {
				t.Errorf("Next = %s, want %s", show(got.Next), show(tt.want.Next))
			}
		})
	}
}

func equalPtr(a, b *string) bool {
	return (a == nil) == (b == nil) && (a == nil || *a == *b)
}

func show(s *string) string {
	if s == nil {
		return "<nil>"
	}
	return *s
}

// TestLinksKeepQuery checks that filter, sort and fields survive in every
// link, that the encoding is the documented one, and that it round-trips.
func TestLinksKeepQuery(t *testing.T) {
	q := url.Values{
		"filter":                  {"eq(a,b):eq(c,d)"},
		"sort":                    {"-created_at"},
		"fields[erasure_request]": {"status,created_at"},
		"include":                 {"a b&c=d;e+f%g#h"},
		"page[offset]":            {"025"}, // replaced in page links, kept as sent in self
		"page[limit]":             {"25"},
	}
	orig := cloneValues(q)
	p := Page{Offset: 25, Limit: 25}
	l := p.Links(base, q, 100)

	if !reflect.DeepEqual(q, orig) {
		t.Fatalf("Links modified q: %v, was %v", q, orig)
	}

	wantNext := base + "?fields%5Berasure_request%5D=status%2Ccreated_at" +
		"&filter=eq%28a%2Cb%29%3Aeq%28c%2Cd%29" +
		"&include=a+b%26c%3Dd%3Be%2Bf%25g%23h" +
		"&page%5Blimit%5D=25&page%5Boffset%5D=50" +
		"&sort=-created_at"
	if l.Next == nil || *l.Next != wantNext {
		t.Errorf("Next = %s\nwant   %s", show(l.Next), wantNext)
	}

	check := func(name, link string, offset string) {
		t.Helper()
		u, err := url.Parse(link)
		if err != nil {
			t.Fatalf("%s: url.Parse(%q): %v", name, link, err)
		}
		if u.Scheme+"://"+u.Host+u.Path != base {
			t.Errorf("%s: base = %s, want %s", name, u.Scheme+"://"+u.Host+u.Path, base)
		}
		want := cloneValues(orig)
		want["page[offset]"] = []string{offset}
		if got := u.Query(); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: query = %v, want %v", name, got, want)
		}
	}
	check("self", l.Self, "025")
	check("first", l.First, "0")
	check("last", l.Last, "75")
	check("prev", *l.Prev, "0")
	check("next", *l.Next, "50")
}

// TestLinksRepeatedAndOddKeys checks that repeated values keep their order and
// keys needing escapes (including a literal "%5B") round-trip, and that brackets, being
// reserved, are percent-encoded like every other reserved character.
func TestLinksRepeatedAndOddKeys(t *testing.T) {
	q := url.Values{
		"filter": {"eq(x,1)", "eq(y,2)"},
		"a%5Bb]": {"1"},
		"c&d=e":  {"2"},
		"":       {"empty key"},
	}
	l := Page{0, 10}.Links(base, q, 5)
	for name, link := range map[string]string{"self": l.Self, "first": l.First} {
		u, err := url.Parse(link)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := u.Query()
		for k, vs := range q {
			if !reflect.DeepEqual(got[k], vs) {
				t.Errorf("%s: %q = %q, want %q (link %s)", name, k, got[k], vs, link)
			}
		}
	}
	if strings.Contains(l.Self, "a%5Bb") || !strings.Contains(l.Self, "a%255Bb%5D") {
		t.Errorf("literal %%5B in a key was not escaped: %s", l.Self)
	}
}

func cloneValues(q url.Values) url.Values {
	c := make(url.Values, len(q))
	for k, vs := range q {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

func FuzzParse(f *testing.F) {
	for _, s := range [][2]string{
		{"0", "25"}, {"10000", "100"}, {"10001", "101"}, {"-1", "0"}, {"", ""},
		{"+5", " 5"}, {"1e3", "abc"}, {"99999999999999999999", "-0"}, {"007", "1"},
		{"0x10", "1_0"}, {"\xff", "５"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, offset, limit string) {
		q := url.Values{"page[offset]": {offset}, "page[limit]": {limit}}
		p, err := Parse(q, 25)
		if err != nil {
			var pe *Error
			if !errors.As(err, &pe) || pe.Detail == "" ||
				(pe.Parameter != "page[offset]" && pe.Parameter != "page[limit]") {
				t.Fatalf("Parse(%q, %q) error %#v: want *Error naming the parameter", offset, limit, err)
			}
			return
		}
		if p.Offset < 0 || p.Offset > MaxOffset || p.Limit < 1 || p.Limit > MaxLimit {
			t.Fatalf("Parse(%q, %q) = %+v: out of bounds", offset, limit, p)
		}
		// Only plain base-10 integers may succeed.
		for _, s := range []string{offset, limit} {
			if strings.TrimLeft(strings.TrimPrefix(s, "-"), "0123456789") != "" || strings.Trim(s, "-") == "" {
				t.Fatalf("Parse accepted non-integer %q as %+v", s, p)
			}
		}
		// A parsed page must be safe to use.
		if m := p.Meta(len(offset) * 1000); m.Current < 1 {
			t.Fatalf("Meta of %+v: current page %d", p, m.Current)
		}
		l := p.Links(base, q, len(limit)*1000)
		for _, link := range []string{l.Self, l.First, l.Last} {
			if _, err := url.Parse(link); err != nil {
				t.Fatalf("bad link %q: %v", link, err)
			}
		}
	})
}
