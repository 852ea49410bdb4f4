package erasured

import (
	"encoding/json"
	"errors"
	"strings"
	"time"
	"unicode"
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
// (see Requests) to null.
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

// Limits on the length of a request's text attributes, in characters.
const (
	maxRequestText    = 255
	maxRequestContent = 65536
)

var requestText = String{Max: maxRequestText}

// Requests declares the requests type. Its id is the request_id a client chooses. A PATCH
// may change only status and note_id, which are not personal, so an erased request can
// still be patched.
var Requests = NewType("requests",
	Getter(Attribute{Name: "id", Column: "request_id", Kind: requestID{}}, func(r *Request) any { return r.RequestID }),
	[]Field[Request]{
		Ref(Attribute{Name: "request_id", Column: "request_id", Kind: requestID{}, Access: Read | Create | Required},
			func(r *Request) *string { return &r.RequestID }),
		Ref(Attribute{Name: "requested_by", Column: "requested_by", Kind: String{Min: 1, Max: maxRequestText}, Nullable: true,
			Access: Read | Create | Required | Sortable | Personal, Filter: FilterText},
			func(r *Request) **string { return &r.RequestedBy }),
		Ref(Attribute{Name: "status", Column: "status", Kind: Enum(RequestStatuses),
			Access: Read | Create | Patch | Sortable, Filter: FilterExact},
			func(r *Request) *RequestStatus { return &r.Status }),
		Ref(Attribute{Name: "note_id", Column: "note_id", Kind: UUID{}, Nullable: true,
			Access: Read | Create | Patch | Sortable, Filter: FilterExact},
			func(r *Request) **string { return &r.NoteID }),
		Ref(Attribute{Name: "community_server_id", Column: "community_server_id", Kind: requestText, Nullable: true,
			Access: Read | Create | Sortable, Filter: FilterText},
			func(r *Request) **string { return &r.CommunityServerID }),
		Ref(Attribute{Name: "requested_at", Column: "requested_at", Kind: Timestamp{},
			Access: Read | Create | Sortable, Filter: FilterOrdered},
			func(r *Request) *time.Time { return &r.RequestedAt }),
		Ref(Attribute{Name: "created_at", Column: "created_at", Kind: Timestamp{}, Access: Read | Sortable, Filter: FilterOrdered},
			func(r *Request) *time.Time { return &r.CreatedAt }),
		Ref(Attribute{Name: "updated_at", Column: "updated_at", Kind: Timestamp{}, Access: Read},
			func(r *Request) *time.Time { return &r.UpdatedAt }),
		Ref(Attribute{Name: "content", Column: "content", Kind: String{Max: maxRequestContent}, Nullable: true,
			Access: Read | Create | Personal},
			func(r *Request) **string { return &r.Content }),
		Ref(Attribute{Name: "platform_message_id", Column: "platform_message_id", Kind: requestText, Nullable: true,
			Access: Read | Create | Personal},
			func(r *Request) **string { return &r.PlatformMessageID }),
		Ref(Attribute{Name: "platform_channel_id", Column: "platform_channel_id", Kind: requestText, Nullable: true,
			Access: Read | Create | Personal},
			func(r *Request) **string { return &r.PlatformChannelID }),
		Ref(Attribute{Name: "metadata", Column: "metadata", Kind: Object{}, Nullable: true, Access: Read | Create | Personal},
			func(r *Request) *map[string]any { return &r.Metadata }),
		Ref(Attribute{Name: "similarity_score", Column: "similarity_score", Kind: Number{}, Nullable: true, Access: Read | Create},
			func(r *Request) **float64 { return &r.SimilarityScore }),
		Ref(Attribute{Name: "dataset_name", Column: "dataset_name", Kind: requestText, Nullable: true,
			Access: Read | Create | Sortable, Filter: FilterText},
			func(r *Request) **string { return &r.DatasetName }),
		Ref(Attribute{Name: "dataset_item_id", Column: "dataset_item_id", Kind: requestText, Nullable: true,
			Access: Read | Create},
			func(r *Request) **string { return &r.DatasetItemID }),
	},
	[]Sort{{Attribute: "requested_at", Desc: true}})

// requestID is the kind of a request_id, which is also the resource's id in URLs: text
// of 1 to 255 characters, printable, without "/" (a router would split the path at it)
// and not "." or ".." (a router would clean those away), so that every stored request
// can be addressed. Its values are strings. An id in a URL or a cursor is read as any
// text: one that breaks these rules names no request.
type requestID struct{}

func (requestID) Decode(raw json.RawMessage) (any, error) {
	v, err := String{Min: 1, Max: maxRequestText}.Decode(raw)
	if err != nil {
		return nil, err
	}
	id := v.(string)
	if id == "." || id == ".." || strings.Contains(id, "/") {
		return nil, errors.New(`must not contain "/" nor be "." or ".."`)
	}
	if strings.IndexFunc(id, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0 {
		return nil, errors.New("must be printable characters (no control characters or whitespace other than space)")
	}
	return id, nil
}

func (requestID) Parse(text string) (any, error) { return String{}.Parse(text) }

// NewRequest returns the request that a client creates in store storeID with in, the
// values Requests.Decode read for Create, and fills in what the server decides: the
// default status and requested_at, the timestamps and version 1.
func NewRequest(storeID string, in Values, now time.Time) *Request {
	r := &Request{StoreID: storeID, Status: RequestPending, RequestedAt: now, CreatedAt: now, UpdatedAt: now, Version: 1}
	Requests.Set(r, in)
	return r
}

// Apply changes r as in, the values Requests.Decode read for Patch, say, and stamps
// UpdatedAt. The caller bumps Version when it stores r.
func (r *Request) Apply(in Values, now time.Time) {
	Requests.Set(r, in)
	r.UpdatedAt = now
}
