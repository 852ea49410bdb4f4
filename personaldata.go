package erasured

import (
	"time"

	"github.com/erasured/erasured/filters"
)

// This file is Elastic Path's Personal Data API as erasured holds it: the log of every
// change to personal data (LogEntries), the entries of a personal data set
// (RelatedDataEntries) and how long a store keeps its logs (TimesToLive). The personal
// data erasured holds are Open Notes requests; a person (a user) is the requested_by of
// theirs, and their set is that user and each of their requests.

// The event types of the log entries of requests.
const (
	RequestCreated = "requests.event.created"
	RequestUpdated = "requests.event.updated"
	RequestDeleted = "requests.event.deleted"
	RequestErased  = "requests.event.erased"
)

// The resource types of a personal data set's entries: a person, and their requests.
const (
	ResourceUser     = "user"
	ResourceRequests = "requests"
)

// LogEntry records one change to personal data. Entries are never edited but by an
// erasure or a deletion of their resource, which turns every value of Delta to null and
// forgets the Subject, and are purged once older than their store's time to live.
type LogEntry struct {
	ID           string
	StoreID      string
	ResourceType string
	ResourceID   string
	// Subject is the person whose set the resource belongs to: a request's
	// requested_by; nil once erased. It is never shown, only searched.
	Subject   *string
	EventType string
	Time      time.Time
	Initiator Initiator
	// Delta holds the attributes the change set: their new values on creation and
	// update, null for those erased or deleted.
	Delta map[string]any
}

// LogEntries declares the personal_data_log_entry type. A list must name one entry of a
// set by filter=eq(resource_type,T):eq(resource_id,ID) (see LogFilter); a user names
// their whole set.
var LogEntries = NewType("personal_data_log_entry",
	Getter(Attribute{Name: "id", Column: "id", Kind: UUID{}}, func(e *LogEntry) any { return e.ID }),
	[]Field[LogEntry]{
		Held(Attribute{Name: "store_id", Column: "store_id", Kind: String{}, Access: Read},
			func(e *LogEntry) *string { return &e.StoreID }),
		Held(Attribute{Name: "initiator", Column: "initiator", Kind: Object{}, Access: Read},
			func(e *LogEntry) *Initiator { return &e.Initiator }),
		Held(Attribute{Name: "time", Column: "time", Kind: Timestamp{}, Access: Read | Sortable},
			func(e *LogEntry) *time.Time { return &e.Time }),
		Held(Attribute{Name: "event_type", Column: "event_type", Kind: String{}, Access: Read},
			func(e *LogEntry) *string { return &e.EventType }),
		Held(Attribute{Name: "delta", Column: "delta", Kind: Object{}, Access: Read},
			func(e *LogEntry) *map[string]any { return &e.Delta }),
		Held(Attribute{Name: "resource_type", Column: "resource_type", Kind: Enum(ResourceTypes), Access: Read, Filter: FilterEq},
			func(e *LogEntry) *string { return &e.ResourceType }),
		Held(Attribute{Name: "resource_id", Column: "resource_id", Kind: String{Min: 1, Max: 255}, Access: Read, Filter: FilterEq},
			func(e *LogEntry) *string { return &e.ResourceID }),
	},
	[]Sort{{Attribute: "time"}})

// RequestLog is the log entry of a change of kind event (RequestCreated, ...) to r by
// by, at now. changed names the attributes an update set; the other kinds say
// themselves what changed: everything on creation, every attribute on deletion, the
// personal ones on erasure.
func RequestLog(r *Request, event string, by Initiator, now time.Time, changed ...string) *LogEntry {
	delta := map[string]any{}
	switch event {
	case RequestCreated:
		// Values, not what Read yields: the entry must not change with r.
		for _, name := range Requests.Named(Read) {
			delta[name] = Requests.Value(r, name)
		}
	case RequestUpdated:
		for _, name := range changed {
			delta[name] = Requests.Value(r, name)
		}
	case RequestDeleted:
		for _, name := range Requests.Named(Read) {
			delta[name] = nil
		}
	case RequestErased:
		for _, name := range Requests.Named(Personal) {
			delta[name] = nil
		}
	}
	e := &LogEntry{ID: NewID(), StoreID: r.StoreID, ResourceType: ResourceRequests, ResourceID: r.RequestID,
		EventType: event, Time: now, Initiator: by, Delta: delta}
	// An erased or deleted request keeps nothing personal, its person included.
	if (event == RequestCreated || event == RequestUpdated) && r.RequestedBy != nil {
		subject := *r.RequestedBy
		e.Subject = &subject
	}
	return e
}

// SetEntry reads the entry of a personal data set that a filter of the logs or of the
// related data entries names: exactly eq(resource_type,T):eq(resource_id,ID), as
// Elastic Path requires. Anything else is a *filters.Error in Elastic Path's words.
func SetEntry(expr filters.Expr) (resourceType, resourceID string, err error) {
	bad := false
	for _, c := range expr {
		v, _ := c.Values[0].(string)
		switch {
		case c.Attribute == "resource_type" && resourceType == "":
			resourceType = v
		case c.Attribute == "resource_id" && resourceID == "":
			resourceID = v
		default:
			bad = true
		}
	}
	if bad || resourceType == "" || resourceID == "" {
		return "", "", &filters.Error{Detail: "bad filter: resource_id and resource_type are the filter fields that are both mandatory and only they are allowed, as eq(resource_type,T):eq(resource_id,ID)"}
	}
	return resourceType, resourceID, nil
}

// RelatedDataEntry is one entry of a personal data set.
type RelatedDataEntry struct {
	ResourceType, ResourceID string
}

// RelatedDataEntries declares the related_data_entry type. Elastic Path gives its entries
// no id; JSON:API needs one, so the id is the entry's type and id.
var RelatedDataEntries = NewType("related_data_entry",
	Getter(Attribute{Name: "id", Kind: String{}}, func(e *RelatedDataEntry) any { return e.ResourceType + ":" + e.ResourceID }),
	[]Field[RelatedDataEntry]{
		Held(Attribute{Name: "resource_type", Column: "resource_type", Kind: Enum(ResourceTypes), Access: Read, Filter: FilterEq},
			func(e *RelatedDataEntry) *string { return &e.ResourceType }),
		Held(Attribute{Name: "resource_id", Column: "resource_id", Kind: String{Min: 1, Max: 255}, Access: Read, Filter: FilterEq},
			func(e *RelatedDataEntry) *string { return &e.ResourceID }),
	},
	nil)

// Logs time to live, in days: Elastic Path's default for production stores, and the
// bounds a store may set.
const (
	DefaultLogsTTL = 365
	MinLogsTTL     = 1
	MaxLogsTTL     = 3650
)

// TimeToLive is how long a store keeps its personal data logs.
type TimeToLive struct {
	StoreID string
	Days    int64
}

// TimesToLive declares the time_to_live type: one per store, whose id is the store's.
// A PUT gives days.
var TimesToLive = NewType("time_to_live",
	Getter(Attribute{Name: "id", Kind: String{}}, func(t *TimeToLive) any { return t.StoreID }),
	[]Field[TimeToLive]{
		Ref(Attribute{Name: "days", Column: "days", Kind: Integer{Min: MinLogsTTL, Max: MaxLogsTTL}, Access: Read | Create | Required},
			func(t *TimeToLive) *int64 { return &t.Days }),
	},
	nil)

// Cutoff is the time before which the store's log entries are purged, at now.
func (t *TimeToLive) Cutoff(now time.Time) time.Time {
	return now.Add(-time.Duration(t.Days) * 24 * time.Hour)
}
