// Package resources is erasured's HTTP layer: the routes, the one handler pipeline that
// serves every resource type from its declaration (pipeline.go), one small file per
// resource type that says where it lives and which storage calls serve it, the
// endpoints of other shapes (the workflow report, deletions), authentication, and the
// one place where errors become answers. It is the only package that writes HTTP
// status codes; documents are written by resources/jsonapi, and what wraps the
// handlers is resources/middleware. It reads and writes records only through storage.
package resources

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"

	"github.com/erasured/erasured/egress"
	"github.com/erasured/erasured/resources/jsonapi"
	"github.com/erasured/erasured/resources/middleware"
	"github.com/erasured/erasured/storage"
)

// MaxBodyBytes is the largest request body accepted; larger ones answer 413.
const MaxBodyBytes = 1 << 20

// Config is what the HTTP layer needs to know of the deployment.
type Config struct {
	// PublicURL is the base of absolute links (scheme and host, maybe a path prefix);
	// empty means "from the request".
	PublicURL string
	// PageLength is the default page[limit].
	PageLength int
	// ErasureDue is how long after its creation an erasure request is due.
	ErasureDue time.Duration
	// RequestTimeout bounds each request's database work, so a database that stops
	// answering turns into 503s instead of hung clients.
	RequestTimeout time.Duration
	// CORSOrigins are the origins whose browser pages may call the API, "*" for any
	// (see middleware.ParseOrigins); none by default.
	CORSOrigins []string
	// RateLimit is how many requests per second each API key may send; 0, the default,
	// is no limit. RateBurst is how many it may send at once (0: twice RateLimit, at
	// least 1).
	RateLimit float64
	RateBurst int
	// KeyCacheTTL is how long an API key that authenticated is remembered, sparing
	// the database a lookup per request; 0 looks every key up every time.
	KeyCacheTTL time.Duration
	// Webhooks is which webhook URLs clients may give: https to public addresses, and
	// http to loopback ones too when AllowInsecure (--webhooks-allow-insecure).
	Webhooks egress.Policy
}

// Server serves the erasured API.
type Server struct {
	cfg    Config
	db     *storage.DB
	log    *slog.Logger
	router *mux.Router
	// methods are those that some route answers, in the order they were first
	// registered: the order of a 405's Allow, and what a CORS preflight allows.
	methods []string
	metrics *middleware.Metrics
	limits  *middleware.RateLimits // nil when requests are not limited
	keys    *middleware.KeyCache   // nil when keys are not cached
	handler http.Handler
	// draining is set once the process is going away (Drain).
	draining atomic.Bool
}

// New returns a Server on db. Log records made with a request's context carry its id.
func New(cfg Config, db *storage.DB, log *slog.Logger) *Server {
	if cfg.PageLength == 0 {
		cfg.PageLength = 25
	}
	if cfg.ErasureDue == 0 {
		cfg.ErasureDue = 30 * 24 * time.Hour
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	s := &Server{cfg: cfg, db: db, log: slog.New(middleware.LogHandler(log.Handler())), router: mux.NewRouter(),
		metrics: middleware.NewMetrics(), limits: middleware.NewRateLimits(cfg.RateLimit, cfg.RateBurst),
		keys: middleware.NewKeyCache(cfg.KeyCacheTTL)}
	s.metrics.Registry.MustRegister(newPoolCollector(db))
	s.routes()
	s.handler = middleware.Observe(middleware.CORS(s.router, cfg.CORSOrigins, s.methods), s.log, s.metrics,
		cfg.RequestTimeout, MaxBodyBytes, func(w http.ResponseWriter, r *http.Request, err error) {
			s.fail(w, r, jsonapiError, err)
		})
	return s
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		w.Header().Set("Connection", "close")
	}
	s.handler.ServeHTTP(w, r)
}

// Drain tells the server that its process is going away. From now on /readyz answers
// 503, so that load balancers take the process out of rotation, and every answer carries
// Connection: close, so that each client sends its next request on a new connection,
// which a load balancer routes elsewhere; meanwhile every request that arrives is
// served as usual.
func (s *Server) Drain() { s.draining.Store(true) }

