package erasured_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/erasured/erasured"
)

var (
	t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	t1 = t0.Add(time.Hour)
)

func status(s erasured.Status) *erasured.Status { return &s }

func at(t time.Time) erasured.Optional[time.Time] {
	return erasured.Optional[time.Time]{Set: true, Value: &t}
}

var null = erasured.Optional[time.Time]{Set: true}

func failures(pairs ...string) []erasured.PartialFailure {
	out := []erasured.PartialFailure{}
	for i := 0; i < len(pairs); i += 2 {
		out = append(out, erasured.PartialFailure{Service: pairs[i], Message: pairs[i+1]})
	}
	return out
}

// request returns a stored-looking request in the given state.
func request(s erasured.Status, erased []string, failed []erasured.PartialFailure) *erasured.ErasureRequest {
	key := &erasured.Key{ID: "k1", Name: "identity", Email: "id@example.com", StoreID: "s1"}
	r := erasured.NewErasureRequest(key, erasured.Values{"resource_type": "account", "resource_id": "acc-1"}, t0, 720*time.Hour)
	r.Status = s
	if erased != nil {
		r.ServicesErased = erased
	}
	if failed != nil {
		r.PartialFailures = failed
	}
	if s == erasured.StatusCompleted {
		c := t0
		r.CompletedAt = &c
	}
	return r
}

