package pagination

import (
	"encoding/base64"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestCursorRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 123456000, time.FixedZone("CET", 3600))
	c := &Cursor{Sort: "-completed_at,resource_id", Keys: []any{nil, at, "a,b)c \"q\" ü", "3f1c…"}}
	s := c.String()
	if strings.ContainsAny(s, "+/=%?&") {
		t.Fatalf("cursor %q is not URL-safe", s)
	}
	got, err := DecodeCursor("page[after]", s)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{nil, "2026-03-01T11:00:00.123456Z", "a,b)c \"q\" ü", "3f1c…"}
	if got.Sort != c.Sort || !reflect.DeepEqual(got.Keys, want) {
		t.Errorf("decoded %+v, want sort %q keys %v", got, c.Sort, want)
	}
	// Decoding and encoding again gives the same token: a cursor is one string per position.
	if again := got.String(); again != s {
		t.Errorf("re-encoded %q, want %q", again, s)
	}
}

func TestDecodeCursorIsStrict(t *testing.T) {
	enc := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for _, c := range []struct{ name, cursor string }{
		{"empty", ""},
		{"not base64", "***"},
		{"padded", base64.URLEncoding.EncodeToString([]byte(`{"v":1,"s":"created_at","k":["x"]}`))},
		{"not JSON", enc("created_at|x")},
		{"array", enc(`["created_at","x"]`)},
		{"unknown member", enc(`{"v":1,"s":"created_at","k":["x"],"admin":true}`)},
		{"trailing data", enc(`{"v":1,"s":"created_at","k":["x"]} {}`)},
		{"version 2", enc(`{"v":2,"s":"created_at","k":["x"]}`)},
		{"no version", enc(`{"s":"created_at","k":["x"]}`)},
		{"no sort", enc(`{"v":1,"k":["x"]}`)},
		{"sort with space", enc(`{"v":1,"s":"created_at, id","k":["x"]}`)},
		{"no keys", enc(`{"v":1,"s":"created_at","k":[]}`)},
		{"null id", enc(`{"v":1,"s":"created_at","k":["x",null]}`)},
		{"number key", enc(`{"v":1,"s":"created_at","k":[1,"x"]}`)},
		{"object key", enc(`{"v":1,"s":"created_at","k":[{},"x"]}`)},
		{"too many keys", enc(`{"v":1,"s":"created_at","k":[` + strings.Repeat(`"x",`, 16) + `"x"]}`)},
		{"too long", enc(`{"v":1,"s":"created_at","k":["` + strings.Repeat("x", 4000) + `"]}`)},
	} {
		_, err := DecodeCursor("page[before]", c.cursor)
		var e *Error
		if !errors.As(err, &e) || e.Parameter != "page[before]" || e.Type != TypeInvalidParameterValue || !strings.HasPrefix(e.Detail, "page[before] ") {
			t.Errorf("%s: got %#v", c.name, err)
		}
	}
}

