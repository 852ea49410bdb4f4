package erasured

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ServiceRequests is the service under which this server reports its own part of an
// erasure: the Open Notes requests it holds. Only the server reports it (ErasedHere);
// a client that names it is refused, so that "requests" in services_erased always means
// the rows are really gone.
const ServiceRequests = "requests"

// ServerActor is the actor of the events the server causes itself.
const ServerActor = "erasured"

// Limits on what a report may carry, and on what a request accumulates from reports.
const (
	maxServices       = 100  // entries per list in a report; services tracked per request
	maxServiceName    = 100  // characters
	maxFailureMessage = 1000 // characters
)

// The kinds of what a report carries: service names, their lists, and failures.
var (
	serviceName    = String{Min: 1, Max: maxServiceName}
	failureMessage = String{Max: maxFailureMessage}
	servicesKind   = List{Elem: serviceName, Max: maxServices}
	failuresKind   = failures{}
)

// failures is the kind of partial_failures: an array of at most maxServices
// {"service","message"} objects, which have no other member. Its values are
// []PartialFailure.
type failures struct{}

func (failures) Decode(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var list []PartialFailure
	if dec.Decode(&list) != nil || list == nil {
		return nil, errors.New(`must be an array of {"service","message"} objects`)
	}
	return list, checkFailures(list)
}

func (failures) Parse(string) (any, error) { return nil, errors.New("cannot be written as text") }

func checkFailures(list []PartialFailure) error {
	if len(list) > maxServices {
		return fmt.Errorf("may list at most %d failures", maxServices)
	}
	for _, f := range list {
		if err := serviceName.Check(f.Service); err != nil {
			return fmt.Errorf("has a service name that %w", err)
		}
		if err := failureMessage.Check(f.Message); err != nil {
			return fmt.Errorf("has a message, of service %q, that %w", f.Service, err)
		}
	}
	return nil
}

// Optional is a member of a partial update that may be absent (Set false: leave the stored
// value alone), null (Set true, Value nil: clear it) or a value. It decodes from JSON so
// (absent members never reach UnmarshalJSON) and encodes back the same way when the field
// is tagged omitzero.
type Optional[T any] struct {
	Set   bool
	Value *T
}

// MarshalJSON encodes null or the value.
func (o Optional[T]) MarshalJSON() ([]byte, error) {
	if o.Value == nil {
		return []byte("null"), nil
	}
	return json.Marshal(*o.Value)
}

