package erasured

import (
	"strconv"
	"time"
)

// Event is one entry of an erasure request's audit trail. Events are only ever appended.
type Event struct {
	ID               int64
	ErasureRequestID string
	StoreID          string
	CreatedAt        time.Time
	// Actor is the name of the API key that caused the change, or ServerActor.
	Actor string
	// OldStatus is nil on the event that creates the request.
	OldStatus *Status
	NewStatus Status
	// Report is what was reported, as it was reported (empty on creation).
	Report Report
}

// Events declares the erasure_event type: the entries of an erasure request's audit
// trail, which clients only read, through their request.
var Events = NewType("erasure_event",
	Getter(Attribute{Name: "id", Column: "id", Kind: String{}}, func(e *Event) any { return strconv.FormatInt(e.ID, 10) }),
	[]Field[Event]{
		Held(Attribute{Name: "created_at", Column: "created_at", Kind: Timestamp{}, Access: Read},
			func(e *Event) *time.Time { return &e.CreatedAt }),
		Held(Attribute{Name: "actor", Column: "actor", Kind: String{}, Access: Read},
			func(e *Event) *string { return &e.Actor }),
		Held(Attribute{Name: "old_status", Column: "old_status", Kind: statuses, Nullable: true, Access: Read},
			func(e *Event) **Status { return &e.OldStatus }),
		Held(Attribute{Name: "new_status", Column: "new_status", Kind: statuses, Access: Read},
			func(e *Event) *Status { return &e.NewStatus }),
		Getter(Attribute{Name: "report", Column: "report", Kind: Object{}, Access: Read}, func(e *Event) any {
			rep := e.Report
			if t := rep.CompletedAt.Value; t != nil {
				// The event keeps the instant as it was reported; it leaves in UTC, as every time does.
				utc := t.UTC()
				rep.CompletedAt.Value = &utc
			}
			return rep
		}),
	},
	nil)