func TestApplyTransitions(t *testing.T) {
	p, ip, c := erasured.StatusPending, erasured.StatusInProgress, erasured.StatusCompleted
	cases := []struct {
		from erasured.Status
		rep  erasured.Report
		to   erasured.Status
		code string // "" when it succeeds
	}{
		{p, erasured.Report{}, p, ""},
		{p, erasured.Report{Status: status(p)}, p, ""},
		{p, erasured.Report{Status: status(ip)}, ip, ""},
		{p, erasured.Report{Status: status(c)}, c, ""},
		{ip, erasured.Report{}, ip, ""},
		{ip, erasured.Report{Status: status(ip), ServicesErased: []string{"billing"}}, ip, ""},
		{ip, erasured.Report{Status: status(c)}, c, ""},
		{ip, erasured.Report{Status: status(p)}, ip, erasured.ECONFLICT},
		{c, erasured.Report{}, c, erasured.ECONFLICT},
		{c, erasured.Report{Status: status(c)}, c, erasured.ECONFLICT},
		{c, erasured.Report{Status: status(ip)}, c, erasured.ECONFLICT},
		{c, erasured.Report{Status: status(p)}, c, erasured.ECONFLICT},
		{c, erasured.Report{ServicesErased: []string{"billing"}}, c, erasured.ECONFLICT},
		{c, erasured.Report{CompletedAt: null}, c, erasured.ECONFLICT},
	}
	for _, tc := range cases {
		r := request(tc.from, nil, nil)
		before := *r
		ev, err := r.Apply(tc.rep, t1)
		if tc.code != "" {
			if erasured.ErrorCode(err) != tc.code || ev != nil {
				t.Errorf("%s + %+v: got %v, want %s", tc.from, tc.rep, err, tc.code)
			}
			if !reflect.DeepEqual(*r, before) {
				t.Errorf("%s + %+v: refused report changed the request to %+v", tc.from, tc.rep, r)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s + %+v: %v", tc.from, tc.rep, err)
			continue
		}
		if r.Status != tc.to || r.Version != before.Version+1 || !r.UpdatedAt.Equal(t1) {
			t.Errorf("%s + %+v: status %s version %d updated %v; want %s, %d, %v", tc.from, tc.rep, r.Status, r.Version, r.UpdatedAt, tc.to, before.Version+1, t1)
		}
		want := &erasured.Event{ErasureRequestID: r.ID, StoreID: "s1", CreatedAt: t1, OldStatus: status(tc.from), NewStatus: tc.to, Report: tc.rep}
		if !reflect.DeepEqual(ev, want) {
			t.Errorf("%s + %+v: event %+v, want %+v", tc.from, tc.rep, ev, want)
		}
	}
}

func TestApplyCompletedAt(t *testing.T) {
	given := time.Date(2026, 3, 1, 12, 30, 0, 123456789, time.FixedZone("CET", 3600))
	givenStored := given.UTC().Truncate(time.Microsecond)
	cases := []struct {
		name string
		rep  erasured.Report
		want *time.Time
	}{
		{"server sets it on completion", erasured.Report{Status: status(erasured.StatusCompleted)}, &t1},
		{"given with completion, in UTC to the microsecond", erasured.Report{Status: status(erasured.StatusCompleted), CompletedAt: at(given)}, &givenStored},
		{"absent while in progress", erasured.Report{ServicesErased: []string{"crm"}}, nil},
		{"null clears while in progress", erasured.Report{CompletedAt: null}, nil},
	}
	for _, tc := range cases {
		r := request(erasured.StatusInProgress, nil, nil)
		if _, err := r.Apply(tc.rep, t1); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if (r.CompletedAt == nil) != (tc.want == nil) || (tc.want != nil && !r.CompletedAt.Equal(*tc.want)) {
			t.Errorf("%s: completed_at %v, want %v", tc.name, r.CompletedAt, tc.want)
		}
	}
}

func TestApplyMerges(t *testing.T) {
	cases := []struct {
		name         string
		erased       []string
		failed       []erasured.PartialFailure
		rep          erasured.Report
		wantErased   []string
		wantFailures []erasured.PartialFailure
	}{
		{
			name:         "union keeps first-seen order and drops repeats",
			erased:       []string{"billing", "crm"},
			rep:          erasured.Report{ServicesErased: []string{"search", "billing", "mail", "search"}},
			wantErased:   []string{"billing", "crm", "search", "mail"},
			wantFailures: failures(),
		},
		{
			name:         "failures are added",
			erased:       []string{"billing"},
			failed:       failures("crm", "timeout"),
			rep:          erasured.Report{PartialFailures: failures("mail", "refused")},
			wantErased:   []string{"billing"},
			wantFailures: failures("crm", "timeout", "mail", "refused"),
		},
		{
			name:         "a new failure replaces the service's older one in place",
			failed:       failures("crm", "timeout", "mail", "refused"),
			rep:          erasured.Report{PartialFailures: failures("crm", "still down")},
			wantErased:   []string{},
			wantFailures: failures("crm", "still down", "mail", "refused"),
		},
		{
			name:         "the latest of two failures in one report wins",
			rep:          erasured.Report{PartialFailures: failures("crm", "first", "crm", "second")},
			wantErased:   []string{},
			wantFailures: failures("crm", "second"),
		},
		{
			name:         "success clears the service's earlier failure",
			failed:       failures("crm", "timeout", "mail", "refused"),
			rep:          erasured.Report{ServicesErased: []string{"crm"}},
			wantErased:   []string{"crm"},
			wantFailures: failures("mail", "refused"),
		},
		{
			name:         "a failure after a success is kept beside it",
			erased:       []string{"crm"},
			rep:          erasured.Report{PartialFailures: failures("crm", "found a backup")},
			wantErased:   []string{"crm"},
			wantFailures: failures("crm", "found a backup"),
		},
		{
			name:         "an empty report keeps everything",
			erased:       []string{"crm"},
			failed:       failures("mail", "refused"),
			rep:          erasured.Report{},
			wantErased:   []string{"crm"},
			wantFailures: failures("mail", "refused"),
		},
	}
	for _, tc := range cases {
		r := request(erasured.StatusInProgress, tc.erased, tc.failed)
		storedErased, storedFailed := r.ServicesErased, r.PartialFailures
		snapshotErased := append([]string(nil), storedErased...)
		snapshotFailed := append([]erasured.PartialFailure(nil), storedFailed...)
		if _, err := r.Apply(tc.rep, t1); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !reflect.DeepEqual(r.ServicesErased, tc.wantErased) || !reflect.DeepEqual(r.PartialFailures, tc.wantFailures) {
			t.Errorf("%s: erased %q failures %v; want %q %v", tc.name, r.ServicesErased, r.PartialFailures, tc.wantErased, tc.wantFailures)
		}
		// The slices the request held before may be shared with a caller: never written.
		if !reflect.DeepEqual(append([]string(nil), storedErased...), snapshotErased) || !reflect.DeepEqual(append([]erasured.PartialFailure(nil), storedFailed...), snapshotFailed) {
			t.Errorf("%s: Apply wrote into the old slices", tc.name)
		}
	}
}

func TestApplyValidation(t *testing.T) {
	long := func(n int) string { return strings.Repeat("é", n) }
	many := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "svc-" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + string(rune('a'+i/26))
		}
		return out
	}
	manyFailures := func(n int) []erasured.PartialFailure {
		var out []erasured.PartialFailure
		for _, s := range many(n) {
			out = append(out, erasured.PartialFailure{Service: s, Message: "x"})
		}
		return out
	}
	cases := []struct {
		name   string
		erased []string // already on the request
		rep    erasured.Report
		field  string // "" when valid
	}{
		{"unknown status", nil, erasured.Report{Status: status("done")}, "status"},
		{"view vocabulary is not stored vocabulary", nil, erasured.Report{Status: status("SUCCESS")}, "status"},
		{"empty service name", nil, erasured.Report{ServicesErased: []string{""}}, "services_erased"},
		{"100-character service name", nil, erasured.Report{ServicesErased: []string{long(100)}}, ""},
		{"101-character service name", nil, erasured.Report{ServicesErased: []string{long(101)}}, "services_erased"},
		{"invalid UTF-8 service name", nil, erasured.Report{ServicesErased: []string{"\xff"}}, "services_erased"},
		{"reserved service name erased", nil, erasured.Report{ServicesErased: []string{erasured.ServiceRequests}}, "services_erased"},
		{"reserved service name failed", nil, erasured.Report{PartialFailures: failures(erasured.ServiceRequests, "x")}, "partial_failures"},
		{"empty failing service", nil, erasured.Report{PartialFailures: failures("", "x")}, "partial_failures"},
		{"1000-character message", nil, erasured.Report{PartialFailures: failures("crm", long(1000))}, ""},
		{"1001-character message", nil, erasured.Report{PartialFailures: failures("crm", long(1001))}, "partial_failures"},
		{"empty message", nil, erasured.Report{PartialFailures: failures("crm", "")}, ""},
		{"100 services erased", nil, erasured.Report{ServicesErased: many(100)}, ""},
		{"101 services erased", nil, erasured.Report{ServicesErased: many(101)}, "services_erased"},
		{"101 failures", nil, erasured.Report{PartialFailures: manyFailures(101)}, "partial_failures"},
		{"erased and failed in one report", nil, erasured.Report{ServicesErased: []string{"crm"}, PartialFailures: failures("crm", "x")}, "partial_failures"},
		{"completed_at without completion", nil, erasured.Report{CompletedAt: at(t0)}, "completed_at"},
		{"completed_at with in_progress", nil, erasured.Report{Status: status(erasured.StatusInProgress), CompletedAt: at(t0)}, "completed_at"},
		{"null completed_at with completion", nil, erasured.Report{Status: status(erasured.StatusCompleted), CompletedAt: null}, "completed_at"},
		{"completed_at in year 0", nil, erasured.Report{Status: status(erasured.StatusCompleted), CompletedAt: at(time.Date(1, 1, 1, 0, 30, 0, 0, time.FixedZone("", 3600)))}, "completed_at"},
		{"completed_at in year 10000", nil, erasured.Report{Status: status(erasured.StatusCompleted), CompletedAt: at(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))}, "completed_at"},
		{"more than 100 services tracked", many(60), erasured.Report{ServicesErased: []string{"one-more"}, PartialFailures: manyFailures(100)[60:]}, "services_erased"},
		{"100 services tracked besides the server's own", append(many(99), erasured.ServiceRequests), erasured.Report{PartialFailures: failures("last", "x")}, ""},
		{"101 services tracked", many(100), erasured.Report{PartialFailures: failures("last", "x")}, "partial_failures"},
	}
	for _, tc := range cases {
		r := request(erasured.StatusInProgress, tc.erased, nil)
		before := r.Version
		_, err := r.Apply(tc.rep, t1)
		if tc.field == "" {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		e, ok := err.(*erasured.Error)
		if !ok || e.Code != erasured.EINVALID || e.Field != tc.field {
			t.Errorf("%s: got %#v, want invalid %s", tc.name, err, tc.field)
		}
		if r.Version != before {
			t.Errorf("%s: a refused report bumped the version", tc.name)
		}
	}
}

