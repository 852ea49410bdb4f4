package erasured

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Deletion states, in the words of the Open Podcast API.
const (
	DeletionPending = "PENDING"
	DeletionSuccess = "SUCCESS"
	DeletionFailure = "FAILURE"
)

// Deletion messages other than a failure's reason.
const (
	DeletionPendingMessage = "Deletion is pending"
	DeletionSuccessMessage = "Request deleted successfully"
)

// maxDeletionMessage bounds a failure reason, in characters: it is shown to clients
// and need only say what went wrong.
const maxDeletionMessage = 500

// Deletion is the background removal of one request. It holds no personal data, so it
// outlives the request and is what tells a client the request is gone.
type Deletion struct {
	ID        int64 // assigned by storage
	StoreID   string
	RequestID string
	Status    string // DeletionPending, DeletionSuccess or DeletionFailure
	Message   string
	CreatedAt time.Time
	UpdatedAt time.Time
	// Initiator is who asked for it: the initiator of the deletion's log entry.
	Initiator Initiator
}

// Deletions declares the deletions type: a deletion's status, as a JSON:API resource whose
// id is the deletion_id.
var Deletions = NewType("deletions",
	Getter(Attribute{Name: "id", Column: "id", Kind: String{}}, func(d *Deletion) any { return strconv.FormatInt(d.ID, 10) }),
	[]Field[Deletion]{
		Held(Attribute{Name: "status", Column: "status", Kind: Enum{DeletionPending, DeletionSuccess, DeletionFailure}, Access: Read},
			func(d *Deletion) *string { return &d.Status }),
		Held(Attribute{Name: "message", Column: "message", Kind: String{Max: maxDeletionMessage}, Access: Read},
			func(d *Deletion) *string { return &d.Message }),
	},
	nil)

// NewDeletion returns a pending deletion of request requestID in store storeID.
func NewDeletion(storeID, requestID string, now time.Time) *Deletion {
	return &Deletion{
		StoreID:   storeID,
		RequestID: requestID,
		Status:    DeletionPending,
		Message:   DeletionPendingMessage,
		CreatedAt: now,
		UpdatedAt: now,
	}
}

// Succeed marks d as done.
func (d *Deletion) Succeed(now time.Time) {
	d.Status, d.Message, d.UpdatedAt = DeletionSuccess, DeletionSuccessMessage, now
}

// Fail marks d as failed for reason, which becomes its message, shortened to what a
// client needs to read, as valid UTF-8 that both stores accept. The reason must not
// carry personal data.
func (d *Deletion) Fail(reason string, now time.Time) {
	reason = strings.ToValidUTF8(reason, "\uFFFD")
	if utf8.RuneCountInString(reason) > maxDeletionMessage {
		reason = string([]rune(reason)[:maxDeletionMessage-1]) + "…"
	}
	d.Status, d.Message, d.UpdatedAt = DeletionFailure, reason, now
}
