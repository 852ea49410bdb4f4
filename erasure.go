package erasured

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/erasured/erasured/filters"
)

// Status is the stored workflow state of an erasure request.
type Status string

const (
	StatusPending    Status = "pending"
	StatusInProgress Status = "in_progress"
	StatusCompleted  Status = "completed"
)

// Valid reports whether s is one of the stored states.
func (s Status) Valid() bool {
	return s == StatusPending || s == StatusInProgress || s == StatusCompleted
}

// ResourceTypes are the Elastic Path resource types whose personal data can be erased.
var ResourceTypes = []string{
	"customer", "account", "account-member", "account-membership",
	"address", "user-authentication-info", "order", "user",
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

// ErasureRequestAttributes are the attributes a client may filter and sort erasure requests on.
// status takes either vocabulary: the stored one or the Elastic Path view.
var ErasureRequestAttributes = []filters.Attribute{
	{Name: "resource_type", Kind: filters.Enum, Values: ResourceTypes},
	{Name: "resource_id", Kind: filters.String},
	{Name: "status", Kind: filters.Enum, Values: []string{
		string(StatusPending), string(StatusInProgress), string(StatusCompleted),
		ViewCreated, ViewInProgress, ViewSuccess, ViewFailure,
	}},
	{Name: "created_at", Kind: filters.Time},
	{Name: "updated_at", Kind: filters.Time},
	{Name: "completed_at", Kind: filters.Time},
	{Name: "due_at", Kind: filters.Time},
}

// The Elastic Path view of the status: derived from the stored status and the failures.
const (
	ViewCreated    = "CREATED"
	ViewInProgress = "IN_PROGRESS"
	ViewSuccess    = "SUCCESS"
	ViewFailure    = "FAILURE"
)

// View returns the Elastic Path status and status_description of the request.
func (r *ErasureRequest) View() (status, description string) {
	switch {
	case r.Status == StatusPending:
		return ViewCreated, "The erasure request successfully created"
	case r.Status == StatusInProgress:
		return ViewInProgress, "The erasure request is being processed"
	case len(r.PartialFailures) == 0:
		return ViewSuccess, "The erasure request is successfully processed"
	default:
		return ViewFailure, "There was an error processing your request, you can retry it or report it using the id"
	}
}

// NewErasureRequest validates a client's new request and fills in what the server decides.
// It returns EINVALID naming the attribute at fault.
func NewErasureRequest(key *Key, resourceType, resourceID string, reason *string, now time.Time, due time.Duration) (*ErasureRequest, error) {
	if !slices.Contains(ResourceTypes, resourceType) {
		return nil, FieldErrorf("resource_type", "resource_type must be one of %s", strings.Join(ResourceTypes, ", "))
	}
	if n := utf8.RuneCountInString(resourceID); n < 1 || n > 255 || !utf8.ValidString(resourceID) {
		return nil, FieldErrorf("resource_id", "resource_id must be 1 to 255 characters")
	}
	if reason != nil && (utf8.RuneCountInString(*reason) > 1000 || !utf8.ValidString(*reason)) {
		return nil, FieldErrorf("reason", "reason must be at most 1000 characters")
	}
	return &ErasureRequest{
		ID:              NewID(),
		StoreID:         key.StoreID,
		ResourceType:    resourceType,
		ResourceID:      resourceID,
		Reason:          reason,
		Status:          StatusPending,
		ServicesErased:  []string{},
		PartialFailures: []PartialFailure{},
		Initiator:       key.Initiator(),
		CreatedAt:       now,
		UpdatedAt:       now,
		DueAt:           now.Add(due),
		Version:         1,
	}, nil
}
