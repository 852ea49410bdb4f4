package erasured

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/erasured/erasured/filters"
)

// RequestStatus is the state of an Open Notes request.
type RequestStatus string

const (
	RequestPending    RequestStatus = "PENDING"
	RequestInProgress RequestStatus = "IN_PROGRESS"
	RequestCompleted  RequestStatus = "COMPLETED"
	RequestFailed     RequestStatus = "FAILED"
)

// RequestStatuses lists every request status, in the order messages present them.
var RequestStatuses = []string{
	string(RequestPending), string(RequestInProgress), string(RequestCompleted), string(RequestFailed),
}

// Request is an Open Notes request: content that someone submitted for a note.
//
// Optional attributes are pointers (a nil map for Metadata): JSON:API tells an absent
// value (null) apart from an empty one, and an erasure request turns the personal ones
// (RequestedBy, Content, PlatformMessageID, PlatformChannelID, Metadata) to null.
type Request struct {
	RequestID         string
	StoreID           string
	RequestedBy       *string // nil once an erasure request erased it
	Status            RequestStatus
	NoteID            *string // a lower-case UUID
	CommunityServerID *string
	RequestedAt       time.Time
	CreatedAt         time.Time
	UpdatedAt         time.Time
	Content           *string
	PlatformMessageID *string
	PlatformChannelID *string
	// Metadata is the client's JSON object; its numbers are json.Number, so that they
	// read back exactly as they were written.
	Metadata        map[string]any
	SimilarityScore *float64
	DatasetName     *string
	DatasetItemID   *string
	// ErasedAt is when an erasure request removed the personal attributes.
	ErasedAt *time.Time
	// Version grows by one with every change; it is the ETag.
	Version int64
}

// RequestInput is what a client sends to create a request. Nil pointers are absent (or
// null) attributes; RequestID and RequestedBy are required, so empty means missing.
type RequestInput struct {
	RequestID         string
	RequestedBy       string
	Status            *string // nil: PENDING
	NoteID            *string
	CommunityServerID *string
	RequestedAt       *time.Time // nil: now
	Content           *string
	PlatformMessageID *string
	PlatformChannelID *string
	Metadata          json.RawMessage // nil or JSON null: none
	SimilarityScore   *float64
	DatasetName       *string
	DatasetItemID     *string
}

// Limits on the length of a request's text attributes, in characters.
const (
	maxRequestText    = 255
	maxRequestContent = 65536
)

// NewRequest validates a client's new request in store storeID and fills in what the
// server decides: the default status and requested_at, the timestamps and version 1.
// It returns EINVALID naming the attribute at fault, as the client wrote it.
func NewRequest(storeID string, in RequestInput, now time.Time) (*Request, error) {
	if err := checkRequestID(in.RequestID); err != nil {
		return nil, err
	}
	if in.RequestedBy == "" {
		return nil, FieldErrorf("requested_by", "requested_by is required")
	}
	if err := checkText("requested_by", in.RequestedBy, maxRequestText); err != nil {
		return nil, err
	}
	status := RequestPending
	if in.Status != nil {
		s, err := parseRequestStatus(*in.Status)
		if err != nil {
			return nil, err
		}
		status = s
	}
	noteID, err := parseNoteID(in.NoteID)
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		v    *string
		max  int
	}{
		{"community_server_id", in.CommunityServerID, maxRequestText},
		{"content", in.Content, maxRequestContent},
		{"platform_message_id", in.PlatformMessageID, maxRequestText},
		{"platform_channel_id", in.PlatformChannelID, maxRequestText},
		{"dataset_name", in.DatasetName, maxRequestText},
		{"dataset_item_id", in.DatasetItemID, maxRequestText},
	} {
		if f.v == nil {
			continue
		}
		if err := checkText(f.name, *f.v, f.max); err != nil {
			return nil, err
		}
	}
	metadata, err := parseMetadata(in.Metadata)
	if err != nil {
		return nil, err
	}
	if s := in.SimilarityScore; s != nil && (math.IsNaN(*s) || math.IsInf(*s, 0)) {
		return nil, FieldErrorf("similarity_score", "similarity_score must be a finite number or null")
	}
	requestedAt := now
	if in.RequestedAt != nil {
		// Stored to the microsecond, the precision of both stores, so it reads back as written.
		requestedAt = in.RequestedAt.UTC().Truncate(time.Microsecond)
		// Years outside 1..9999 have no RFC 3339 form and no SQLite column form.
		if y := requestedAt.Year(); y < 1 || y > 9999 {
			return nil, FieldErrorf("requested_at", "requested_at must be between years 0001 and 9999 in UTC")
		}
	}
	return &Request{
		RequestID:         in.RequestID,
		StoreID:           storeID,
		RequestedBy:       &in.RequestedBy,
		Status:            status,
		NoteID:            noteID,
		CommunityServerID: in.CommunityServerID,
		RequestedAt:       requestedAt,
		CreatedAt:         now,
		UpdatedAt:         now,
		Content:           in.Content,
		PlatformMessageID: in.PlatformMessageID,
		PlatformChannelID: in.PlatformChannelID,
		Metadata:          metadata,
		SimilarityScore:   in.SimilarityScore,
		DatasetName:       in.DatasetName,
		DatasetItemID:     in.DatasetItemID,
		Version:           1,
	}, nil
}

