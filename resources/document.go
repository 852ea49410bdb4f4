package resources

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/jsonapi"

	"github.com/erasured/erasured"
)

// This file is the JSON:API document layer: media type negotiation, the top-level
// document, sparse fieldsets and sorting, and request decoding. google/jsonapi
// marshals resource objects; everything around them is written here, because
// google/jsonapi v1.0.0 has no jsonapi member, no error source, no null links and
// cannot tell null from absent.

const mediaType = "application/vnd.api+json"

// document is a top-level JSON:API document.
type document struct {
	JSONAPI  map[string]string `json:"jsonapi"`
	Data     any               `json:"data,omitempty"`
	Errors   []errorObject     `json:"errors,omitempty"`
	Included any               `json:"included,omitempty"`
	Meta     map[string]any    `json:"meta,omitempty"`
	Links    map[string]any    `json:"links,omitempty"`
}

func (s *Server) writeDocument(w http.ResponseWriter, status int, doc *document) {
	doc.JSONAPI = map[string]string{"version": "1.1"}
	body, err := marshal(doc)
	if err != nil {
		s.log.Error("marshal document", "err", err)
		status, body = http.StatusInternalServerError, []byte(`{"jsonapi":{"version":"1.1"},"errors":[{"status":"500","code":"internal","title":"Internal Server Error","detail":"internal error"}]}`)
	}
	w.Header().Set("Content-Type", mediaType)
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client hung up; nothing left to tell it
}

// negotiate applies JSON:API's media type rules before a handler runs: a body in a
// JSON:API media type with parameters other than ext or profile is 415 (plain
// application/json is accepted too, as Elastic Path clients send it), and an Accept
// whose JSON:API media types all carry such parameters is 406.
func (s *Server) negotiate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := checkContentType(r); err != nil {
			w.Header().Set("Accept", mediaType+", application/json")
			s.fail(w, r, jsonapiError, err)
			return
		}
		if err := checkAccept(r.Header.Values("Accept")); err != nil {
			s.fail(w, r, jsonapiError, err)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func checkContentType(r *http.Request) error {
	if r.Method != http.MethodPost && r.Method != http.MethodPatch {
		return nil
	}
	ct := r.Header.Get("Content-Type")
	unsupported := &apiError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
		detail: fmt.Sprintf("Content-Type must be %s or application/json, got %q", mediaType, ct)}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return unsupported
	}
	switch mt {
	case "application/json":
		return nil
	case mediaType:
		for k := range params {
			if k != "profile" {
				// erasured supports no extension, and a client that relies on one
				// must be told.
				unsupported.detail = fmt.Sprintf("media type parameter %q is not supported on %s", k, mediaType)
				return unsupported
			}
		}
		return nil
	}
	return unsupported
}

func checkAccept(values []string) error {
	var jsonapiTypes, usable int
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			mt, params, err := mime.ParseMediaType(part)
			if err != nil {
				continue
			}
			if q, ok := params["q"]; ok && isZeroQ(q) {
				continue
			}
			switch mt {
			case mediaType:
				jsonapiTypes++
				if onlyJSONAPIParams(params) {
					usable++
				}
			case "application/json", "application/*", "*/*":
				usable++
			}
		}
	}
	if len(values) == 0 || usable > 0 {
		return nil
	}
	if jsonapiTypes > 0 {
		return &apiError{status: http.StatusNotAcceptable, code: "not_acceptable",
			detail: fmt.Sprintf("every %s media type in Accept carries parameters other than profile", mediaType)}
	}
	return &apiError{status: http.StatusNotAcceptable, code: "not_acceptable",
		detail: fmt.Sprintf("this endpoint answers only %s (or application/json)", mediaType)}
}

// onlyJSONAPIParams reports whether an Accept entry for the JSON:API media type is one
// erasured can answer: profile is fine, ext is not (erasured supports no extension),
// and q is an accept parameter, not a media type parameter.
func onlyJSONAPIParams(params map[string]string) bool {
	for k := range params {
		if k != "profile" && k != "q" {
			return false
		}
	}
	return true
}

func isZeroQ(q string) bool {
	v, err := strconv.ParseFloat(strings.TrimSpace(q), 64)
	return err == nil && v == 0
}