// UnmarshalJSON records that the member was present, as null or a value.
func (o *Optional[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		o.Value = nil
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	o.Value = &v
	return nil
}

// Report is what a service tells the server about an erasure request: the body of the
// workflow endpoint, and the attributes of a JSON:API PATCH, which ErasureRequests
// declares (those that allow Patch). Every member is optional; absent members leave the
// request alone. It is also how an event records what was reported.
type Report struct {
	Status          *Status          `json:"status,omitempty"`
	ServicesErased  []string         `json:"services_erased,omitempty"`
	PartialFailures []PartialFailure `json:"partial_failures,omitempty"`
	// CompletedAt may be given only with status completed; null clears it.
	CompletedAt Optional[time.Time] `json:"completed_at,omitzero"`
}

// ReportOf is the report that in, the values ErasureRequests.Decode read for Patch,
// makes.
func ReportOf(in Values) Report {
	var rep Report
	if v, ok := in["status"].(string); ok {
		s := Status(v)
		rep.Status = &s
	}
	rep.ServicesErased, _ = in["services_erased"].([]string)
	rep.PartialFailures, _ = in["partial_failures"].([]PartialFailure)
	if v, ok := in["completed_at"]; ok {
		rep.CompletedAt.Set = true
		if t, ok := v.(time.Time); ok {
			rep.CompletedAt.Value = &t
		}
	}
	return rep
}

// CreationEvent is the first event of a new request: its initiator filed it.
func (r *ErasureRequest) CreationEvent() *Event {
	return &Event{
		ErasureRequestID: r.ID,
		StoreID:          r.StoreID,
		CreatedAt:        r.CreatedAt,
		Actor:            r.Initiator.Name,
		NewStatus:        r.Status,
	}
}

// Apply merges a client's report into the request and returns the event that records it;
// the caller fills in the event's Actor. On error the request is left as it was.
//
// The status moves pending → in_progress → completed, or pending → completed; a report
// may repeat the current status. completed is final: every report on a completed request
// is refused with ECONFLICT, as is in_progress → pending.
//
// Reports merge, they never overwrite: services_erased grows as a set in first-seen order;
// partial_failures holds one failure per service, the latest; a service reported erased
// loses its earlier failure (a retry succeeded). A failure reported after a success is
// kept beside it: the service did erase, and then found something it could not.
// completed_at is set to now when the request completes and none is given.
//
// It returns EINVALID, naming the attribute, for an unknown status, a service name that
// is empty, longer than 100 characters or ServiceRequests, a message over 1000 characters,
// a list of more than 100 entries, a service both erased and failed in one report, a
// completed_at without status completed or a null one with it, and a report that would
// make the request track more than 100 services. An empty report is valid: it changes
// nothing but the version, and is recorded.
func (r *ErasureRequest) Apply(rep Report, now time.Time) (*Event, error) {
	if err := rep.validate(); err != nil {
		return nil, err
	}
	old := r.Status
	if old == StatusCompleted {
		return nil, Errorf(ECONFLICT, "erasure request %s is completed, and a completed request never changes", r.ID)
	}
	next := old
	if rep.Status != nil {
		next = *rep.Status
	}
	if old == StatusInProgress && next == StatusPending {
		return nil, Errorf(ECONFLICT, "erasure request %s is in progress and cannot go back to pending", r.ID)
	}

	completedAt := r.CompletedAt
	switch {
	case rep.CompletedAt.Value != nil:
		if next != StatusCompleted {
			return nil, FieldErrorf("completed_at", "completed_at may only be given with status completed")
		}
		t := rep.CompletedAt.Value.UTC().Truncate(time.Microsecond)
		completedAt = &t
	case rep.CompletedAt.Set:
		if next == StatusCompleted {
			return nil, FieldErrorf("completed_at", "completed_at cannot be null on a completed request")
		}
		completedAt = nil
	case next == StatusCompleted:
		completedAt = &now
	}

	erased, failures := merge(r.ServicesErased, r.PartialFailures, rep)
	if n := trackedServices(erased, failures); n > maxServices {
		field := "partial_failures"
		if len(rep.ServicesErased) > 0 {
			field = "services_erased"
		}
		return nil, FieldErrorf(field, "an erasure request tracks at most %d services; this report would make it %d", maxServices, n)
	}

	r.Status, r.CompletedAt, r.ServicesErased, r.PartialFailures = next, completedAt, erased, failures
	return r.record(old, rep, "", now), nil
}

// ErasedHere records that the server has erased what it holds of the person: the service
// ServiceRequests is erased, and a pending request moves to in_progress. Unlike a client's
// report it is accepted on a completed request too, which a client may have completed
// before the server did its part: the erasure happened, and the request must say so.
func (r *ErasureRequest) ErasedHere(now time.Time) *Event {
	old := r.Status
	rep := Report{ServicesErased: []string{ServiceRequests}}
	if r.Status == StatusPending {
		s := StatusInProgress
		rep.Status, r.Status = &s, s
	}
	r.ServicesErased, r.PartialFailures = merge(r.ServicesErased, r.PartialFailures, rep)
	return r.record(old, rep, ServerActor, now)
}

// Settle completes the request once everything it waits for has answered: this server's
// own erasure (ServiceRequests) and each of services (the other services configured to
// take part), each with success or a failure. It returns the event of the completion,
// or nil when the request is already completed or still waiting for someone.
//
// The completion is an event of its own, by ServerActor: no client asked for it.
func (r *ErasureRequest) Settle(services []string, now time.Time) *Event {
	if r.Status == StatusCompleted {
		return nil
	}
	for _, s := range append([]string{ServiceRequests}, services...) {
		if !slices.Contains(r.ServicesErased, s) && !slices.ContainsFunc(r.PartialFailures, func(f PartialFailure) bool { return f.Service == s }) {
			return nil
		}
	}
	old, done := r.Status, StatusCompleted
	r.Status, r.CompletedAt = done, &now
	return r.record(old, Report{Status: &done}, ServerActor, now)
}

// record bumps the version for a change just made and returns its event.
func (r *ErasureRequest) record(old Status, rep Report, actor string, now time.Time) *Event {
	r.Version++
	r.UpdatedAt = now
	return &Event{
		ErasureRequestID: r.ID,
		StoreID:          r.StoreID,
		CreatedAt:        now,
		Actor:            actor,
		OldStatus:        &old,
		NewStatus:        r.Status,
		Report:           rep,
	}
}

// merge returns the services erased and the failures once rep is added to them. It never
// changes its arguments, which may be the request's own slices.
func merge(erased []string, failures []PartialFailure, rep Report) ([]string, []PartialFailure) {
	outErased := append(make([]string, 0, len(erased)+len(rep.ServicesErased)), erased...)
	for _, s := range rep.ServicesErased {
		if !slices.Contains(outErased, s) {
			outErased = append(outErased, s)
		}
	}
	outFailures := make([]PartialFailure, 0, len(failures)+len(rep.PartialFailures))
	for _, f := range failures {
		if !slices.Contains(rep.ServicesErased, f.Service) {
			outFailures = append(outFailures, f)
		}
	}
	for _, f := range rep.PartialFailures {
		i := slices.IndexFunc(outFailures, func(g PartialFailure) bool { return g.Service == f.Service })
		if i >= 0 {
			outFailures[i] = f
		} else {
			outFailures = append(outFailures, f)
		}
	}
	return outErased, outFailures
}

// trackedServices counts the distinct services clients have reported on; the server's
// own ServiceRequests does not count against the limit.
func trackedServices(erased []string, failures []PartialFailure) int {
	seen := make(map[string]bool, len(erased)+len(failures))
	for _, s := range erased {
		seen[s] = true
	}
	for _, f := range failures {
		seen[f.Service] = true
	}
	delete(seen, ServiceRequests)
	return len(seen)
}

// validate applies to a report the kinds that decoding applies to a client's (for a
// report made otherwise) and the rules of the domain: no reserved service name, no
// service both erased and failed, and completed_at in range.
func (rep Report) validate() error {
	if rep.Status != nil {
		if _, err := statuses.Parse(string(*rep.Status)); err != nil {
			return FieldErrorf("status", "status %v", err)
		}
	}
	if err := servicesKind.Check(rep.ServicesErased); err != nil {
		return FieldErrorf("services_erased", "services_erased %v", err)
	}
	for _, s := range rep.ServicesErased {
		if s == ServiceRequests {
			return FieldErrorf("services_erased", "services_erased: %s", reserved)
		}
	}
	if err := checkFailures(rep.PartialFailures); err != nil {
		return FieldErrorf("partial_failures", "partial_failures %v", err)
	}
	for _, f := range rep.PartialFailures {
		if f.Service == ServiceRequests {
			return FieldErrorf("partial_failures", "partial_failures: %s", reserved)
		}
		if slices.Contains(rep.ServicesErased, f.Service) {
			return FieldErrorf("partial_failures", "service %q is reported both erased and failed", f.Service)
		}
	}
	if t := rep.CompletedAt.Value; t != nil {
		if err := CheckTime(*t); err != nil {
			return FieldErrorf("completed_at", "completed_at %v", err)
		}
	}
	return nil
}

var reserved = fmt.Sprintf("the service name %q is reserved for this server's own erasure", ServiceRequests)

// ValidateServices checks the configured list of other services an erasure waits for
// (--erasure-services). It returns EINVALID for a name no client could report.
func ValidateServices(names []string) error {
	for _, s := range names {
		if err := serviceName.Check(s); err != nil {
			return Errorf(EINVALID, "erasure service %q %v", s, err)
		}
		if s == ServiceRequests {
			return Errorf(EINVALID, "erasure service %q: %s", s, reserved)
		}
	}
	return nil
}
