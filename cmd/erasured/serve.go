package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/pagination"
	"github.com/erasured/erasured/resources"
	"github.com/erasured/erasured/resources/middleware"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/workers"
)

// Main is the running server: Run starts it, Close stops it gracefully.
type Main struct {
	addr            string
	databaseURL     string
	shutdownTimeout time.Duration
	drainDelay      time.Duration
	cfg             resources.Config
	erasureServices []string
	erasureLease    time.Duration
	erasurePoll     time.Duration
	vacuumInterval  time.Duration
	firstKeyFile    string
	logsPurge       time.Duration
	webhookRetryFor time.Duration
	webhookLease    time.Duration
	webhookWorkers  int
	stdout          io.Writer
	log             *slog.Logger
	logOut          *logWriter

	db       *storage.DB
	srv      *resources.Server
	listener net.Listener
	server   *http.Server
	served   chan error
	// stopWorkers ends the background workers' context; workersDone closes once they
	// have all returned.
	stopWorkers context.CancelFunc
	workersDone chan struct{}
}

func newMain(args []string, stdout, stderr io.Writer, getenv func(string) string) (*Main, error) {
	m := &Main{stdout: stdout}
	f := newFlags("serve", getenv)
	f.StringVar(&m.addr, "addr", ":8080", "address to listen on")
	f.fromEnv("addr", "ERASURED_ADDR")
	dbURL := f.databaseURL()
	f.StringVar(&m.cfg.PublicURL, "public-url", "", "base of absolute links, e.g. https://erasure.example.com (default: from each request)")
	f.fromEnv("public-url", "ERASURED_PUBLIC_URL")
	f.IntVar(&m.cfg.PageLength, "page-length", 25, "default page[limit], 1 to 100")
	f.fromEnv("page-length", "ERASURED_PAGE_LENGTH")
	f.DurationVar(&m.cfg.ErasureDue, "erasure-due", 720*time.Hour, "how long after creation an erasure request is due (GDPR Art. 12(3): one month)")
	f.fromEnv("erasure-due", "ERASURED_ERASURE_DUE")
	f.DurationVar(&m.cfg.RequestTimeout, "request-timeout", 10*time.Second, "bound on each request's database work; past it the answer is 503")
	f.fromEnv("request-timeout", "ERASURED_REQUEST_TIMEOUT")
	f.Func("cors-origins", "comma-separated origins whose browser pages may call the API, such as https://dash.example.com, or * for any (default none)", func(v string) (err error) {
		m.cfg.CORSOrigins, err = middleware.ParseOrigins(v)
		return err
	})
	f.fromEnv("cors-origins", "ERASURED_CORS_ORIGINS")
	f.Float64Var(&m.cfg.RateLimit, "rate-limit", 0, "requests per second each API key may send; 0 for no limit")
	f.fromEnv("rate-limit", "ERASURED_RATE_LIMIT")
	f.IntVar(&m.cfg.RateBurst, "rate-burst", 0, "requests an API key may send at once (default twice --rate-limit, at least 1)")
	f.fromEnv("rate-burst", "ERASURED_RATE_BURST")
	f.DurationVar(&m.cfg.KeyCacheTTL, "key-cache-ttl", 10*time.Second, "how long an API key is remembered after it authenticated (a deleted key works this long); 0 to look keys up on every request")
	f.fromEnv("key-cache-ttl", "ERASURED_KEY_CACHE_TTL")
	f.DurationVar(&m.drainDelay, "drain-delay", 5*time.Second, "how long, on SIGTERM, the server goes on serving with /readyz failing, so that load balancers take it out of rotation, before it stops accepting connections")
	f.fromEnv("drain-delay", "ERASURED_DRAIN_DELAY")
	f.DurationVar(&m.shutdownTimeout, "shutdown-timeout", 30*time.Second, "how long in-flight requests may take to finish once the server stops accepting connections")
	f.fromEnv("shutdown-timeout", "ERASURED_SHUTDOWN_TIMEOUT")
	services := f.String("erasure-services", "", "comma-separated services besides this server that must each report before an erasure request completes (default none: it completes once this server has erased what it holds)")
	f.fromEnv("erasure-services", "ERASURED_ERASURE_SERVICES")
	f.DurationVar(&m.erasureLease, "erasure-lease", time.Minute, "how long the erasure worker's claim keeps other processes off a request; a dead process's claim is taken up after it")
	f.fromEnv("erasure-lease", "ERASURED_ERASURE_LEASE")
	f.DurationVar(&m.erasurePoll, "erasure-poll", time.Second, "how often the erasure worker looks for new erasure requests when it has none")
	f.fromEnv("erasure-poll", "ERASURED_ERASURE_POLL")
	f.DurationVar(&m.vacuumInterval, "vacuum-interval", 2*time.Minute, "PostgreSQL: the least time between two vacuums that take erased and deleted data out of the database's pages; an erasure waits at most this long for the next")
	f.fromEnv("vacuum-interval", "ERASURED_VACUUM_INTERVAL")
	f.StringVar(&m.firstKeyFile, "first-key-file", "", "also write the API key that a database without keys gets on start to this file (mode 0600), for a container whose log is no place for it")
	f.fromEnv("first-key-file", "ERASURED_FIRST_KEY_FILE")
	f.DurationVar(&m.logsPurge, "logs-purge-interval", time.Hour, "the least time between two purges of personal data logs older than their store's time to live")
	f.fromEnv("logs-purge-interval", "ERASURED_LOGS_PURGE_INTERVAL")
	f.DurationVar(&m.webhookRetryFor, "webhook-retry-for", 72*time.Hour, "how long a webhook delivery is retried after its event, with exponential backoff and jitter; a webhook that fails this long without a success is made inactive")
	f.fromEnv("webhook-retry-for", "ERASURED_WEBHOOK_RETRY_FOR")
	f.BoolVar(&m.cfg.Webhooks.AllowInsecure, "webhooks-allow-insecure", false, "let webhooks reach loopback addresses, and plain http reach those only: for development and tests")
	f.fromEnv("webhooks-allow-insecure", "ERASURED_WEBHOOKS_ALLOW_INSECURE")
	f.DurationVar(&m.webhookLease, "webhook-lease", time.Minute, "how long a process's claim on a webhook delivery keeps the others off it; a delivery whose process died is sent again after it (keep it above the 10s an attempt may take)")
	f.fromEnv("webhook-lease", "ERASURED_WEBHOOK_LEASE")
	f.IntVar(&m.webhookWorkers, "webhook-concurrency", 8, "how many webhook deliveries this process makes at once; 0 for none, in a process that only serves the API while others deliver")
	f.fromEnv("webhook-concurrency", "ERASURED_WEBHOOK_CONCURRENCY")
	if err := f.parse(args); err != nil {
		return nil, err
	}
	for s := range strings.SplitSeq(*services, ",") {
		if s = strings.TrimSpace(s); s != "" {
			m.erasureServices = append(m.erasureServices, s)
		}
	}
	if err := erasured.ValidateServices(m.erasureServices); err != nil {
		return nil, fmt.Errorf("--erasure-services: %w", err)
	}
	if m.erasureLease <= 0 || m.erasurePoll <= 0 || m.vacuumInterval <= 0 || m.logsPurge <= 0 {
		return nil, errors.New("--erasure-lease, --erasure-poll, --vacuum-interval and --logs-purge-interval must be positive")
	}
	if m.webhookRetryFor <= 0 || m.webhookLease <= 0 || m.webhookWorkers < 0 {
		return nil, errors.New("--webhook-retry-for and --webhook-lease must be positive, and --webhook-concurrency not negative")
	}
	if m.cfg.PageLength < 1 || m.cfg.PageLength > pagination.MaxLimit {
		return nil, fmt.Errorf("--page-length must be from 1 to %d", pagination.MaxLimit)
	}
	if m.cfg.ErasureDue <= 0 || m.cfg.RequestTimeout <= 0 || m.shutdownTimeout <= 0 {
		return nil, errors.New("--erasure-due, --request-timeout and --shutdown-timeout must be positive")
	}
	if m.drainDelay < 0 {
		return nil, errors.New("--drain-delay must not be negative")
	}
	if !(m.cfg.RateLimit >= 0) || m.cfg.RateBurst < 0 { // !(>=) also refuses NaN
		return nil, errors.New("--rate-limit and --rate-burst must not be negative")
	}
	m.databaseURL = *dbURL
	m.logOut = newLogWriter(stderr)
	m.log = slog.New(slog.NewJSONHandler(m.logOut, nil))
	return m, nil
}