func (s *Server) routes() {
	r := s.router
	r.NotFoundHandler = s.handle(jsonapiError, func(w http.ResponseWriter, r *http.Request) error {
		return &jsonapi.Error{Status: http.StatusNotFound, Code: "not_found", Detail: "no such path: " + r.URL.Path}
	})
	r.MethodNotAllowedHandler = s.handle(jsonapiError, func(w http.ResponseWriter, r *http.Request) error {
		return &jsonapi.Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Detail: r.Method + " is not allowed here", Allow: s.allowed(r)}
	})

	s.route("/healthz", s.handle(jsonapiError, s.healthz), http.MethodGet)
	s.route("/readyz", s.handle(jsonapiError, s.readyz), http.MethodGet)
	s.route("/openapi.json", s.handle(jsonapiError, s.openapiDocument), http.MethodGet)
	s.route("/metrics", http.HandlerFunc(s.serveMetrics), http.MethodGet)

	register(s, s.erasureRequests())
	s.negotiatedRoute(ErasureRequestsPath+"/{id}/events", s.listErasureEvents, http.MethodGet)
	register(s, s.logEntries())
	register(s, s.relatedDataEntries())
	s.negotiatedRoute(LogsTTLPath, s.getLogsTTL, http.MethodGet)
	s.negotiatedRoute(LogsTTLPath, s.putLogsTTL, http.MethodPut)
	s.route(AccessTokenPath, s.handle(elasticPathError, s.accessToken), http.MethodPost)
	// The identity service's endpoint speaks plain JSON, its errors included, and is
	// not negotiated as JSON:API.
	s.route(workflowPath, s.handle(plainError, s.reportErasure), http.MethodPatch)

	// The router matches the decoded path, so {request_id} is already unescaped. An
	// escaped "/" (%2F) decodes to a separator and matches no route: 404, which is the
	// truth, as no request_id may hold a "/".
	register(s, s.requests())

	register(s, s.erasureServices())
	register(s, s.webhooks())
	register(s, s.webhookDeliveries())

	// Not a jsonapiRoute: deletions negotiate among three representations themselves.
	s.route(deletionPath+"/{deletion_id}", s.deletion(), http.MethodGet)
}

// route registers h for path and methods; GET routes answer HEAD too.
func (s *Server) route(path string, h http.Handler, methods ...string) {
	if len(methods) == 1 && methods[0] == http.MethodGet {
		methods = append(methods, http.MethodHead)
	}
	for _, m := range methods {
		if !slices.Contains(s.methods, m) {
			s.methods = append(s.methods, m)
		}
	}
	s.router.MatcherFunc(pathMatcher(path)).Methods(methods...).HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		middleware.Routed(r, path)
		h.ServeHTTP(w, r)
	})
}

// jsonapiRoute registers a JSON:API endpoint: negotiated, with JSON:API errors.
func (s *Server) jsonapiRoute(path string, h handlerFunc, methods ...string) {
	s.route(path, s.negotiate(s.handle(jsonapiError, h), jsonapiError), methods...)
}

// negotiate applies JSON:API's media type rules before a handler runs: a body must come
// in one of jsonapi.Bodies (415), and Accept must allow a JSON:API answer (406). Their
// errors are rendered with render.
func (s *Server) negotiate(next http.Handler, render renderer) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodPut {
			if err := jsonapi.CheckContentType(r.Header.Get("Content-Type"), jsonapi.Bodies...); err != nil {
				w.Header().Set("Accept", jsonapi.MediaType+", application/json")
				s.fail(w, r, render, err)
				return
			}
		}
		if err := jsonapi.CheckAccept(r.Header.Values("Accept")); err != nil {
			s.fail(w, r, render, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// allowed lists the methods that have a route for r's path, for the Allow header.
func (s *Server) allowed(r *http.Request) string {
	var out []string
	for _, m := range s.methods {
		probe := r.Clone(r.Context())
		probe.Method = m
		var match mux.RouteMatch
		if s.router.Match(probe, &match) && match.MatchErr == nil {
			out = append(out, m)
		}
	}
	return strings.Join(out, ", ")
}

// baseURL is the scheme, host and prefix of absolute links.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// selfURL is the absolute URL of r as the client asked for it.
func (s *Server) selfURL(r *http.Request) string {
	u := s.baseURL(r) + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	return u
}

// write answers with doc, in Elastic Path's representation where the request asked for
// it, and logs a document that could not be encoded (the client was answered 500 in its
// place).
func (s *Server) write(w http.ResponseWriter, r *http.Request, status int, doc *jsonapi.Document) error {
	put := jsonapi.Write
	if rep := representationOf(r); rep != nil && rep.elasticPath {
		put = jsonapi.WriteElasticPath
	}
	if err := put(w, status, doc); err != nil {
		s.log.ErrorContext(r.Context(), "marshal document", "err", err)
	}
	return nil
}
