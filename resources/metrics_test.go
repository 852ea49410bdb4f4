package resources_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/resources"
	"github.com/erasured/erasured/storage/storagetest"
)

// scrape is one parsed answer of GET /metrics.
type scrape map[string]*dto.MetricFamily

// scrape fetches /metrics, with no API key, as Prometheus does.
func (e *env) scrape(t *testing.T) scrape {
	t.Helper()
	r := e.do("GET", "/metrics", "", nil).want(t, http.StatusOK)
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("/metrics is not in the text format: %v\n%s", err, r.Body)
	}
	return mfs
}

// metric returns the series of family name whose labels are the given name, value pairs,
// or nil.
func (s scrape) metric(name string, labels ...string) *dto.Metric {
	mf := s[name]
	if mf == nil {
		return nil
	}
series:
	for _, m := range mf.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		if len(have) != len(labels)/2 {
			continue
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if have[labels[i]] != labels[i+1] {
				continue series
			}
		}
		return m
	}
	return nil
}

// value returns the value of a counter or gauge series, 0 when it is absent.
func (s scrape) value(name string, labels ...string) float64 {
	m := s.metric(name, labels...)
	switch {
	case m == nil:
		return 0
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return 0
}

func TestMetricsCountRequestsByRoute(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("s1")
		const route = erasures
		before := e.scrape(t)
		if n := before.value("erasured_http_requests_total", "route", route, "method", "GET", "status", "200"); n != 0 {
			t.Fatalf("a fresh server counted %v list requests", n)
		}

		for range 2 {
			e.do("POST", erasures, token, newErasure("user", "alice")).want(t, http.StatusCreated)
		}
		for range 3 {
			e.do("GET", erasures, token, nil).want(t, http.StatusOK)
		}
		e.do("GET", erasures, "", nil).want(t, http.StatusUnauthorized)
		e.do("GET", erasures+"/7d0c9b1e-5f1a-4c3e-9d55-3b1f0c2a8e11", token, nil).want(t, http.StatusNotFound)
		e.do("GET", "/no/such/path/42", token, nil).want(t, http.StatusNotFound)

		got := e.scrape(t)
		for _, c := range []struct {
			route, method, status string
			want                  float64
		}{
			{route, "GET", "200", 3},
			{route, "POST", "201", 2},
			{route, "GET", "401", 1},
			// Ids and unknown paths are never labels: the template and "unmatched" stand for them.
			{erasures + "/{id}", "GET", "404", 1},
			{"unmatched", "GET", "404", 1},
			// The scrape before counts as well.
			{"/metrics", "GET", "200", 1},
		} {
			if n := got.value("erasured_http_requests_total", "route", c.route, "method", c.method, "status", c.status); n != c.want {
				t.Errorf("requests_total{route=%q,method=%s,status=%s} = %v, want %v", c.route, c.method, c.status, n, c.want)
			}
		}
		h := got.metric("erasured_http_request_duration_seconds", "route", route, "method", "GET")
		if h == nil || h.Histogram.GetSampleCount() != 4 || h.Histogram.GetSampleSum() <= 0 {
			t.Errorf("duration histogram of the list: %v, want 4 samples (3 answered, 1 refused)", h)
		}
		for _, m := range got["erasured_http_requests_total"].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "route" && l.GetValue() != "unmatched" && l.GetValue()[0] != '/' {
					t.Errorf("route label %q", l.GetValue())
				}
			}
		}

		if got.value("erasured_db_max_open_connections") < 1 || got.value("erasured_db_open_connections") < 1 {
			t.Errorf("pool figures: max open %v, open %v", got.value("erasured_db_max_open_connections"), got.value("erasured_db_open_connections"))
		}
		for _, name := range []string{"erasured_db_in_use_connections", "erasured_db_idle_connections", "erasured_db_wait_count_total", "erasured_db_wait_duration_seconds_total"} {
			if got.metric(name) == nil {
				t.Errorf("no %s", name)
			}
		}
	})
}

