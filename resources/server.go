// Package resources is erasured's HTTP layer: the routes, one file per resource type,
// the JSON:API document layer (negotiation, errors, decoding, marshalling with
// google/jsonapi), authentication, and the middleware around them. It is the only
// package that knows HTTP; it reads and writes records only through storage.
package resources

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

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
	// (see ParseOrigins); none by default.
	CORSOrigins []string
	// RateLimit is how many requests per second each API key may send; 0, the default,
	// is no limit. RateBurst is how many it may send at once (0: twice RateLimit, at
	// least 1).
	RateLimit float64
	RateBurst int
	// KeyCacheTTL is how long an API key that authenticated is remembered, sparing
	// the database a lookup per request; 0 looks every key up every time.
	KeyCacheTTL time.Duration
}

// Server serves the erasured API.
type Server struct {
	cfg     Config
	db      *storage.DB
	log     *slog.Logger
	router  *mux.Router
	metrics *metrics
	limits  *rateLimits // nil when requests are not limited
	keys    *keyCache   // nil when keys are not cached
	handler http.Handler
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
	s := &Server{cfg: cfg, db: db, log: slog.New(logHandler{log.Handler()}), router: mux.NewRouter(), metrics: newMetrics(db),
		limits: newRateLimits(cfg.RateLimit, cfg.RateBurst), keys: newKeyCache(cfg.KeyCacheTTL)}
	s.routes()
	s.handler = s.observe(s.cors(s.router))
	return s
}

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

func (s *Server) routes() {
	r := s.router
	r.NotFoundHandler = s.handle(jsonapiError, func(w http.ResponseWriter, r *http.Request) error {
		return &apiError{status: http.StatusNotFound, code: "not_found", detail: "no such path: " + r.URL.Path}
	})
	r.MethodNotAllowedHandler = s.handle(jsonapiError, func(w http.ResponseWriter, r *http.Request) error {
		return &apiError{status: http.StatusMethodNotAllowed, code: "method_not_allowed",
			detail: r.Method + " is not allowed here", allow: s.allowed(r)}
	})

	s.route("/healthz", s.handle(jsonapiError, s.healthz), http.MethodGet)
	s.route("/readyz", s.handle(jsonapiError, s.readyz), http.MethodGet)
	s.route("/openapi.json", s.handle(jsonapiError, s.openapiDocument), http.MethodGet)
	s.route("/metrics", http.HandlerFunc(s.serveMetrics), http.MethodGet)

	const erasures = "/v2/personal-data/erasure-requests"
	s.jsonapiRoute(erasures, s.listErasureRequests, http.MethodGet)
	s.jsonapiRoute(erasures, s.createErasureRequest, http.MethodPost)
	s.jsonapiRoute(erasures+"/{id}", s.getErasureRequest, http.MethodGet)
	s.jsonapiRoute(erasures+"/{id}", s.patchErasureRequest, http.MethodPatch)
	s.jsonapiRoute(erasures+"/{id}/events", s.listErasureEvents, http.MethodGet)

	// The identity service's endpoint speaks plain JSON, its errors included, and is
	// not negotiated as JSON:API.
	s.route(workflowPath, s.handle(plainError, s.reportErasure), http.MethodPatch)

	// The router matches the decoded path, so {request_id} is already unescaped. An
	// escaped "/" (%2F) decodes to a separator and matches no route: 404, which is the
	// truth, as no request_id may hold a "/".
	s.jsonapiRoute(requestPath, s.listRequests, http.MethodGet)
	s.jsonapiRoute(requestPath, s.createRequest, http.MethodPost)
	s.jsonapiRoute(requestPath+"/{request_id}", s.getRequest, http.MethodGet)
	s.jsonapiRoute(requestPath+"/{request_id}", s.patchRequest, http.MethodPatch)
	s.jsonapiRoute(requestPath+"/{request_id}", s.deleteRequest, http.MethodDelete)

	// Not a jsonapiRoute: deletions negotiate among three representations themselves.
	s.route(deletionPath+"/{deletion_id}", s.deletion(), http.MethodGet)
}

// route registers h for path and methods; GET routes answer HEAD too.
func (s *Server) route(path string, h http.Handler, methods ...string) {
	if len(methods) == 1 && methods[0] == http.MethodGet {
		methods = append(methods, http.MethodHead)
	}
	s.router.Handle(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		routed(r, path)
		h.ServeHTTP(w, r)
	})).Methods(methods...)
}

// jsonapiRoute registers a JSON:API endpoint: negotiated, with JSON:API errors.
func (s *Server) jsonapiRoute(path string, h handlerFunc, methods ...string) {
	s.route(path, s.negotiate(s.handle(jsonapiError, h)), methods...)
}

// allowed lists the methods that have a route for r's path, for the Allow header.
func (s *Server) allowed(r *http.Request) string {
	var out []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPatch, http.MethodDelete} {
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