// Run opens the database, makes the first API key on an empty one, and starts serving
// and the erasure worker. It returns once the listener is bound, so a taken port fails
// at once.
func (m *Main) Run(ctx context.Context) error {
	db, err := storage.Open(ctx, m.databaseURL, storage.WithErasureServices(m.erasureServices))
	if err != nil {
		return fmt.Errorf("database: %w", err)
	}
	m.db = db
	if err := m.firstKey(ctx); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", m.addr)
	if err != nil {
		return err
	}
	m.listener = ln
	m.srv = resources.New(m.cfg, db, m.log)
	unreadable := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "erasured_erasures_unreadable_total",
		Help: "Erasure requests the erasure worker skipped because a stored value of theirs could not be read; each is tried again after its lease, and needs repair in the database.",
	})
	version, revision := buildVersion()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "erasured_build_info",
		Help:        "Always 1; its labels are the version and the VCS revision this binary was built from.",
		ConstLabels: prometheus.Labels{"version": version, "revision": revision, "goversion": runtime.Version()},
	})
	build.Set(1)
	overdue := prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "erasured_erasure_requests_overdue",
		Help: "Erasure requests of every store past their due_at and neither completed nor cancelled, as the overdue worker last counted them.",
	})
	m.srv.MustRegister(unreadable, build, overdue)
	m.server = &http.Server{
		Handler:           m.srv,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(m.log.Handler(), slog.LevelWarn),
	}
	m.served = make(chan error, 1)
	go func() { m.served <- m.server.Serve(ln) }()
	m.startWorkers(ctx, unreadable, overdue)
	m.log.Info("listening", "addr", ln.Addr().String(), "database", db.Dialect(), "erasure_services", m.erasureServices)
	return nil
}

