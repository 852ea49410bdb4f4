package erasured

import (
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/erasured/erasured/filters"
)

// Status is the stored workflow state of an erasure request.
type Status string

const (
	StatusPending    Status = "pending"
	StatusInProgress Status = "in_progress"
	StatusCompleted  Status = "completed"
	// StatusCancelled is final, as completed is: the request was withdrawn before it
	// completed, and nobody is to erase anything more for it.
	StatusCancelled Status = "cancelled"
)

// Final reports whether the request can no longer change: completed or cancelled.
func (s Status) Final() bool { return s == StatusCompleted || s == StatusCancelled }

// statuses is the kind of a status as a report sets it: the stored vocabulary only. The
// Elastic Path view is derived from the status and the failures (SUCCESS and FAILURE
// are both completed), so it cannot say what to store.
var statuses = Enum{string(StatusPending), string(StatusInProgress), string(StatusCompleted), string(StatusCancelled)}

// The Elastic Path view of the status: derived from the stored status and the failures.
const (
	ViewCreated    = "CREATED"
	ViewInProgress = "IN_PROGRESS"
	ViewSuccess    = "SUCCESS"
	ViewFailure    = "FAILURE"
	ViewCancelled  = "CANCELLED"
)

// ResourceTypes are the resource types whose personal data can be erased: Elastic
// Path's, and erasured's own user (a person, as a request's requested_by names them) and
// requests (any entry of a person's set erases the whole set).
var ResourceTypes = []string{
	"customer", "account", "account-member", "account-membership",
	"address", "user-authentication-info", "user-authentication-oidc-profile-info",
	"user-authentication-password-profile-info", "order", ResourceUser, ResourceRequests,
}

// ErasureRequest asks for the personal data of one resource to be erased everywhere.
type ErasureRequest struct {
	ID              string
	StoreID         string
	ResourceType    string
	ResourceID      string
	Reason          *string
	Status          Status
	ServicesErased  []string
	PartialFailures []PartialFailure
	Initiator       Initiator
	CreatedAt       time.Time
	UpdatedAt       time.Time
	CompletedAt     *time.Time
	DueAt           time.Time
	// ServicesRequired are the services besides this server that must each report
	// before the request completes: the store's registry (or the server's
	// --erasure-services) when it was filed. It is nil for a request filed before
	// requests recorded them; such a request waits for the server's --erasure-services.
	ServicesRequired []string
	// ExtensionReason says why DueAt was extended; OriginalDueAt is DueAt before the
	// extension. Both are nil until the one extension a request may have.
	ExtensionReason *string
	OriginalDueAt   *time.Time
	// OverdueAt is when the request was first found past DueAt and not finished, which
	// is announced once (see Overdue); nil until then.
	OverdueAt *time.Time
	// Version grows by one with every change; it is the ETag.
	Version int64
}

// PartialFailure is a service's report that it could not erase its part.
type PartialFailure struct {
	Service string `json:"service"`
	Message string `json:"message"`
}

// Initiator is the identity of the API key that filed the request, in Elastic Path's words.
type Initiator struct {
	Email   string `json:"access-token-email"`
	ID      string `json:"access-token-id"`
	Name    string `json:"access-token-name"`
	StoreID string `json:"access-token-store-id"`
	Type    string `json:"access-token-type"`
}

// AppendJSON writes i as encoding/json writes it, its strings quoted as the documents
// quote every other: an initiator is on every erasure request a document carries, and
// encoding/json's reflection was most of the cost of writing one.
func (i *Initiator) AppendJSON(b []byte) []byte {
	if i == nil {
		return append(b, "null"...)
	}
	for _, m := range [...]struct{ name, v string }{
		{`{"access-token-email":`, i.Email}, {`,"access-token-id":`, i.ID}, {`,"access-token-name":`, i.Name},
		{`,"access-token-store-id":`, i.StoreID}, {`,"access-token-type":`, i.Type},
	} {
		b = append(b, m.name...)
		b, _ = jsontext.AppendQuote(b, m.v)
	}
	return append(b, '}')
}

