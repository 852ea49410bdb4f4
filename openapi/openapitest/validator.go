// Package openapitest holds responses to erasured's OpenAPI document (package openapi) and
// to the JSON:API 1.1 rules a schema cannot express (jsonapi_rules.go), so that every
// response of every HTTP test is checked against the contract the clients read. Only tests
// import it: the server binary links none of the validator.
//
// It never validates requests (tests send bad ones on purpose) and never writes HTTP.
// Schema validation is github.com/pb33f/libopenapi-validator's; this package only chooses
// what to hold a response to and says precisely what is wrong.
package openapitest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
	"github.com/pb33f/libopenapi/orderedmap"

	"github.com/erasured/erasured/openapi"
)

// Validator checks exchanges against the document and the JSON:API rules.
//
// Build one per test binary (NewValidator compiles every schema of the document) and share
// it: Check is safe for concurrent use.
type Validator struct {
	responses validator.Validator
	// The document describes no answer to a path or a method it does not have; the contract
	// does: 404 and 405 error documents. These operations hold those answers to it.
	unknownPath, unknownMethod *v3.PathItem
}

// NewValidator parses the embedded document, builds its OpenAPI 3.1 model and compiles
// every schema in it. It fails when the document does not build.
func NewValidator() (*Validator, error) {
	doc, err := libopenapi.NewDocument(openapi.Document())
	if err != nil {
		return nil, fmt.Errorf("openapi: parse openapi.json: %w", err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		return nil, fmt.Errorf("openapi: build openapi.json: %w", err)
	}
	responses := model.Model.Components.Responses
	notFound, methodNotAllowed := responses.GetOrZero("NotFound"), responses.GetOrZero("MethodNotAllowed")
	if notFound == nil || methodNotAllowed == nil {
		return nil, errors.New("openapi: openapi.json lacks components.responses NotFound or MethodNotAllowed")
	}
	return &Validator{
		responses: validator.NewValidatorFromV3Model(&model.Model,
			// uuid, date-time and uri formats are part of the contract, not annotations.
			config.WithFormatAssertions(),
			config.WithXmlBodyValidation(),
		),
		unknownPath:   answering(http.StatusNotFound, notFound),
		unknownMethod: answering(http.StatusMethodNotAllowed, methodNotAllowed),
	}, nil
}

// answering returns a path item whose every method answers only status, as r.
func answering(status int, r *v3.Response) *v3.PathItem {
	codes := orderedmap.New[string, *v3.Response]()
	codes.Set(fmt.Sprint(status), r)
	op := &v3.Operation{Responses: &v3.Responses{Codes: codes}}
	return &v3.PathItem{Get: op, Put: op, Post: op, Delete: op, Options: op, Head: op, Patch: op, Trace: op}
}

// Check validates one exchange: the response status, headers (Content-Type, Location, ETag
// where documented) and body against the operation matched by req's method and path (path
// templating), and — when the Content-Type is application/vnd.api+json — the JSON:API 1.1
// document rules. It returns a descriptive error listing every violation, or nil.
//
// An undocumented path may only answer 404, and an undocumented method on a documented path
// only 405, each as a JSON:API error document; anything else there is a violation. A CORS
// preflight (OPTIONS with Access-Control-Request-Method) may also answer 200 or 204 without
// a body. req is only read: its method, URL path and query (include, fields[TYPE]); its body
// is never touched. header and body are only read.
func (v *Validator) Check(req *http.Request, status int, header http.Header, body []byte) error {
	resp := &http.Response{StatusCode: status, Header: header, Body: http.NoBody, Request: req}
	if len(body) > 0 {
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	var problems []string
	_, errs := v.responses.ValidateHttpResponse(req, resp)
	switch {
	case len(req.URL.Path) > 1 && strings.HasSuffix(req.URL.Path, "/"):
		// The library matches /requests/ to /requests; the document has no such path.
		problems = v.undocumented(req, resp, "path", http.StatusNotFound, v.unknownPath)
	case len(errs) > 0 && errs[0].IsPathMissingError():
		problems = v.undocumented(req, resp, "path", http.StatusNotFound, v.unknownPath)
	case len(errs) > 0 && errs[0].IsOperationMissingError():
		if !isPreflightAnswer(req, status, body) {
			problems = v.undocumented(req, resp, "method", http.StatusMethodNotAllowed, v.unknownMethod)
		}
	default:
		for _, e := range errs {
			problems = append(problems, describe(e, req, resp)...)
		}
	}
	if ct := header.Get("Content-Type"); isJSONAPI(ct) {
		problems = append(problems, jsonapiViolations(req.URL.Query(), status, ct, body)...)
	}
	if len(problems) == 0 {
		return nil
	}
	return violations(req, status, header, body, problems)
}

// undocumented holds the answer to a path or method the document does not have to the one
// answer the contract allows there: status, as allowed describes it.
func (v *Validator) undocumented(req *http.Request, resp *http.Response, what string, status int, allowed *v3.PathItem) []string {
	if resp.StatusCode != status {
		return []string{fmt.Sprintf("%s %s: the %s is not in the document; it may only answer %d, not %d",
			req.Method, req.URL.Path, what, status, resp.StatusCode)}
	}
	_, errs := v.responses.GetResponseBodyValidator().ValidateResponseBodyWithPathItem(req, resp, allowed, "(undocumented "+what+")")
	var problems []string
	for _, e := range errs {
		problems = append(problems, describe(e, req, resp)...)
	}
	return problems
}

// isPreflightAnswer reports whether the exchange is a CORS preflight answered without a body:
// CORS, not the document, describes those.
func isPreflightAnswer(req *http.Request, status int, body []byte) bool {
	return req.Method == http.MethodOptions && req.Header.Get("Access-Control-Request-Method") != "" &&
		(status == http.StatusOK || status == http.StatusNoContent) && len(body) == 0
}

// isJSONAPI reports whether a Content-Type names the JSON:API media type, with or without
// parameters.
func isJSONAPI(contentType string) bool {
	base, _, _ := strings.Cut(contentType, ";")
	return strings.EqualFold(strings.TrimSpace(base), mediaType)
}

// describe turns one library error into lines that say where and what: the status or media
// type that the operation does not document (and those it does), or, for a schema failure,
// the header or the JSON Pointer of the offending value in the body, then the reason.
func describe(e *liberrors.ValidationError, req *http.Request, resp *http.Response) []string {
	op, _ := e.Context.(*v3.Operation)
	switch {
	case e.ValidationSubType == helpers.ResponseBodyResponseCode && op != nil && op.Responses != nil:
		return []string{fmt.Sprintf("status %d is not documented for %s %s (documented: %s)",
			resp.StatusCode, req.Method, e.SpecPath, strings.Join(slices.Collect(op.Responses.Codes.KeysFromOldest()), ", "))}
	case e.ValidationSubType == helpers.RequestBodyContentType && op != nil && op.Responses != nil:
		var documented []string
		if r := op.Responses.FindResponseByCode(resp.StatusCode); r != nil {
			documented = slices.Collect(r.Content.KeysFromOldest())
		}
		ct := resp.Header.Get("Content-Type")
		if ct == "" {
			ct = "none"
		}
		return []string{fmt.Sprintf("Content-Type %s is not documented for %s %s → %d (documented: %s)",
			ct, req.Method, e.SpecPath, resp.StatusCode, strings.Join(documented, ", "))}
	case len(e.SchemaValidationErrors) == 0:
		return []string{strings.TrimSuffix(e.Message, ".") + ": " + e.Reason}
	}
	lines := make([]string, 0, len(e.SchemaValidationErrors))
	for _, f := range e.SchemaValidationErrors {
		where := "body " + pointer(f.InstancePath)
		switch {
		case e.ValidationSubType == helpers.ParameterValidationHeader: // a missing header
			where = "header " + f.FieldName
		case e.ParameterName != "": // a header that breaks its schema
			where = "header " + http.CanonicalHeaderKey(e.ParameterName)
		}
		lines = append(lines, where+": "+f.Reason)
	}
	return lines
}

// pointer writes a path as a JSON Pointer (RFC 6901).
func pointer(path []string) string {
	if len(path) == 0 {
		return "/"
	}
	var b strings.Builder
	for _, p := range path {
		b.WriteByte('/')
		b.WriteString(escape(p))
	}
	return b.String()
}

// violations is the error Check returns: the exchange, then one line per violation, then the
// start of the body, so that a failing test shows what the server said.
func violations(req *http.Request, status int, header http.Header, body []byte, problems []string) error {
	slices.Sort(problems)
	problems = slices.Compact(problems)
	var b strings.Builder
	ct := header.Get("Content-Type")
	if ct == "" {
		ct = "no Content-Type"
	} else if base, _, err := mime.ParseMediaType(ct); err == nil {
		ct = base
	}
	fmt.Fprintf(&b, "openapi: %s %s → %d (%s): %d violation(s):", req.Method, req.URL.RequestURI(), status, ct, len(problems))
	for _, p := range problems {
		b.WriteString("\n  - ")
		b.WriteString(p)
	}
	const show = 2000
	if len(body) > 0 {
		excerpt := string(body)
		if len(excerpt) > show {
			excerpt = strings.ToValidUTF8(excerpt[:show], "") + "…"
		}
		b.WriteString("\n  body: ")
		b.WriteString(excerpt)
	}
	return errors.New(b.String())
}