// startWorkers runs the background workers until Close stops them. Their context keeps
// ctx's values but not its cancellation: a signal must not stop them while the HTTP
// server still drains requests that may start more work.
func (m *Main) startWorkers(ctx context.Context, unreadable prometheus.Counter, overdue prometheus.Gauge) {
	ctx, m.stopWorkers = context.WithCancel(context.WithoutCancel(ctx))
	m.workersDone = make(chan struct{})
	jobs := []interface{ Run(context.Context) error }{
		&workers.Erasure{DB: m.db, Lease: m.erasureLease, Poll: m.erasurePoll, Log: m.log, Skipped: unreadable},
		&workers.Deletion{
			DB: m.db,
			// A deletion is one short transaction; a minute leaves it ample room before
			// another process may take it over.
			Lease: time.Minute,
			// An idle worker looks for work once a second: soon enough for a client that
			// polls its deletion's status, and one cheap query a second costs nothing.
			Poll: time.Second,
			Log:  m.log,
		},
		// Asking whether a vacuum is due is one small query; every 10s adds little to
		// the bound that --vacuum-interval sets.
		&workers.Vacuum{DB: m.db, Interval: m.vacuumInterval, Poll: 10 * time.Second, Log: m.log},
		// A batch of 1,000 deletes in milliseconds, so a writer waits that long at most
		// (on SQLite; on PostgreSQL not at all); a minute's poll finds a due purge soon
		// enough for a bound of days.
		&workers.LogPurge{DB: m.db, Interval: m.logsPurge, Poll: time.Minute, Lease: 5 * time.Minute, Batch: 1000, Log: m.log},
		// Finding the requests that became overdue is one indexed query; every 10s is
		// as soon as anyone needs to know, and counts the gauge as often.
		&workers.Overdue{DB: m.db, Poll: 10 * time.Second, Gauge: overdue, Log: m.log},
	}
	if m.webhookWorkers > 0 {
		jobs = append(jobs, &workers.Webhooks{
			DB: m.db, Client: m.cfg.Webhooks.Client(), Lease: m.webhookLease, RetryFor: m.webhookRetryFor,
			Concurrency: m.webhookWorkers, Log: m.log,
			// An event is delivered within a second of its change, at the cost of one
			// small indexed query a second per loop when nothing is due.
			Poll: time.Second,
		})
	}
	var wg sync.WaitGroup
	for _, job := range jobs {
		wg.Go(func() {
			if err := job.Run(ctx); err != nil {
				m.log.Error("background worker stopped", "err", err)
			}
		})
	}
	go func() {
		wg.Wait()
		close(m.workersDone)
	}()
}

