package jsonapi

import (
	"fmt"
	"net/http"
	"strconv"
)

// Error is a failure as a client is told it, in whatever representation: a status, and
// what a JSON:API error object says. The HTTP layer turns every error into one.
type Error struct {
	Status int
	Code   string
	Detail string
	// Pointer and Parameter are the error's source: a JSON Pointer into the body, or a
	// query parameter.
	Pointer, Parameter string
	// Allow is the Allow header of a 405.
	Allow string
	// RetryAfter is the Retry-After of a refusal the client may repeat later, in
	// seconds; 0 for none.
	RetryAfter int
	// Type and MaxSize are the cursor pagination profile's links.type and
	// meta.page.maxSize.
	Type    string
	MaxSize int
}

func (e *Error) Error() string { return e.Detail }

// ParamError is a 400 about query parameter name.
func ParamError(name, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_parameter", Detail: fmt.Sprintf(format, args...), Parameter: name}
}

// BodyError is a 400 about the member of the body at pointer.
func BodyError(pointer, format string, args ...any) *Error {
	return &Error{Status: http.StatusBadRequest, Code: "invalid_body", Detail: fmt.Sprintf(format, args...), Pointer: pointer}
}

// ErrorObject is a JSON:API error object.
type ErrorObject struct {
	Status string         `json:"status"`
	Code   string         `json:"code"`
	Title  string         `json:"title"`
	Detail string         `json:"detail"`
	Source *ErrorSource   `json:"source,omitempty"`
	Links  map[string]any `json:"links,omitempty"`
	Meta   map[string]any `json:"meta,omitempty"`
}

// ErrorSource is where an error object's fault lies.
type ErrorSource struct {
	Pointer   string `json:"pointer,omitempty"`
	Parameter string `json:"parameter,omitempty"`
}

// Object is e as a JSON:API error object.
func (e *Error) Object() ErrorObject {
	o := ErrorObject{Status: strconv.Itoa(e.Status), Code: e.Code, Title: http.StatusText(e.Status), Detail: e.Detail}
	if e.Pointer != "" || e.Parameter != "" {
		o.Source = &ErrorSource{Pointer: e.Pointer, Parameter: e.Parameter}
	}
	if e.Type != "" {
		// JSON:API 1.1 makes links.type one link; the profile's draft showed an array.
		o.Links = map[string]any{"type": e.Type}
	}
	if e.MaxSize > 0 {
		o.Meta = map[string]any{"page": map[string]int{"maxSize": e.MaxSize}}
	}
	return o
}

// WriteError answers with e as a JSON:API error document, linked to the OpenAPI
// document under base.
func WriteError(w http.ResponseWriter, base string, e *Error) {
	_ = Write(w, e.Status, &Document{Links: Links{Base: base}, Errors: []ErrorObject{e.Object()}})
}