// ErasureRequests declares the erasure_request type. A client creates one with
// resource_type, resource_id and reason; services change one only by reporting (the
// attributes that allow Patch, which a Report carries: see ReportOf and Apply). status
// reads as the Elastic Path view, is filtered in either vocabulary, and is reported in
// the stored one.
var ErasureRequests = NewType("erasure_request",
	Getter(Attribute{Name: "id", Column: "id", Kind: UUID{}}, func(r *ErasureRequest) any { return r.ID }),
	[]Field[ErasureRequest]{
		Ref(Attribute{Name: "resource_type", Column: "resource_type", Kind: Enum(ResourceTypes),
			Access: Read | Create | Required | Sortable, Filter: FilterExact},
			func(r *ErasureRequest) *string { return &r.ResourceType }),
		Ref(Attribute{Name: "resource_id", Column: "resource_id", Kind: String{Min: 1, Max: 255},
			Access: Read | Create | Required | Sortable, Filter: FilterText},
			func(r *ErasureRequest) *string { return &r.ResourceID }),
		Ref(Attribute{Name: "reason", Column: "reason", Kind: String{Max: 1000}, Nullable: true, Access: Read | Create},
			func(r *ErasureRequest) **string { return &r.Reason }),
		// The view's two attributes are held in the table of views: read as pointers into
		// it, they cost no allocation.
		Held(Attribute{Name: "status", Column: "status", Kind: statuses, Access: Read | Patch | Sortable,
			Filter: FilterExact, FilterKind: append(append(Enum{}, statuses...), ViewCreated, ViewInProgress, ViewSuccess, ViewFailure, ViewCancelled)},
			func(r *ErasureRequest) *string { return &r.view().status }),
		Held(Attribute{Name: "status_description", Kind: String{}, Access: Read},
			func(r *ErasureRequest) *string { return &r.view().description }),
		Held(Attribute{Name: "initiator", Column: "initiator", Kind: Object{}, Access: Read},
			func(r *ErasureRequest) *Initiator { return &r.Initiator }),
		Held(Attribute{Name: "services_erased", Column: "services_erased", Kind: servicesKind, Access: Read | Patch},
			func(r *ErasureRequest) *[]string { return &r.ServicesErased }),
		Held(Attribute{Name: "partial_failures", Column: "partial_failures", Kind: failuresKind, Access: Read | Patch},
			func(r *ErasureRequest) *[]PartialFailure { return &r.PartialFailures }),
		Held(Attribute{Name: "created_at", Column: "created_at", Kind: Timestamp{}, Access: Read | Sortable, Filter: FilterOrdered},
			func(r *ErasureRequest) *time.Time { return &r.CreatedAt }),
		Held(Attribute{Name: "updated_at", Column: "updated_at", Kind: Timestamp{}, Access: Read | Sortable, Filter: FilterOrdered},
			func(r *ErasureRequest) *time.Time { return &r.UpdatedAt }),
		Held(Attribute{Name: "completed_at", Column: "completed_at", Kind: Timestamp{}, Nullable: true,
			Access: Read | Patch | Sortable, Filter: FilterOrdered},
			func(r *ErasureRequest) **time.Time { return &r.CompletedAt }),
		Held(Attribute{Name: "due_at", Column: "due_at", Kind: Timestamp{}, Access: Read | Patch | Sortable, Filter: FilterOrdered},
			func(r *ErasureRequest) *time.Time { return &r.DueAt }),
		// A request filed before services_required was recorded has none (nil): it reads
		// as the empty list.
		Held(Attribute{Name: "services_required", Column: "services_required", Kind: servicesKind, Access: Read},
			func(r *ErasureRequest) *[]string {
				if r.ServicesRequired == nil {
					return &[]string{}
				}
				return &r.ServicesRequired
			}),
		Held(Attribute{Name: "extension_reason", Column: "extension_reason", Kind: String{Min: 1, Max: maxExtensionReason},
			Nullable: true, Access: Read | Patch},
			func(r *ErasureRequest) **string { return &r.ExtensionReason }),
		// Filters only: a service's queue (the requests still waiting for its report,
		// kept by storage in a table of their own, erasure_awaiting) and the requests
		// past due_at and not finished, which storage reads from due_at and status.
		Getter(Attribute{Name: "awaiting_service", Column: "erasure_awaiting.service", Kind: serviceName, Filter: FilterExact},
			func(r *ErasureRequest) any { return r.Awaiting(r.ServicesRequired) }),
		Getter(Attribute{Name: "overdue", Column: "due_at", Kind: Bool{}, Filter: []filters.Op{filters.Eq}},
			func(r *ErasureRequest) any { return r.Overdue(Now()) }),
	},
	[]Sort{{Attribute: "created_at"}},
	"events")

// view is a status and status_description of the Elastic Path view.
type view struct{ status, description string }

// views are the views a request can have.
var views = [...]view{
	{ViewCreated, "The erasure request successfully created"},
	{ViewInProgress, "The erasure request is being processed"},
	{ViewCancelled, "The erasure request was cancelled before it completed"},
	{ViewSuccess, "The erasure request is successfully processed"},
	{ViewFailure, "There was an error processing your request, you can retry it or report it using the id"},
}

func (r *ErasureRequest) view() *view {
	switch {
	case r.Status == StatusPending:
		return &views[0]
	case r.Status == StatusInProgress:
		return &views[1]
	case r.Status == StatusCancelled:
		return &views[2]
	case len(r.PartialFailures) == 0:
		return &views[3]
	default:
		return &views[4]
	}
}

// View returns the Elastic Path status and status_description of the request.
func (r *ErasureRequest) View() (status, description string) {
	v := r.view()
	return v.status, v.description
}

// NewErasureRequest returns the erasure request that key files with in, the values
// ErasureRequests.Decode read for Create, and fills in what the server decides. Storage
// fills in ServicesRequired, from the store's registry, as it stores the request.
func NewErasureRequest(key *Key, in Values, now time.Time, due time.Duration) *ErasureRequest {
	r := &ErasureRequest{
		ID:               NewID(),
		StoreID:          key.StoreID,
		Status:           StatusPending,
		ServicesErased:   []string{},
		PartialFailures:  []PartialFailure{},
		ServicesRequired: []string{},
		Initiator:        key.Initiator(),
		CreatedAt:        now,
		UpdatedAt:        now,
		DueAt:            now.Add(due),
		Version:          1,
	}
	ErasureRequests.Set(r, in)
	return r
}
