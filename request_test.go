package erasured_test

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/filters"
)

func ptr[T any](v T) *T { return &v }

func TestNewRequestDefaults(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r, err := erasured.NewRequest("s1", erasured.RequestInput{RequestID: "req-1", RequestedBy: "alice"}, now)
	if err != nil {
		t.Fatal(err)
	}
	if r.RequestID != "req-1" || r.StoreID != "s1" || *r.RequestedBy != "alice" ||
		r.Status != erasured.RequestPending || r.Version != 1 ||
		!r.RequestedAt.Equal(now) || !r.CreatedAt.Equal(now) || !r.UpdatedAt.Equal(now) ||
		r.NoteID != nil || r.Metadata != nil || r.SimilarityScore != nil || r.Content != nil || r.ErasedAt != nil {
		t.Fatalf("got %+v", r)
	}
}

func TestNewRequestKeepsAttributes(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	at := time.Date(2026, 2, 1, 9, 30, 0, 123456789, time.FixedZone("CET", 3600))
	r, err := erasured.NewRequest("s1", erasured.RequestInput{
		RequestID:         "req-1",
		RequestedBy:       "alice",
		Status:            ptr("IN_PROGRESS"),
		NoteID:            ptr("0F850C15-D643-480A-A2B4-9E3C26067178"),
		RequestedAt:       &at,
		Content:           ptr(strings.Repeat("é", 65536)),
		Metadata:          json.RawMessage(` {"n": 12345678901234567890, "tags": ["a"]} `),
		SimilarityScore:   ptr(0.25),
		CommunityServerID: ptr("cs"),
	}, now)
	if err != nil {
		t.Fatal(err)
	}
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
}