func TestErasedHere(t *testing.T) {
	cases := []struct {
		from       erasured.Status
		to         erasured.Status
		wantStatus *erasured.Status // the status the event reports
	}{
		{erasured.StatusPending, erasured.StatusInProgress, status(erasured.StatusInProgress)},
		{erasured.StatusInProgress, erasured.StatusInProgress, nil},
		// A client completed it before the server did its part: recorded all the same.
		{erasured.StatusCompleted, erasured.StatusCompleted, nil},
	}
	for _, tc := range cases {
		r := request(tc.from, []string{"billing"}, failures(erasured.ServiceRequests, "stale"))
		ev := r.ErasedHere(t1)
		want := &erasured.Event{
			ErasureRequestID: r.ID, StoreID: "s1", CreatedAt: t1, Actor: erasured.ServerActor,
			OldStatus: status(tc.from), NewStatus: tc.to,
			Report: erasured.Report{Status: tc.wantStatus, ServicesErased: []string{erasured.ServiceRequests}},
		}
		if !reflect.DeepEqual(ev, want) {
			t.Errorf("from %s: event %+v, want %+v", tc.from, ev, want)
		}
		if r.Status != tc.to || !reflect.DeepEqual(r.ServicesErased, []string{"billing", erasured.ServiceRequests}) || len(r.PartialFailures) != 0 || r.Version != 2 {
			t.Errorf("from %s: request %+v", tc.from, r)
		}
	}
}

