package resources

import (
	"context"
	"database/sql"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage"
)

// backlogTimeout bounds the backlog query of one scrape. Prometheus gives up on a scrape
// after 10 s by default; a database that hangs must cost the backlog figures, not the
// whole scrape.
const backlogTimeout = 3 * time.Second

// MustRegister adds collectors to the figures /metrics serves, such as those of the
// background workers that run beside the server.
func (s *Server) MustRegister(cs ...prometheus.Collector) { s.metrics.Registry.MustRegister(cs...) }

// serveMetrics answers GET /metrics. It asks no API key: operators scrape it from inside
// the network, and it tells counts and timings, never a record or a store's name.
//
// The backlog is read from the database for each scrape, with the scrape's context, into
// a registry that lives as long as the scrape. When the database fails, the scrape still
// answers, with erasured_backlog_up 0 and without the backlog figures: a scrape that
// failed whole would hide the figures that explain the outage.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), backlogTimeout)
	defer cancel()
	promhttp.HandlerFor(prometheus.Gatherers{s.metrics.Registry, s.backlog(ctx)}, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(s.log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	}).ServeHTTP(w, r)
}

// backlog reads the background work still to do into a registry of its own.
func (s *Server) backlog(ctx context.Context) prometheus.Gatherer {
	reg := prometheus.NewRegistry()
	up := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "erasured_backlog_up",
		Help: "1 when this scrape could read the backlog from the database, 0 when it could not (the backlog figures are then absent).",
	})
	reg.MustRegister(up)
	b, err := s.db.Backlog(ctx)
	if err != nil {
		s.log.WarnContext(ctx, "metrics: backlog unavailable", "err", err)
		return reg
	}
	up.Set(1)
	pending := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "erasured_backlog_jobs",
		Help: "Background jobs waiting, by queue: erasures (in-store erasure still to do) and deletions (pending).",
	}, []string{"queue"})
	age := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "erasured_backlog_oldest_age_seconds",
		Help: "How long the oldest waiting job of each queue has waited; 0 when none waits.",
	}, []string{"queue"})
	now := time.Now()
	for queue, q := range map[string]erasured.Queue{"erasures": b.Erasures, "deletions": b.Deletions} {
		pending.WithLabelValues(queue).Set(float64(q.Pending))
		age.WithLabelValues(queue).Set(q.Age(now).Seconds())
	}
	reg.MustRegister(pending, age)
	return reg
}

// poolCollector reports the database pool's figures as they are at each scrape.
type poolCollector struct {
	stats                       func() sql.DBStats
	maxOpen, open, inUse, idle  *prometheus.Desc
	waitCount, waitDurationSecs *prometheus.Desc
}

func newPoolCollector(db *storage.DB) *poolCollector {
	desc := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("erasured_db_"+name, help, nil, nil)
	}
	return &poolCollector{
		stats:            db.Stats,
		maxOpen:          desc("max_open_connections", "The most connections the pool opens to the database."),
		open:             desc("open_connections", "Connections to the database, in use or idle."),
		inUse:            desc("in_use_connections", "Connections to the database in use."),
		idle:             desc("idle_connections", "Idle connections to the database."),
		waitCount:        desc("wait_count_total", "Times a query waited for a free connection."),
		waitDurationSecs: desc("wait_duration_seconds_total", "Time queries spent waiting for a free connection."),
	}
}

var _ prometheus.Collector = (*poolCollector)(nil)

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.maxOpen, c.open, c.inUse, c.idle, c.waitCount, c.waitDurationSecs} {
		ch <- d
	}
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	ch <- prometheus.MustNewConstMetric(c.maxOpen, prometheus.GaugeValue, float64(st.MaxOpenConnections))
	ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(st.OpenConnections))
	ch <- prometheus.MustNewConstMetric(c.inUse, prometheus.GaugeValue, float64(st.InUse))
	ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(st.Idle))
	// Both only ever grow, so they are counters: rate() over them is the figure to watch.
	ch <- prometheus.MustNewConstMetric(c.waitCount, prometheus.CounterValue, float64(st.WaitCount))
	ch <- prometheus.MustNewConstMetric(c.waitDurationSecs, prometheus.CounterValue, st.WaitDuration.Seconds())
}