// The backlog figures are the database's counts at the time of the scrape.
func TestMetricsBacklog(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, e *env) {
		ctx := context.Background()
		empty := e.scrape(t)
		if empty.value("erasured_backlog_up") != 1 {
			t.Fatalf("backlog_up %v on a database that answers", empty.value("erasured_backlog_up"))
		}
		for _, queue := range []string{"erasures", "deletions"} {
			if m := empty.metric("erasured_backlog_jobs", "queue", queue); m == nil || m.Gauge.GetValue() != 0 {
				t.Errorf("empty database: %s jobs %v", queue, m)
			}
			if m := empty.metric("erasured_backlog_oldest_age_seconds", "queue", queue); m == nil || m.Gauge.GetValue() != 0 {
				t.Errorf("empty database: %s age %v", queue, m)
			}
		}

		key, _, err := erasured.NewKey("ops", "ops@example.com", "s1", erasured.AllScopes, erasured.Now())
		if err != nil {
			t.Fatal(err)
		}
		hourAgo := erasured.Now().Add(-time.Hour)
		for i, person := range []string{"alice", "bob", "carol"} {
			r := erasured.NewErasureRequest(key, erasured.Values{"resource_type": "user", "resource_id": person}, hourAgo.Add(time.Duration(i)*time.Minute), 720*time.Hour)
			if _, err := e.db.CreateErasureRequest(ctx, r, nil); err != nil {
				t.Fatal(err)
			}
		}
		for _, id := range []string{"r1", "r2"} {
			r := erasured.NewRequest("s2", erasured.Values{"request_id": id, "requested_by": "dave"}, erasured.Now())
			if _, err := e.db.CreateRequest(ctx, r, erasured.Initiator{}, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := e.db.RequestDeletion(ctx, "s2", id, erasured.Initiator{}); err != nil {
				t.Fatal(err)
			}
		}

		got := e.scrape(t)
		if n := got.value("erasured_backlog_jobs", "queue", "erasures"); n != 3 {
			t.Errorf("%v erasures waiting, want 3", n)
		}
		if n := got.value("erasured_backlog_jobs", "queue", "deletions"); n != 2 {
			t.Errorf("%v deletions waiting, want 2", n)
		}
		if age := got.value("erasured_backlog_oldest_age_seconds", "queue", "erasures"); age < 3600 || age > 3600+60 {
			t.Errorf("oldest erasure waited %vs, want an hour", age)
		}
		if age := got.value("erasured_backlog_oldest_age_seconds", "queue", "deletions"); age < 0 || age > 60 {
			t.Errorf("oldest deletion waited %vs, want a moment", age)
		}
	})
}

// A scrape answers while the database is gone: the pool and request figures are what
// explain an outage, so they must not go down with it.
func TestMetricsWithoutDatabase(t *testing.T) {
	t.Parallel()
	u, proxy := storagetest.ProxiedURL(t)
	e := newEnv(t, storagetest.OpenURL(t, u), resources.Config{RequestTimeout: 3 * time.Second})
	token := e.key("s")
	if up := e.scrape(t).value("erasured_backlog_up"); up != 1 {
		t.Fatalf("backlog_up %v before the outage", up)
	}

	proxy.Cut()
	e.do("GET", erasures, token, nil).wantError(t, http.StatusServiceUnavailable, "")
	start := time.Now()
	got := e.scrape(t)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the scrape took %v with the database gone", d)
	}
	if m := got.metric("erasured_backlog_up"); m == nil || m.Gauge.GetValue() != 0 {
		t.Errorf("backlog_up %v with the database gone, want 0", m)
	}
	for _, name := range []string{"erasured_backlog_jobs", "erasured_backlog_oldest_age_seconds"} {
		if got[name] != nil {
			t.Errorf("%s reported with the database gone: %v", name, got[name])
		}
	}
	if n := got.value("erasured_http_requests_total", "route", erasures, "method", "GET", "status", "503"); n != 1 {
		t.Errorf("%v 503s counted, want 1", n)
	}
	if got.metric("erasured_db_open_connections") == nil {
		t.Errorf("no pool figures with the database gone")
	}
}