// Drain makes the server fail /readyz and answer every request with Connection: close
// (resources.Server.Drain) for the drain delay, while it goes on accepting connections
// and serving them, so that load balancers take the process out of rotation before
// Close stops it. It returns early when ctx ends.
func (m *Main) Drain(ctx context.Context) {
	m.srv.Drain()
	m.log.Info("draining", "delay", m.drainDelay.String())
	t := time.NewTimer(m.drainDelay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Addr is the address the server listens on.
func (m *Main) Addr() string { return m.listener.Addr().String() }

// Close stops accepting connections, lets in-flight requests finish within the
// shutdown timeout, then stops the background workers and waits for them, and closes
// the database, and last writes out the log lines still queued. The workers stop only
// once the server has drained, so they go on carrying out work while the last requests
// are answered, and everything that uses the database has returned before it closes.
// Closing twice is harmless.
func (m *Main) Close() error {
	var errs []error
	if m.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.shutdownTimeout)
		defer cancel()
		errs = append(errs, m.server.Shutdown(ctx))
		if err := <-m.served; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
		m.server = nil
	}
	if m.stopWorkers != nil {
		m.stopWorkers()
		<-m.workersDone
		m.stopWorkers = nil
		m.log.Info("stopped")
	}
	if m.db != nil {
		errs = append(errs, m.db.Close())
		m.db = nil
	}
	m.logOut.Close()
	return errors.Join(errs...)
}

// firstKey gives a fresh server one key with every scope, so a newcomer can call the
// API at once. Its token is printed this once and never stored.
func (m *Main) firstKey(ctx context.Context) error {
	has, err := m.db.HasKeys(ctx)
	if err != nil || has {
		return err
	}
	key, token, err := erasured.NewKey("default", "admin@localhost", "default", erasured.AllScopes, erasured.Now())
	if err != nil {
		return err
	}
	// The file first: should the key not be stored, the next start makes another and
	// writes it over this one, while a key stored but not written would be lost.
	kept := "It is shown only this once; keep it"
	if m.firstKeyFile != "" {
		if err := writeKeyFile(m.firstKeyFile, token); err != nil {
			return fmt.Errorf("--first-key-file: %w", err)
		}
		kept = "It is also in " + m.firstKeyFile
	}
	if err := m.db.CreateKey(ctx, key); err != nil {
		return err
	}
	fmt.Fprintf(m.stdout, `
erasured: this database had no API key, so one was made for store "default" with every scope.
%s:

    %s

Try:  curl -H 'Authorization: Bearer %s' http://localhost%s/v2/personal-data/erasure-requests

`, kept, token, token, portOf(m.addr))
	return nil
}

func portOf(addr string) string {
	if _, port, err := net.SplitHostPort(addr); err == nil {
		return ":" + port
	}
	return ""
}