func TestNewRequestInvalid(t *testing.T) {
	valid := func() erasured.RequestInput { return erasured.RequestInput{RequestID: "req-1", RequestedBy: "alice"} }
	long := strings.Repeat("x", 256)
	cases := []struct {
		name  string
		edit  func(*erasured.RequestInput)
		field string
	}{
		{"no request_id", func(in *erasured.RequestInput) { in.RequestID = "" }, "request_id"},
		{"long request_id", func(in *erasured.RequestInput) { in.RequestID = long }, "request_id"},
		{"slash in request_id", func(in *erasured.RequestInput) { in.RequestID = "a/b" }, "request_id"},
		{"dot dot request_id", func(in *erasured.RequestInput) { in.RequestID = ".." }, "request_id"},
		{"newline in request_id", func(in *erasured.RequestInput) { in.RequestID = "a\nb" }, "request_id"},
		{"tab in request_id", func(in *erasured.RequestInput) { in.RequestID = "a\tb" }, "request_id"},
		{"invalid UTF-8 request_id", func(in *erasured.RequestInput) { in.RequestID = "a\xffb" }, "request_id"},
		{"no requested_by", func(in *erasured.RequestInput) { in.RequestedBy = "" }, "requested_by"},
		{"long requested_by", func(in *erasured.RequestInput) { in.RequestedBy = long }, "requested_by"},
		{"lower-case status", func(in *erasured.RequestInput) { in.Status = ptr("pending") }, "status"},
		{"empty status", func(in *erasured.RequestInput) { in.Status = ptr("") }, "status"},
		{"note_id not a uuid", func(in *erasured.RequestInput) { in.NoteID = ptr("note-1") }, "note_id"},
		{"note_id in braces", func(in *erasured.RequestInput) { in.NoteID = ptr("{0f850c15-d643-480a-a2b4-9e3c26067178}") }, "note_id"},
		{"metadata array", func(in *erasured.RequestInput) { in.Metadata = json.RawMessage(`[1]`) }, "metadata"},
		{"metadata string", func(in *erasured.RequestInput) { in.Metadata = json.RawMessage(`"x"`) }, "metadata"},
		{"metadata NUL", func(in *erasured.RequestInput) { in.Metadata = json.RawMessage(`{"a":["\u0000"]}`) }, "metadata"},
		{"similarity NaN", func(in *erasured.RequestInput) { in.SimilarityScore = ptr(math.NaN()) }, "similarity_score"},
		{"similarity Inf", func(in *erasured.RequestInput) { in.SimilarityScore = ptr(math.Inf(-1)) }, "similarity_score"},
		{"long content", func(in *erasured.RequestInput) { in.Content = ptr(strings.Repeat("x", 65537)) }, "content"},
		{"NUL in content", func(in *erasured.RequestInput) { in.Content = ptr("a\x00b") }, "content"},
		{"long community_server_id", func(in *erasured.RequestInput) { in.CommunityServerID = &long }, "community_server_id"},
		{"long platform_message_id", func(in *erasured.RequestInput) { in.PlatformMessageID = &long }, "platform_message_id"},
		{"long platform_channel_id", func(in *erasured.RequestInput) { in.PlatformChannelID = &long }, "platform_channel_id"},
		{"long dataset_name", func(in *erasured.RequestInput) { in.DatasetName = &long }, "dataset_name"},
		{"long dataset_item_id", func(in *erasured.RequestInput) { in.DatasetItemID = &long }, "dataset_item_id"},
		{"requested_at year 0", func(in *erasured.RequestInput) {
			in.RequestedAt = ptr(time.Date(1, 1, 1, 0, 30, 0, 0, time.FixedZone("", 3600)))
		}, "requested_at"},
	}
	for _, c := range cases {
		in := valid()
		c.edit(&in)
		_, err := erasured.NewRequest("s1", in, time.Now())
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
	newRequest := func() *erasured.Request {
		r, err := erasured.NewRequest("s1", erasured.RequestInput{RequestID: "r", RequestedBy: "alice", NoteID: &note}, created)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	cases := []struct {
		name   string
		patch  erasured.RequestPatch
		status erasured.RequestStatus
		noteID *string
		field  string // of the expected error, if any
	}{
		{"absent leaves alone", erasured.RequestPatch{}, erasured.RequestPending, &note, ""},
		{"status", erasured.RequestPatch{Status: erasured.PatchField[string]{Set: true, Value: ptr("COMPLETED")}}, erasured.RequestCompleted, &note, ""},
		{"null note clears", erasured.RequestPatch{NoteID: erasured.PatchField[string]{Set: true}}, erasured.RequestPending, nil, ""},
		{"note normalised", erasured.RequestPatch{NoteID: erasured.PatchField[string]{Set: true, Value: ptr("AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE")}}, erasured.RequestPending, ptr("aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"), ""},
		{"null status", erasured.RequestPatch{Status: erasured.PatchField[string]{Set: true}}, "", nil, "status"},
		{"unknown status", erasured.RequestPatch{Status: erasured.PatchField[string]{Set: true, Value: ptr("DONE")}}, "", nil, "status"},
		{"bad note with good status", erasured.RequestPatch{
			Status: erasured.PatchField[string]{Set: true, Value: ptr("FAILED")},
			NoteID: erasured.PatchField[string]{Set: true, Value: ptr("x")},
		}, "", nil, "note_id"},
	}
	for _, c := range cases {
		r := newRequest()
		err := r.ApplyPatch(c.patch, later)
		if c.field != "" {
			var e *erasured.Error
			if !errors.As(err, &e) || e.Field != c.field || e.Code != erasured.EINVALID {
				t.Errorf("%s: got %v, want EINVALID on %s", c.name, err, c.field)
			}
			// A refused patch changes nothing, not even the part that was valid.
			if r.Status != erasured.RequestPending || *r.NoteID != note || !r.UpdatedAt.Equal(created) {
				t.Errorf("%s: refused patch changed the request: %+v", c.name, r)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if r.Status != c.status || (r.NoteID == nil) != (c.noteID == nil) || (r.NoteID != nil && *r.NoteID != *c.noteID) || !r.UpdatedAt.Equal(later) {
			t.Errorf("%s: got status %s note %v updated %v", c.name, r.Status, r.NoteID, r.UpdatedAt)
		}
		if r.Version != 1 {
			t.Errorf("%s: ApplyPatch changed the version to %d; storage owns it", c.name, r.Version)
		}
	}
}

func TestApplyPatchOnErasedRequest(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r, err := erasured.NewRequest("s1", erasured.RequestInput{RequestID: "r", RequestedBy: "alice"}, now)
	if err != nil {
		t.Fatal(err)
	}
	r.RequestedBy, r.ErasedAt = nil, &now
	if err := r.ApplyPatch(erasured.RequestPatch{Status: erasured.PatchField[string]{Set: true, Value: ptr("FAILED")}}, now); err != nil || r.Status != erasured.RequestFailed {
		t.Fatalf("patch of an erased request: %v, status %s", err, r.Status)
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
		if _, err := filters.Parse(f, erasured.RequestAttributes); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	for _, f := range []string{"eq(content,x)", "eq(status,pending)", "like(note_id,a*)", "eq(request_id,r)"} {
		if _, err := filters.Parse(f, erasured.RequestAttributes); err == nil {
			t.Errorf("%s: parsed, want an error", f)
		}
	}
}
