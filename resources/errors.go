package resources

import (
	"context"
	"encoding/xml"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/filters"
	"github.com/erasured/erasured/pagination"
	"github.com/erasured/erasured/resources/jsonapi"
)

// This file is the one place where errors become answers: every error a handler returns
// is turned into a *jsonapi.Error (problem), and then written in the error shape of the
// endpoint's family (a renderer).

// statusOf is the one table from error kinds to HTTP status codes.
var statusOf = map[string]int{
	erasured.EINVALID:       http.StatusBadRequest,
	erasured.EUNAUTHORIZED:  http.StatusUnauthorized,
	erasured.EFORBIDDEN:     http.StatusForbidden,
	erasured.ENOTFOUND:      http.StatusNotFound,
	erasured.ECONFLICT:      http.StatusConflict,
	erasured.EGONE:          http.StatusGone,
	erasured.EPRECONDITION:  http.StatusPreconditionFailed,
	erasured.EUNPROCESSABLE: http.StatusUnprocessableEntity,
	erasured.EUNAVAILABLE:   http.StatusServiceUnavailable,
	erasured.ETOOMANY:       http.StatusTooManyRequests,
	erasured.EINTERNAL:      http.StatusInternalServerError,
}

// StatusClientClosed is the status of a request whose client went away before it was
// answered (nginx's 499): what the access log and the metrics count such requests as.
const StatusClientClosed = 499

// problem turns any error into what the client is told. Errors outside the vocabulary
// are logged and reported only as "internal error".
func problem(r *http.Request, log *slog.Logger, err error) *jsonapi.Error {
	var (
		api    *jsonapi.Error
		domain *erasured.Error
		filter *filters.Error
		page   *pagination.Error
	)
	switch {
	case errors.Is(r.Context().Err(), context.Canceled):
		// The client went away: whatever failed failed for that, and nobody reads the
		// answer. It is no server error, and is logged and counted apart.
		log.InfoContext(r.Context(), "the client went away", "err", err)
		return &jsonapi.Error{Status: StatusClientClosed, Code: "client_closed_request", Detail: "the client closed the request"}
	case errors.As(err, &api):
		return api
	case errors.As(err, &filter):
		return &jsonapi.Error{Status: http.StatusBadRequest, Code: "invalid_filter", Detail: filter.Detail, Parameter: "filter"}
	case errors.As(err, &page):
		return &jsonapi.Error{Status: http.StatusBadRequest, Code: "invalid_page", Detail: page.Detail, Parameter: page.Parameter,
			Type: page.Type, MaxSize: page.MaxSize}
	case errors.As(err, &domain) && domain.Code != erasured.EINTERNAL:
		p := &jsonapi.Error{Status: statusOf[domain.Code], Code: domain.Code, Detail: domain.Message, RetryAfter: retryAfterSeconds(err)}
		if domain.Field != "" {
			p.Pointer = "/data/attributes/" + domain.Field
		}
		if domain.Code == erasured.EUNAVAILABLE {
			log.WarnContext(r.Context(), "database unavailable", "err", err)
		}
		return p
	}
	log.ErrorContext(r.Context(), "internal error", "err", err)
	return &jsonapi.Error{Status: http.StatusInternalServerError, Code: erasured.EINTERNAL, Detail: "internal error"}
}

// pointTo moves a domain error about an attribute to where the client wrote it: base is
// where the attributes sit in the body ("/data/attributes/", "/data/" or "/").
func pointTo(err error, base string) error {
	var e *erasured.Error
	if errors.As(err, &e) && e.Field != "" && e.Code == erasured.EINVALID {
		return jsonapi.BodyError(base+e.Field, "%s", e.Message)
	}
	return err
}

// renderer writes a problem in the error shape of one family of endpoints.
type renderer func(s *Server, w http.ResponseWriter, r *http.Request, p *jsonapi.Error)

// handlerFunc is a handler that returns its failure instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts h, rendering its error, if any, with render.
func (s *Server) handle(render renderer, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, render, err)
		}
	})
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, render renderer, err error) {
	p := problem(r, s.log, err)
	if p.Allow != "" {
		w.Header().Set("Allow", p.Allow)
	}
	switch p.Status {
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "5")
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", "Bearer")
	}
	if p.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.RetryAfter))
	}
	render(s, w, r, p)
}

// jsonapiError renders a JSON:API error document.
func jsonapiError(s *Server, w http.ResponseWriter, r *http.Request, p *jsonapi.Error) {
	jsonapi.WriteError(w, s.baseURL(r), p)
}

// elasticPathError renders Elastic Path's {"errors":[{"status","title","detail"}]}.
func elasticPathError(_ *Server, w http.ResponseWriter, _ *http.Request, p *jsonapi.Error) {
	jsonapi.WriteElasticPathError(w, p)
}

// plainError renders the identity service's {"error","message"} shape.
func plainError(_ *Server, w http.ResponseWriter, _ *http.Request, p *jsonapi.Error) {
	writeJSON(w, p.Status, map[string]string{"error": p.Code, "message": p.Detail})
}

// podcastProblem is an error in the Open Podcast API's shape (its Error schema: code, the
// status, and message), as JSON with the short code beside them, or as XML.
type podcastProblem struct {
	XMLName xml.Name `json:"-" xml:"error"`
	Code    int      `json:"code" xml:"code"`
	Message string   `json:"message" xml:"message"`
	Error   string   `json:"error" xml:"-"`
}

func podcastProblemOf(p *jsonapi.Error) podcastProblem {
	return podcastProblem{Code: p.Status, Message: p.Detail, Error: p.Code}
}

// podcastError renders a problem of a deletion asked for as JSON.
func podcastError(_ *Server, w http.ResponseWriter, _ *http.Request, p *jsonapi.Error) {
	writeJSON(w, p.Status, podcastProblemOf(p))
}

// xmlError renders a problem of a deletion asked for as XML.
func xmlError(_ *Server, w http.ResponseWriter, _ *http.Request, p *jsonapi.Error) {
	_ = writeXML(w, p.Status, podcastProblemOf(p))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	_ = jsonapi.WriteJSON(w, status, "application/json", v, []byte(`{"error":"internal","message":"internal error"}`))
}

// retryAfter is a refusal that the client may send again after a while.
type retryAfter struct {
	err   error
	after time.Duration
}

func (e *retryAfter) Error() string { return e.err.Error() }
func (e *retryAfter) Unwrap() error { return e.err }

// seconds is the wait as Retry-After gives it: whole seconds, rounded up, at least 1.
func (e *retryAfter) seconds() int { return max(1, int(math.Ceil(e.after.Seconds()))) }

// retryAfterSeconds is the Retry-After, in seconds, that err asks for; 0 for none.
func retryAfterSeconds(err error) int {
	var later *retryAfter
	if errors.As(err, &later) {
		return later.seconds()
	}
	return 0
}
