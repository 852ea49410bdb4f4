package jsonapi

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/erasured/erasured"
)

type status string

// TestAppendValueAsEncodingJSON: every value is written as encoding/json writes it (less
// its escaping of &, < and >), and reads back the same.
func TestAppendValueAsEncodingJSON(t *testing.T) {
	text := "a \"quoted\" <tag> & \\ \n\t\x01 é \u2028 😀"
	at := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	var none *string
	for _, v := range []any{
		nil, "", text, &text, none, at, &at, (*time.Time)(nil), time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		[]string{}, []string{"a", text}, []string(nil), status("IN_PROGRESS"),
		json.RawMessage(`{"kept":[1, 2]}`), map[string]any{"b": json.Number("12345678901234567890"), "a": []any{true, nil}},
		[]struct{ A string }{}, []struct{ A string }{{"x"}}, 0.1, 1e21, true, false, 0, -42, int64(1 << 62),
		map[string]any{}, map[string]any(nil), map[string]any{"total": 10000, "estimated": true, "z": nil, "a": &text, "m": map[string]any{"k": "v"}},
		map[string]any{"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9, "j": []string{"more than the stack holds"}},
		struct {
			Name string `json:"name"`
		}{"<n>"},
		// Pointers to all of these, as erasured.Type.Read yields the values held in fields.
		&none, new(*time.Time), ptr(&at), ptr([]string{"a"}), new([]string), ptr(status("CANCELLED")), new(*status),
		ptr(json.RawMessage(`[1, 2]`)), ptr([]struct{ A string }{{"x"}}), new(map[string]any), ptr(struct{ A *string }{ptr("<a>")}),
		// An Appender writes itself.
		&erasured.Initiator{Email: text, ID: "00000000-0000-0000-0000-000000000000", Name: "<n> & m", Type: "client-credentials-token"},
		(*erasured.Initiator)(nil),
	} {
		got, err := AppendValue(nil, v)
		if err != nil {
			t.Fatalf("%#v: %v", v, err)
		}
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			t.Fatal(err)
		}
		// encoding/json escapes U+2028 for JavaScript; both are JSON for the same text.
		wantText := bytes.ReplaceAll(bytes.TrimSuffix(want.Bytes(), []byte("\n")), []byte(`\u2028`), []byte("\u2028"))
		if !bytes.Equal(got, wantText) {
			t.Errorf("%#v:\n got %s\nwant %s", v, got, wantText)
		}
	}
}

func TestWriteDocument(t *testing.T) {
	attrs := func(yield func(string, any) bool) {
		_ = yield("b", "x") && yield("a", []string{"y"}) && yield("c", nil)
	}
	doc := &Document{
		Data: []*Object{
			{Type: "t", ID: "1", attributes: attrs, fields: Fieldset{"a": true, "c": true}, self: "http://h/t/1",
				Relationships: []Relationship{{Name: "events", Related: "http://h/t/1/events", Data: []Identifier{}}}},
			NewObject("t", "2", attrs, nil, ""),
		},
		Included: []*Object{},
		Meta:     map[string]any{"page": map[string]int{"size": 2}},
		Links:    Links{Base: "http://h", Self: "http://h/t?a=<&>"},
	}
	b, err := appendDocument(nil, doc)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"jsonapi":{"version":"1.1"},"data":[` +
		`{"type":"t","id":"1","attributes":{"a":["y"],"c":null},"relationships":{"events":{"links":{"related":"http://h/t/1/events"},"data":[]}},"links":{"self":"http://h/t/1"}},` +
		`{"type":"t","id":"2","attributes":{"b":"x","a":["y"],"c":null}}],` +
		`"included":[],"meta":{"page":{"size":2}},"links":{"describedby":"http://h/openapi.json","self":"http://h/t?a=<&>"}}`
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
	var back map[string]any
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(back)); !slices.Equal(got, []string{"data", "included", "jsonapi", "links", "meta"}) {
		t.Errorf("members %v", got)
	}
}

// FuzzAppendValue: any text is written as a JSON string that reads back as the text
// (invalid UTF-8 as U+FFFD, as encoding/json does).
func FuzzAppendValue(f *testing.F) {
	for _, s := range []string{"", "a", "\x00\x1f\"\\", "é\u2028😀", "\xff\xfe", "<&>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := AppendValue(nil, s)
		if err != nil {
			t.Fatal(err)
		}
		var back string
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%q wrote %s: %v", s, b, err)
		}
		if want := string(bytes.ToValidUTF8([]byte(s), []byte("\uFFFD"))); back != want && utf8.ValidString(s) {
			t.Fatalf("%q read back as %q", s, back)
		}
		if want, _ := json.Marshal(s); !reflect.DeepEqual(mustString(t, want), back) {
			t.Fatalf("%q: encoding/json reads %s, this %q", s, want, back)
		}
	})
}

func ptr[V any](v V) *V { return &v }

func mustString(t *testing.T, b []byte) string {
	t.Helper()
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}
