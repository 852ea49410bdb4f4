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
	maxServices        = 100  // entries per list in a report; services tracked per request
	maxServiceName     = 100  // characters
	maxFailureMessage  = 1000 // characters
	maxExtensionReason = 1000 // characters
)

// MaxExtension is how far beyond its original due date a request's due date may be
// extended, once (GDPR Art. 12(3): by two further months where necessary).
const MaxExtension = 60 * 24 * time.Hour

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
	// DueAt and ExtensionReason extend the due date, once, and come together.
	DueAt           *time.Time       `json:"due_at,omitempty"`
	ExtensionReason Optional[string] `json:"extension_reason,omitzero"`
	// Overdue is set on the event by which the server records that the request is past
	// its due date (MarkOverdue); no client reports it.
	Overdue bool `json:"overdue,omitempty"`
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
	if t, ok := in["due_at"].(time.Time); ok {
		rep.DueAt = &t
	}
	if v, ok := in["extension_reason"]; ok {
		rep.ExtensionReason.Set = true
		if s, ok := v.(string); ok {
			rep.ExtensionReason.Value = &s
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
// may repeat the current status. pending and in_progress may also move to cancelled.
// completed and cancelled are final: every report on such a request is refused with
// ECONFLICT, as is in_progress → pending.
//
// Reports merge, they never overwrite: services_erased grows as a set in first-seen order;
// partial_failures holds one failure per service, the latest; a service reported erased
// loses its earlier failure (a retry succeeded). A failure reported after a success is
// kept beside it: the service did erase, and then found something it could not.
// completed_at is set to now when the request completes and none is given.
//
// due_at may be extended once, to a later time at most MaxExtension beyond the original
// due date, and only together with an extension_reason (GDPR Art. 12(3) asks the
// controller to say why); a second extension is ECONFLICT.
//
// It returns EINVALID, naming the attribute, for an unknown status, a service name that
// is empty, longer than 100 characters or ServiceRequests, a message over 1000 characters,
// a list of more than 100 entries, a service both erased and failed in one report, a
// completed_at without status completed or a null one with it, a report that would
// make the request track more than 100 services, a due_at without extension_reason or
// the other way round, and a due_at that is not later than the current one or lies more
// than MaxExtension beyond the original. An empty report is valid: it changes nothing
// but the version, and is recorded.
func (r *ErasureRequest) Apply(rep Report, now time.Time) (*Event, error) {
	if err := rep.validate(); err != nil {
		return nil, err
	}
	old := r.Status
	if old.Final() {
		return nil, Errorf(ECONFLICT, "erasure request %s is %s, and a %s request never changes", r.ID, old, old)
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

	due, reason, original, err := r.extension(&rep)
	if err != nil {
		return nil, err
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
	r.DueAt, r.ExtensionReason, r.OriginalDueAt = due, reason, original
	return r.record(old, rep, "", now), nil
}

// extension returns the due date, extension reason and original due date that rep
// makes, and normalises rep's due_at to UTC, as the event keeps it.
func (r *ErasureRequest) extension(rep *Report) (due time.Time, reason *string, original *time.Time, err error) {
	due, reason, original = r.DueAt, r.ExtensionReason, r.OriginalDueAt
	if rep.DueAt == nil && !rep.ExtensionReason.Set {
		return due, reason, original, nil
	}
	switch {
	case rep.DueAt == nil:
		return due, reason, original, FieldErrorf("due_at", "extension_reason comes with the extended due_at")
	case rep.ExtensionReason.Value == nil:
		return due, reason, original, FieldErrorf("extension_reason", "extending due_at needs an extension_reason, which cannot be null")
	case r.OriginalDueAt != nil:
		return due, reason, original, Errorf(ECONFLICT, "the due date of erasure request %s was already extended once, from %s", r.ID, r.OriginalDueAt.Format(time.RFC3339))
	}
	t := rep.DueAt.UTC().Truncate(time.Microsecond)
	rep.DueAt = &t
	if !t.After(r.DueAt) {
		return due, reason, original, FieldErrorf("due_at", "due_at may only be extended: it must be later than %s", r.DueAt.Format(time.RFC3339Nano))
	}
	if limit := r.DueAt.Add(MaxExtension); t.After(limit) {
		return due, reason, original, FieldErrorf("due_at", "due_at may be extended by at most 60 days, to %s", limit.Format(time.RFC3339Nano))
	}
	was := r.DueAt
	return t, rep.ExtensionReason.Value, &was, nil
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
// own erasure (ServiceRequests) and each of required (the other services that must take
// part: its ServicesRequired, see Required), each with success or a failure. It returns
// the event of the completion, or nil when the request is already final or still
// waiting for someone.
//
// The completion is an event of its own, by ServerActor: no client asked for it.
func (r *ErasureRequest) Settle(required []string, now time.Time) *Event {
	if r.Status.Final() || !r.answered(ServiceRequests) || len(r.Awaiting(required)) > 0 {
		return nil
	}
	old, done := r.Status, StatusCompleted
	r.Status, r.CompletedAt = done, &now
	return r.record(old, Report{Status: &done}, ServerActor, now)
}

// Required is the services besides this server that the request waits for: its
// ServicesRequired, or fallback (the server's --erasure-services) for a request filed
// before requests recorded them.
func (r *ErasureRequest) Required(fallback []string) []string {
	if r.ServicesRequired == nil {
		return fallback
	}
	return r.ServicesRequired
}

// Awaiting returns the services of required that have not yet reported success or
// failure, in order: nobody, once the request is final.
func (r *ErasureRequest) Awaiting(required []string) []string {
	if r.Status.Final() {
		return nil
	}
	var out []string
	for _, s := range required {
		if !r.answered(s) {
			out = append(out, s)
		}
	}
	return out
}

func (r *ErasureRequest) answered(service string) bool {
	return slices.Contains(r.ServicesErased, service) ||
		slices.ContainsFunc(r.PartialFailures, func(f PartialFailure) bool { return f.Service == service })
}

// Overdue reports whether the request is past its due date at now and not final.
func (r *ErasureRequest) Overdue(now time.Time) bool { return !r.Status.Final() && now.After(r.DueAt) }

// MarkOverdue records that the request is overdue at now, which is announced once per
// request, and returns the event that says so; nil when it is not overdue or was
// marked before.
func (r *ErasureRequest) MarkOverdue(now time.Time) *Event {
	if r.OverdueAt != nil || !r.Overdue(now) {
		return nil
	}
	r.OverdueAt = &now
	return r.record(r.Status, Report{Overdue: true}, ServerActor, now)
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
	if t := rep.DueAt; t != nil {
		if err := CheckTime(*t); err != nil {
			return FieldErrorf("due_at", "due_at %v", err)
		}
	}
	if s := rep.ExtensionReason.Value; s != nil {
		if err := (String{Min: 1, Max: maxExtensionReason}).Check(*s); err != nil {
			return FieldErrorf("extension_reason", "extension_reason %v", err)
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