func TestParseCursor(t *testing.T) {
	after := (&Cursor{Sort: "created_at", Keys: []any{"2026-01-01T00:00:00Z", "a"}}).String()
	before := (&Cursor{Sort: "created_at", Keys: []any{"2026-01-02T00:00:00Z", "b"}}).String()
	other := (&Cursor{Sort: "-created_at", Keys: []any{"2026-01-02T00:00:00Z", "b"}}).String()
	tests := []struct {
		name          string
		q             url.Values
		size          int
		after, before bool
		param, typ    string // the error's, when one is expected
		maxSize       int
	}{
		{name: "size only", q: url.Values{"page[size]": {"10"}}, size: 10},
		{name: "after only: default size", q: url.Values{"page[after]": {after}}, size: 25, after: true},
		{name: "before", q: url.Values{"page[before]": {before}, "page[size]": {"3"}}, size: 3, before: true},
		{name: "range: max size by default", q: url.Values{"page[after]": {after}, "page[before]": {before}}, size: 100, after: true, before: true},
		{name: "range with size", q: url.Values{"page[after]": {after}, "page[before]": {before}, "page[size]": {"1"}}, size: 1, after: true, before: true},
		{name: "size 100", q: url.Values{"page[size]": {"100"}}, size: 100},
		{name: "leading zeros", q: url.Values{"page[size]": {"007"}}, size: 7},

		{name: "size 0", q: url.Values{"page[size]": {"0"}}, param: "page[size]", typ: TypeInvalidParameterValue},
		{name: "size -1", q: url.Values{"page[size]": {"-1"}}, param: "page[size]", typ: TypeInvalidParameterValue},
		{name: "size +1", q: url.Values{"page[size]": {"+1"}}, param: "page[size]", typ: TypeInvalidParameterValue},
		{name: "size empty", q: url.Values{"page[size]": {""}}, param: "page[size]", typ: TypeInvalidParameterValue},
		{name: "size ten", q: url.Values{"page[size]": {"ten"}}, param: "page[size]", typ: TypeInvalidParameterValue},
		{name: "size 101", q: url.Values{"page[size]": {"101"}}, param: "page[size]", typ: TypeMaxSizeExceeded, maxSize: 100},
		{name: "size overflows", q: url.Values{"page[size]": {"99999999999999999999999"}}, param: "page[size]", typ: TypeMaxSizeExceeded, maxSize: 100},
		{name: "size twice", q: url.Values{"page[size]": {"1", "2"}}, param: "page[size]", typ: TypeInvalidParameterValue},
		{name: "after twice", q: url.Values{"page[after]": {after, after}}, param: "page[after]", typ: TypeInvalidParameterValue},
		{name: "bad after", q: url.Values{"page[after]": {"x"}}, param: "page[after]", typ: TypeInvalidParameterValue},
		{name: "range of two sorts", q: url.Values{"page[after]": {after}, "page[before]": {other}}, param: "page[before]", typ: TypeInvalidParameterValue},
		{name: "with offset", q: url.Values{"page[size]": {"1"}, "page[offset]": {"0"}}, param: "page[offset]"},
		{name: "with limit", q: url.Values{"page[after]": {after}, "page[limit]": {"5"}}, param: "page[limit]"},
		{name: "with number", q: url.Values{"page[before]": {before}, "page[number]": {"2"}}, param: "page[number]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseCursor(tt.q, 25)
			if tt.param != "" {
				var e *Error
				if !errors.As(err, &e) || e.Parameter != tt.param || e.Type != tt.typ || e.MaxSize != tt.maxSize || e.Detail == "" {
					t.Fatalf("got %v (%#v), want an error on %s of type %q", p, err, tt.param, tt.typ)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.Size != tt.size || (p.After != nil) != tt.after || (p.Before != nil) != tt.before {
				t.Errorf("got size %d after %v before %v", p.Size, p.After, p.Before)
			}
		})
	}
	if !IsCursor(url.Values{"page[before]": {""}}) || IsCursor(url.Values{"page[offset]": {"1"}, "filter": {"x"}}) {
		t.Error("IsCursor tells the modes apart wrongly")
	}
}

func TestCursorLinksAndMeta(t *testing.T) {
	a := &Cursor{Sort: "created_at", Keys: []any{"2026-01-01T00:00:00Z", "a"}, param: "page[after]"}
	b := &Cursor{Sort: "created_at", Keys: []any{"2026-01-09T00:00:00Z", "b"}, param: "page[before]"}
	first := &Cursor{Sort: "created_at", Keys: []any{"2026-01-02T00:00:00Z", "f"}}
	last := &Cursor{Sort: "created_at", Keys: []any{"2026-01-03T00:00:00Z", "l"}}
	link := func(dir string, c *Cursor) string {
		s := base + "?filter=eq%28status%2Cpending%29&page%5Bsize%5D=2"
		if dir == "" {
			return s
		}
		return base + "?filter=eq%28status%2Cpending%29&" + url.QueryEscape(dir) + "=" + c.String() + "&page%5Bsize%5D=2"
	}
	q := url.Values{"filter": {"eq(status,pending)"}, "page[size]": {"2"}}
	with := func(extra ...string) url.Values {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		for i := 0; i < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	tests := []struct {
		name        string
		page        CursorPage
		first, last *Cursor
		more        bool
		prev, next  string // "" is null
		truncated   bool
	}{
		{name: "first page, more", page: CursorPage{Size: 2}, first: first, last: last, more: true, next: link("page[after]", last)},
		{name: "only page", page: CursorPage{Size: 2}, first: first, last: last},
		{name: "empty list", page: CursorPage{Size: 2}},
		{name: "after, more", page: CursorPage{Size: 2, After: a}, first: first, last: last, more: true,
			prev: link("page[before]", first), next: link("page[after]", last)},
		{name: "after, at the end", page: CursorPage{Size: 2, After: a}, first: first, last: last, prev: link("page[before]", first)},
		{name: "after, past the end", page: CursorPage{Size: 2, After: a}, prev: link("page[before]", a)},
		{name: "before, more", page: CursorPage{Size: 2, Before: b}, first: first, last: last, more: true,
			prev: link("page[before]", first), next: link("page[after]", last)},
		{name: "before, at the start", page: CursorPage{Size: 2, Before: b}, first: first, last: last, next: link("page[after]", last)},
		{name: "before, nothing before", page: CursorPage{Size: 2, Before: b}, next: link("", nil)},
		{name: "range, truncated", page: CursorPage{Size: 2, After: a, Before: b}, first: first, last: last, more: true,
			prev: link("page[before]", first), next: link("page[after]", last), truncated: true},
		{name: "range, whole", page: CursorPage{Size: 2, After: a, Before: b}, first: first, last: last,
			prev: link("page[before]", first), next: link("page[after]", last)},
		{name: "range, empty", page: CursorPage{Size: 2, After: a, Before: b}, prev: link("page[before]", a), next: link("page[after]", a)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var query url.Values
			switch {
			case tt.page.After != nil && tt.page.Before != nil:
				query = with("page[after]", a.String(), "page[before]", b.String())
			case tt.page.After != nil:
				query = with("page[after]", a.String())
			case tt.page.Before != nil:
				query = with("page[before]", b.String())
			default:
				query = with()
			}
			l := tt.page.Links(base, query, tt.first, tt.last, tt.more)
			str := func(p *string) string {
				if p == nil {
					return ""
				}
				return *p
			}
			if str(l.Prev) != tt.prev {
				t.Errorf("prev\n got %s\nwant %s", str(l.Prev), tt.prev)
			}
			if str(l.Next) != tt.next {
				t.Errorf("next\n got %s\nwant %s", str(l.Next), tt.next)
			}
			if l.First != link("", nil) || l.Self != withQuery(base, query) {
				t.Errorf("first %s self %s", l.First, l.Self)
			}
			if m := tt.page.Meta(tt.more); m.Size != 2 || m.RangeTruncated != tt.truncated {
				t.Errorf("meta %+v", m)
			}
		})
	}
}

// BenchmarkCursor is the cost of a cursor's round trip through a link: encoding it for
// the links of one page, and decoding it from the next request.
func BenchmarkCursor(b *testing.B) {
	c := &Cursor{Sort: "created_at", Keys: []any{time.Date(2026, 1, 1, 12, 0, 0, 123456000, time.UTC), "0f850c15-d643-480a-a2b4-9e3c26067178"}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeCursor("page[after]", c.String()); err != nil {
			b.Fatal(err)
		}
	}
}