// checkQuery rejects any query parameter that the endpoint does not support, and any
// supported one given more than once.
func checkQuery(r *http.Request, allowed ...string) error {
	for k, vs := range r.URL.Query() {
		if !slices.Contains(allowed, k) {
			if strings.HasPrefix(k, "page[") {
				return paramError(k, "%s is not supported; use page[offset] and page[limit], or page[size] with page[after] or page[before]", k)
			}
			if len(allowed) == 0 {
				return paramError(k, "unknown query parameter %q; this endpoint accepts none", k)
			}
			return paramError(k, "unknown query parameter %q; this endpoint accepts %s", k, strings.Join(allowed, ", "))
		}
		if len(vs) > 1 {
			return paramError(k, "%s may be given only once", k)
		}
	}
	return nil
}

// parseSort reads sort=a,-b against the sortable attributes.
func parseSort(r *http.Request, sortable []string) ([]erasured.Sort, error) {
	raw, ok := r.URL.Query()["sort"]
	if !ok {
		return nil, nil
	}
	var out []erasured.Sort
	seen := map[string]bool{}
	for _, f := range strings.Split(raw[0], ",") {
		s := erasured.Sort{Attribute: strings.TrimPrefix(f, "-"), Desc: strings.HasPrefix(f, "-")}
		if !slices.Contains(sortable, s.Attribute) {
			return nil, paramError("sort", "cannot sort on %q; sortable attributes: %s", s.Attribute, strings.Join(sortable, ", "))
		}
		if seen[s.Attribute] {
			return nil, paramError("sort", "%q appears twice in sort", s.Attribute)
		}
		seen[s.Attribute] = true
		out = append(out, s)
	}
	return out, nil
}

// fieldset is a sparse fieldset for one type; nil means every field.
type fieldset map[string]bool

// parseFields reads fields[typ] against the type's fields (attributes and relationships).
func parseFields(r *http.Request, typ string, fields []string) (fieldset, error) {
	key := "fields[" + typ + "]"
	raw, ok := r.URL.Query()[key]
	if !ok {
		return nil, nil
	}
	set := fieldset{}
	if raw[0] == "" {
		return set, nil
	}
	for _, f := range strings.Split(raw[0], ",") {
		if !slices.Contains(fields, f) {
			return nil, paramError(key, "%s has no field %q; its fields: %s", typ, f, strings.Join(fields, ", "))
		}
		set[f] = true
	}
	return set, nil
}

// parseInclude reads include=a,b against the relationship paths the endpoint can
// include. It returns nil when r has no include, and otherwise the set of paths asked
// for, empty for include= (which asks for nothing, and still gets an empty included).
func parseInclude(r *http.Request, paths ...string) (map[string]bool, error) {
	raw, ok := r.URL.Query()["include"]
	if !ok {
		return nil, nil
	}
	set := map[string]bool{}
	if raw[0] == "" {
		return set, nil
	}
	for _, p := range strings.Split(raw[0], ",") {
		if !slices.Contains(paths, p) {
			return nil, paramError("include", "cannot include %q; this endpoint can include %s", p, strings.Join(paths, ", "))
		}
		set[p] = true
	}
	return set, nil
}

// onlyFields is for endpoints whose one query parameter is fields[typ]: it rejects any
// other, and reads that one.
func onlyFields(r *http.Request, typ string, fields []string) (fieldset, error) {
	if err := checkQuery(r, "fields["+typ+"]"); err != nil {
		return nil, err
	}
	return parseFields(r, typ, fields)
}

// apply keeps only the fieldset's members of a marshalled resource object.
func (f fieldset) apply(n *jsonapi.Node) {
	if f == nil {
		return
	}
	for k := range n.Attributes {
		if !f[k] {
			delete(n.Attributes, k)
		}
	}
	for k := range n.Relationships {
		if !f[k] {
			delete(n.Relationships, k)
		}
	}
}

// marshalNodes turns views (a pointer to a struct tagged for google/jsonapi, or a slice
// of them) into resource objects.
func marshalNodes(views any) ([]*jsonapi.Node, error) {
	p, err := jsonapi.Marshal(views)
	if err != nil {
		return nil, fmt.Errorf("marshal resource: %w", err)
	}
	switch p := p.(type) {
	case *jsonapi.OnePayload:
		return []*jsonapi.Node{p.Data}, nil
	case *jsonapi.ManyPayload:
		return p.Data, nil
	}
	return nil, fmt.Errorf("marshal resource: unexpected payload %T", p)
}