func TestSettle(t *testing.T) {
	here := erasured.ServiceRequests
	cases := []struct {
		name     string
		from     erasured.Status
		erased   []string
		failed   []erasured.PartialFailure
		services []string
		settles  bool
	}{
		{"nothing configured, server done", erasured.StatusInProgress, []string{here}, nil, nil, true},
		{"nothing configured, server not done", erasured.StatusPending, []string{}, nil, nil, false},
		{"others answered but server not done", erasured.StatusInProgress, []string{"billing"}, failures("crm", "x"), []string{"billing", "crm"}, false},
		{"one service still silent", erasured.StatusInProgress, []string{here, "billing"}, nil, []string{"billing", "crm"}, false},
		{"all erased", erasured.StatusInProgress, []string{here, "crm", "billing"}, nil, []string{"billing", "crm"}, true},
		{"a failure is an answer", erasured.StatusInProgress, []string{here, "billing"}, failures("crm", "timeout"), []string{"billing", "crm"}, true},
		{"already completed", erasured.StatusCompleted, []string{here}, nil, nil, false},
	}
	for _, tc := range cases {
		r := request(tc.from, tc.erased, tc.failed)
		ev := r.Settle(tc.services, t1)
		if !tc.settles {
			if ev != nil || r.Status != tc.from || r.Version != 1 {
				t.Errorf("%s: settled to %s with %+v", tc.name, r.Status, ev)
			}
			continue
		}
		want := &erasured.Event{
			ErasureRequestID: r.ID, StoreID: "s1", CreatedAt: t1, Actor: erasured.ServerActor,
			OldStatus: status(tc.from), NewStatus: erasured.StatusCompleted,
			Report: erasured.Report{Status: status(erasured.StatusCompleted)},
		}
		if !reflect.DeepEqual(ev, want) || r.Status != erasured.StatusCompleted || r.CompletedAt == nil || !r.CompletedAt.Equal(t1) || r.Version != 2 {
			t.Errorf("%s: event %+v, request %+v", tc.name, ev, r)
		}
	}
}

func TestCreationEvent(t *testing.T) {
	r := request(erasured.StatusPending, nil, nil)
	want := &erasured.Event{ErasureRequestID: r.ID, StoreID: "s1", CreatedAt: t0, Actor: "identity", NewStatus: erasured.StatusPending}
	if ev := r.CreationEvent(); !reflect.DeepEqual(ev, want) {
		t.Errorf("got %+v, want %+v", ev, want)
	}
}

func TestReportJSON(t *testing.T) {
	cases := []struct {
		body string
		want erasured.Report
		back string // how it encodes again
	}{
		{`{}`, erasured.Report{}, `{}`},
		{`{"completed_at":null}`, erasured.Report{CompletedAt: null}, `{"completed_at":null}`},
		{
			`{"status":"completed","services_erased":["billing"],"partial_failures":[{"service":"crm","message":"timeout"}],"completed_at":"2026-03-01T13:00:00Z"}`,
			erasured.Report{Status: status(erasured.StatusCompleted), ServicesErased: []string{"billing"}, PartialFailures: failures("crm", "timeout"), CompletedAt: at(t1)},
			`{"status":"completed","services_erased":["billing"],"partial_failures":[{"service":"crm","message":"timeout"}],"completed_at":"2026-03-01T13:00:00Z"}`,
		},
	}
	for _, tc := range cases {
		var got erasured.Report
		if err := json.Unmarshal([]byte(tc.body), &got); err != nil {
			t.Fatalf("%s: %v", tc.body, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: decoded %+v, want %+v", tc.body, got, tc.want)
		}
		b, err := json.Marshal(got)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != tc.back {
			t.Errorf("%s: encoded %s, want %s", tc.body, b, tc.back)
		}
	}
	var r erasured.Report
	if err := json.Unmarshal([]byte(`{"completed_at":"yesterday"}`), &r); err == nil {
		t.Errorf("a completed_at that is not a time decoded as %+v", r)
	}
}

func TestValidateServices(t *testing.T) {
	if err := erasured.ValidateServices([]string{"billing", "crm"}); err != nil {
		t.Error(err)
	}
	for _, bad := range [][]string{{""}, {"billing", erasured.ServiceRequests}, {strings.Repeat("x", 101)}} {
		if err := erasured.ValidateServices(bad); erasured.ErrorCode(err) != erasured.EINVALID {
			t.Errorf("%q: got %v, want invalid", bad, err)
		}
	}
}
