package resources

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/filters"
	"github.com/erasured/erasured/pagination"
)

// apiError is a failure that only the HTTP layer knows of (negotiation, query
// parameters, body syntax), already carrying its status.
type apiError struct {
	status    int
	code      string
	detail    string
	pointer   string
	parameter string
	allow     string // the Allow header of a 405
}

func (e *apiError) Error() string { return e.detail }

func paramError(parameter, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "invalid_parameter", detail: fmt.Sprintf(format, args...), parameter: parameter}
}

func bodyError(pointer, format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: "invalid_body", detail: fmt.Sprintf(format, args...), pointer: pointer}
}

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

// problem is an error as every representation renders it.
type problem struct {
	status    int
	code      string
	detail    string
	pointer   string
	parameter string
	allow     string
	// retryAfter is the Retry-After of a refusal the client may repeat later, in
	// seconds; 0 for none.
	retryAfter int
	// typ and maxSize are the cursor pagination profile's links.type and
	// meta.page.maxSize, for JSON:API error documents.
	typ     string
	maxSize int
}

// problemOf turns any error into what the client is told. Errors outside the
// vocabulary are logged and reported only as "internal error".
func problemOf(r *http.Request, log *slog.Logger, err error) problem {
	var (
		api     *apiError
		domain  *erasured.Error
		filter  *filters.Error
		page    *pagination.Error
		tooBig  *http.MaxBytesError
		syntax  *json.SyntaxError
		badType *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &api):
		return problem{status: api.status, code: api.code, detail: api.detail, pointer: api.pointer, parameter: api.parameter, allow: api.allow}
	case errors.As(err, &tooBig):
		return problem{status: http.StatusRequestEntityTooLarge, code: "body_too_large", detail: fmt.Sprintf("the request body is larger than %d bytes", tooBig.Limit)}
	case errors.As(err, &filter):
		return problem{status: http.StatusBadRequest, code: "invalid_filter", detail: filter.Detail, parameter: "filter"}
	case errors.As(err, &page):
		return problem{status: http.StatusBadRequest, code: "invalid_page", detail: page.Detail, parameter: page.Parameter,
			typ: page.Type, maxSize: page.MaxSize}
	case errors.As(err, &syntax), errors.As(err, &badType):
		return problem{status: http.StatusBadRequest, code: "invalid_body", detail: "the request body is not valid JSON: " + err.Error()}
	case errors.As(err, &domain) && domain.Code != erasured.EINTERNAL:
		p := problem{status: statusOf[domain.Code], code: domain.Code, detail: domain.Message, retryAfter: retryAfterSeconds(err)}
		if domain.Field != "" {
			p.pointer = "/data/attributes/" + domain.Field
		}
		if domain.Code == erasured.EUNAVAILABLE {
			log.WarnContext(r.Context(), "database unavailable", "err", err)
		}
		return p
	}
	log.ErrorContext(r.Context(), "internal error", "err", err)
	return problem{status: http.StatusInternalServerError, code: erasured.EINTERNAL, detail: "internal error"}
}

// errorRenderer writes a problem in the error shape of one family of endpoints.
type errorRenderer func(s *Server, w http.ResponseWriter, r *http.Request, p problem)

// handlerFunc is a handler that returns its failure instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts h, rendering its error, if any, with render.
func (s *Server) handle(render errorRenderer, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.fail(w, r, render, err)
		}
	})
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, render errorRenderer, err error) {
	p := problemOf(r, s.log, err)
	if p.allow != "" {
		w.Header().Set("Allow", p.allow)
	}
	if p.status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "5")
	}
	if p.retryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(p.retryAfter))
	}
	render(s, w, r, p)
}

// errorObject is a JSON:API error object.
type errorObject struct {
	Status string         `json:"status"`
	Code   string         `json:"code"`
	Title  string         `json:"title"`
	Detail string         `json:"detail"`
	Source *errorSource   `json:"source,omitempty"`
	Links  map[string]any `json:"links,omitempty"`
	Meta   map[string]any `json:"meta,omitempty"`
}

type errorSource struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
}

// jsonapiError renders a JSON:API error document.
func jsonapiError(s *Server, w http.ResponseWriter, r *http.Request, p problem) {
	e := errorObject{Status: fmt.Sprint(p.status), Code: p.code, Title: http.StatusText(p.status), Detail: p.detail}
	if p.pointer != "" || p.parameter != "" {
		e.Source = &errorSource{Pointer: p.pointer, Parameter: p.parameter}
	}
	if p.typ != "" {
		// JSON:API 1.1 makes links.type one link; the profile's draft showed an array.
		e.Links = map[string]any{"type": p.typ}
	}
	if p.maxSize > 0 {
		e.Meta = map[string]any{"page": map[string]int{"maxSize": p.maxSize}}
	}
	s.writeDocument(w, p.status, &document{
		Links:  map[string]any{"describedby": s.baseURL(r) + "/openapi.json"},
		Errors: []errorObject{e},
	})
}

// plainError renders the identity service's {"error","message"} shape.
func plainError(_ *Server, w http.ResponseWriter, _ *http.Request, p problem) {
	writeJSON(w, p.status, map[string]string{"error": p.code, "message": p.detail})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"internal","message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client hung up; nothing left to tell it
}