// checkRequestID checks a request_id, which is also the resource's id in URLs: printable
// text without "/" (a router would split the path at it) that is not "." or ".." (a
// router would clean those away), so that every stored request can be addressed.
func checkRequestID(id string) error {
	if id == "" {
		return FieldErrorf("request_id", "request_id is required")
	}
	if err := checkText("request_id", id, maxRequestText); err != nil {
		return err
	}
	if id == "." || id == ".." || strings.Contains(id, "/") {
		return FieldErrorf("request_id", `request_id must not contain "/" nor be "." or ".."`)
	}
	if strings.IndexFunc(id, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return FieldErrorf("request_id", "request_id must be printable characters (no control characters or whitespace other than space)")
	}
	return nil
}

// checkText checks that s is valid UTF-8 of at most max characters without NUL, which
// PostgreSQL cannot store in text.
func checkText(field, s string, max int) error {
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return FieldErrorf(field, "%s must be valid UTF-8 text without NUL characters", field)
	}
	if utf8.RuneCountInString(s) > max {
		return FieldErrorf(field, "%s must be at most %d characters", field, max)
	}
	return nil
}

func parseRequestStatus(s string) (RequestStatus, error) {
	if !slices.Contains(RequestStatuses, s) {
		return "", FieldErrorf("status", "status must be one of %s", strings.Join(RequestStatuses, ", "))
	}
	return RequestStatus(s), nil
}

// parseNoteID accepts the canonical 8-4-4-4-12 form only (uuid.Parse alone would also
// take braces and urn:uuid:) and returns it in lower case, as PostgreSQL writes a uuid.
func parseNoteID(s *string) (*string, error) {
	if s == nil {
		return nil, nil
	}
	u, err := uuid.Parse(*s)
	if err != nil || len(*s) != 36 {
		return nil, FieldErrorf("note_id", "note_id must be a UUID (8-4-4-4-12 hex digits) or null")
	}
	v := u.String()
	return &v, nil
}

// parseMetadata decodes a JSON object, keeping numbers as written (json.Number). JSON
// null is no metadata.
func parseMetadata(raw json.RawMessage) (map[string]any, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if raw[0] != '{' || dec.Decode(&m) != nil || dec.More() {
		return nil, FieldErrorf("metadata", "metadata must be a JSON object or null")
	}
	if hasNUL(m) {
		// PostgreSQL's jsonb cannot hold \u0000.
		return nil, FieldErrorf("metadata", `metadata must not contain the character \u0000`)
	}
	return m, nil
}

func hasNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.ContainsRune(v, 0)
	case map[string]any:
		for k, e := range v {
			if strings.ContainsRune(k, 0) || hasNUL(e) {
				return true
			}
		}
	case []any:
		return slices.ContainsFunc(v, hasNUL)
	}
	return false
}

// PatchField is one member of a PATCH body: absent (Set false), null (Set, Value nil)
// or a value.
type PatchField[T any] struct {
	Set   bool
	Value *T
}

// RequestPatch is the change a PATCH may make to a request: only status and note_id.
type RequestPatch struct {
	Status PatchField[string] // may not be null
	NoteID PatchField[string] // null clears it
}

// ApplyPatch changes r as p says and stamps UpdatedAt. It returns EINVALID naming the
// attribute at fault, and then leaves r as it was. Status and note_id are not personal,
// so an erased request can still be patched. The caller bumps Version when it stores r.
func (r *Request) ApplyPatch(p RequestPatch, now time.Time) error {
	status := r.Status
	if p.Status.Set {
		if p.Status.Value == nil {
			return FieldErrorf("status", "status may not be null; it is one of %s", strings.Join(RequestStatuses, ", "))
		}
		s, err := parseRequestStatus(*p.Status.Value)
		if err != nil {
			return err
		}
		status = s
	}
	noteID := r.NoteID
	if p.NoteID.Set {
		id, err := parseNoteID(p.NoteID.Value)
		if err != nil {
			return err
		}
		noteID = id
	}
	r.Status, r.NoteID, r.UpdatedAt = status, noteID, now
	return nil
}

// RequestAttributes are the attributes a client may filter and sort requests on.
var RequestAttributes = []filters.Attribute{
	{Name: "status", Kind: filters.Enum, Values: RequestStatuses},
	{Name: "requested_by", Kind: filters.String},
	{Name: "community_server_id", Kind: filters.String},
	{Name: "dataset_name", Kind: filters.String},
	{Name: "note_id", Kind: filters.UUID},
	{Name: "requested_at", Kind: filters.Time},
	{Name: "created_at", Kind: filters.Time},
}

// RequestDefaultSort is the order of a request list without sort: newest request first.
var RequestDefaultSort = []Sort{{Attribute: "requested_at", Desc: true}}