// timestamp is how every time leaves the server: RFC 3339 in UTC.
func timestamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func nullableTimestamp(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := timestamp(*t)
	return &s
}

// resourceIn is the primary data of a request document, its members still raw so that
// null can be told from absent.
type resourceIn struct {
	Type       *string
	ID         *string
	Attributes map[string]json.RawMessage
	// Other holds the members of data that JSON:API does not define, for the Elastic
	// Path form that puts attributes directly under data.
	Other map[string]json.RawMessage
}

// readBody reads the request body, which observe limits to MaxBodyBytes: past that it
// returns the *http.MaxBytesError that answers 413.
func readBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, err
		}
		return nil, bodyError("", "reading the request body: %v", err)
	}
	return body, nil
}

// decodeResource reads a single-resource request document.
func decodeResource(r *http.Request) (*resourceIn, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := strictJSON(body, &top); err != nil {
		return nil, err
	}
	if top == nil {
		return nil, bodyError("", "the request body must be a JSON:API document (a JSON object)")
	}
	for k := range top {
		if k != "data" && k != "meta" && k != "jsonapi" && k != "links" {
			return nil, bodyError("/"+k, "unknown top-level member %q", k)
		}
	}
	raw, ok := top["data"]
	if !ok || isNull(raw) {
		return nil, bodyError("/data", "the document must have primary data: a resource object")
	}
	var data map[string]json.RawMessage
	if err := json.Unmarshal(raw, &data); err != nil || data == nil {
		return nil, bodyError("/data", "data must be a single resource object")
	}
	in := &resourceIn{Other: map[string]json.RawMessage{}}
	for k, v := range data {
		switch k {
		case "type":
			if err := json.Unmarshal(v, &in.Type); err != nil || in.Type == nil {
				return nil, bodyError("/data/type", "type must be a string")
			}
		case "id":
			if err := json.Unmarshal(v, &in.ID); err != nil || in.ID == nil {
				return nil, bodyError("/data/id", "id must be a string")
			}
		case "attributes":
			if err := json.Unmarshal(v, &in.Attributes); err != nil || in.Attributes == nil {
				return nil, bodyError("/data/attributes", "attributes must be an object")
			}
		case "relationships", "meta", "links", "lid":
			// Nothing erasured accepts lives here; they are ignored as JSON:API allows.
		default:
			in.Other[k] = v
		}
	}
	if in.Type == nil {
		return nil, bodyError("/data/type", "a resource object must have a type")
	}
	return in, nil
}

// strictJSON decodes exactly one JSON value, with nothing after it.
func strictJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return bodyError("", "the request body is empty")
		}
		return bodyError("", "the request body is not valid JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return bodyError("", "the request body has data after its JSON value")
	}
	return nil
}

// marshal encodes v as JSON without escaping &, < and >, which links are full of and
// which need no escaping outside HTML.
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// checkType answers 409 when the document's type is not the endpoint's.
func checkType(in *resourceIn, typ string) error {
	if *in.Type != typ {
		return &apiError{status: http.StatusConflict, code: "conflict", pointer: "/data/type",
			detail: fmt.Sprintf("type %q does not match this endpoint's type %q", *in.Type, typ)}
	}
	return nil
}

// attribute is one decoded attribute: Present tells absent from null.
type attribute[T any] struct {
	Present bool
	Null    bool
	Value   T
}

// attr decodes attributes[name] into T, with a precise 400 when it does not fit.
func attr[T any](attrs map[string]json.RawMessage, pointerBase, name, want string) (attribute[T], error) {
	var a attribute[T]
	raw, ok := attrs[name]
	if !ok {
		return a, nil
	}
	a.Present = true
	if isNull(raw) {
		a.Null = true
		return a, nil
	}
	if err := json.Unmarshal(raw, &a.Value); err != nil {
		return a, bodyError(pointerBase+name, "%s must be %s", name, want)
	}
	return a, nil
}

// onlyAttributes answers 400 for any attribute outside allowed: the first in order, so
// that the same body always draws the same error.
func onlyAttributes(attrs map[string]json.RawMessage, pointerBase string, allowed ...string) error {
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if !slices.Contains(allowed, k) {
			return bodyError(pointerBase+k, "unknown or read-only attribute %q; accepted: %s", k, strings.Join(allowed, ", "))
		}
	}
	return nil
}
