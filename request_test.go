package erasured_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/filters"
)

func ptr[T any](v T) *T { return &v }

// members is a body's members, as the document layer hands them on.
func members(t *testing.T, body string) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return m
}

// newRequest creates a request as a POST does: its attributes decoded, then completed.
func newRequest(t *testing.T, body string, now time.Time) *erasured.Request {
	t.Helper()
	in, err := erasured.Requests.Decode(members(t, body), erasured.Create)
	if err != nil {
		t.Fatalf("%s: %v", body, err)
	}
	return erasured.NewRequest("s1", in, now)
}

func TestNewRequestDefaults(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := newRequest(t, `{"request_id":"req-1","requested_by":"alice"}`, now)
	if r.RequestID != "req-1" || r.StoreID != "s1" || *r.RequestedBy != "alice" ||
		r.Status != erasured.RequestPending || r.Version != 1 ||
		!r.RequestedAt.Equal(now) || !r.CreatedAt.Equal(now) || !r.UpdatedAt.Equal(now) ||
		r.NoteID != nil || r.Metadata != nil || r.SimilarityScore != nil || r.Content != nil || r.ErasedAt != nil {
		t.Fatalf("got %+v", r)
	}
}

func TestNewRequestKeepsAttributes(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := newRequest(t, `{"request_id":"req-1","requested_by":"alice","status":"IN_PROGRESS",
		"note_id":"0F850C15-D643-480A-A2B4-9E3C26067178","requested_at":"2026-02-01T09:30:00.123456789+01:00",
		"content":"`+strings.Repeat("é", 65536)+`","metadata": {"n": 12345678901234567890, "tags": ["a"]},
		"similarity_score":0.25,"community_server_id":"cs","content":null}`, now)
	if r.Status != erasured.RequestInProgress {
		t.Errorf("status %q", r.Status)
	}
	if *r.NoteID != "0f850c15-d643-480a-a2b4-9e3c26067178" {
		t.Errorf("note_id %q, want lower case", *r.NoteID)
	}
	if want := time.Date(2026, 2, 1, 8, 30, 0, 123456000, time.UTC); !r.RequestedAt.Equal(want) || r.RequestedAt.Location() != time.UTC {
		t.Errorf("requested_at %v, want %v in UTC", r.RequestedAt, want)
	}
	if n, ok := r.Metadata["n"].(json.Number); !ok || n.String() != "12345678901234567890" {
		t.Errorf("metadata number %#v, want exactly as written", r.Metadata["n"])
	}
	if *r.SimilarityScore != 0.25 || *r.CommunityServerID != "cs" {
		t.Errorf("got %+v", r)
	}
	// The last content wins in encoding/json; the document layer refuses such a body first.
	if r.Content != nil {
		t.Errorf("content %v, want null", r.Content)
	}
}

func TestDecodeRequestRefuses(t *testing.T) {
	long := `"` + strings.Repeat("x", 256) + `"`
	cases := []struct {
		name   string
		extra  string // members besides a valid request_id and requested_by, which they may replace
		field  string
		create bool
	}{
		{"no request_id", `"request_id":null`, "request_id", true},
		{"empty request_id", `"request_id":""`, "request_id", true},
		{"long request_id", `"request_id":` + long, "request_id", true},
		{"slash in request_id", `"request_id":"a/b"`, "request_id", true},
		{"dot dot request_id", `"request_id":".."`, "request_id", true},
		{"newline in request_id", `"request_id":"a\nb"`, "request_id", true},
		{"tab in request_id", `"request_id":"a\tb"`, "request_id", true},
		{"NUL in request_id", `"request_id":"a\u0000b"`, "request_id", true},
		{"no requested_by", `"requested_by":null`, "requested_by", true},
		{"empty requested_by", `"requested_by":""`, "requested_by", true},
		{"long requested_by", `"requested_by":` + long, "requested_by", true},
		{"lower-case status", `"status":"pending"`, "status", true},
		{"empty status", `"status":""`, "status", true},
		{"null status", `"status":null`, "status", true},
		{"note_id not a uuid", `"note_id":"note-1"`, "note_id", true},
		{"note_id in braces", `"note_id":"{0f850c15-d643-480a-a2b4-9e3c26067178}"`, "note_id", true},
		{"metadata array", `"metadata":[1]`, "metadata", true},
		{"metadata string", `"metadata":"x"`, "metadata", true},
		{"metadata NUL", `"metadata":{"a":["\u0000"]}`, "metadata", true},
		{"metadata NUL in a name", `"metadata":{"a\u0000":1}`, "metadata", true},
		{"similarity a string", `"similarity_score":"0.5"`, "similarity_score", true},
		{"similarity out of range", `"similarity_score":1e400`, "similarity_score", true},
		{"long content", `"content":"` + strings.Repeat("x", 65537) + `"`, "content", true},
		{"NUL in content", `"content":"a\u0000b"`, "content", true},
		{"long community_server_id", `"community_server_id":` + long, "community_server_id", true},
		{"long platform_message_id", `"platform_message_id":` + long, "platform_message_id", true},
		{"long platform_channel_id", `"platform_channel_id":` + long, "platform_channel_id", true},
		{"long dataset_name", `"dataset_name":` + long, "dataset_name", true},
		{"long dataset_item_id", `"dataset_item_id":` + long, "dataset_item_id", true},
		{"requested_at year 0", `"requested_at":"0001-01-01T00:30:00+01:00"`, "requested_at", true},
		{"requested_at year 10000", `"requested_at":"9999-12-31T23:30:00-01:00"`, "requested_at", true},
		{"requested_at not RFC 3339", `"requested_at":"2026-01-01 00:00:00"`, "requested_at", true},
		{"read-only created_at", `"created_at":"2026-01-01T00:00:00Z"`, "created_at", true},
		{"unknown attribute", `"colour":"red"`, "colour", true},
		{"patch of content", `"content":"x"`, "content", false},
		{"patch of null status", `"status":null`, "status", false},
		{"patch of an unknown status", `"status":"DONE"`, "status", false},
		{"patch of a bad note with a good status", `"status":"FAILED","note_id":"x"`, "note_id", false},
	}
	for _, c := range cases {
		body, op := `{`+c.extra+`}`, erasured.Patch
		if c.create {
			m := members(t, `{"request_id":"req-1","requested_by":"alice"}`)
			for k, v := range members(t, body) {
				m[k] = v
			}
			b, _ := json.Marshal(m)
			body, op = string(b), erasured.Create
		}
		_, err := erasured.Requests.Decode(members(t, body), op)
		var e *erasured.Error
		if !errors.As(err, &e) || e.Code != erasured.EINVALID || e.Field != c.field {
			t.Errorf("%s: got %v, want EINVALID on %s", c.name, err, c.field)
		}
	}
}

func TestApplyPatch(t *testing.T) {
	created := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	later := created.Add(time.Hour)
	note := "0f850c15-d643-480a-a2b4-9e3c26067178"
	cases := []struct {
		name   string
		patch  string
		status erasured.RequestStatus
		noteID *string
	}{
		{"absent leaves alone", `{}`, erasured.RequestPending, &note},
		{"status", `{"status":"COMPLETED"}`, erasured.RequestCompleted, &note},
		{"null note clears", `{"note_id":null}`, erasured.RequestPending, nil},
		{"note normalised", `{"note_id":"AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE"}`, erasured.RequestPending, ptr("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")},
	}
	for _, c := range cases {
		r := newRequest(t, `{"request_id":"r","requested_by":"alice","note_id":"`+note+`"}`, created)
		in, err := erasured.Requests.Decode(members(t, c.patch), erasured.Patch)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		r.Apply(in, later)
		if r.Status != c.status || (r.NoteID == nil) != (c.noteID == nil) || (r.NoteID != nil && *r.NoteID != *c.noteID) || !r.UpdatedAt.Equal(later) {
			t.Errorf("%s: got status %s note %v updated %v", c.name, r.Status, r.NoteID, r.UpdatedAt)
		}
		if r.Version != 1 || *r.RequestedBy != "alice" {
			t.Errorf("%s: Apply changed more than the patch: %+v", c.name, r)
		}
	}
}

// The list attributes must parse as filters the way the contract writes them.
func TestRequestAttributesParse(t *testing.T) {
	for _, f := range []string{
		"in(status,PENDING,FAILED)",
		"eq(requested_by,alice):like(community_server_id,cs-*)",
		"eq(dataset_name,d):eq(note_id,0F850C15-D643-480A-A2B4-9E3C26067178)",
		"gt(requested_at,2026-01-01T00:00:00Z):le(created_at,2026-02-01T00:00:00Z)",
	} {
		if _, err := filters.Parse(f, erasured.Requests.Filters()); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, f := range []string{
		"eq(content,x)", "eq(status,pending)", "like(note_id,a*)", "eq(request_id,r)",
		"eq(requested_by,a\x00b)", "gt(requested_at,0001-01-01T00:30:00+01:00)",
	} {
		if _, err := filters.Parse(f, erasured.Requests.Filters()); err == nil {
			t.Errorf("%q: parsed, want an error", f)
		}
	}
}
