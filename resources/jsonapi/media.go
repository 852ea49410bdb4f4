// Package jsonapi is erasured's JSON:API document layer: media types and their
// negotiation, documents and error documents, the query parameters JSON:API defines
// (fields, sort, include) and the strict reading of a query string, and the strict
// decoding of request bodies that tells an absent member from a null one.
//
// google/jsonapi (frozen at v1.0.0) gives the resource objects (Node); it has no top-level
// jsonapi member, no error source and no null links, and cannot tell null from absent,
// so everything around resource objects is written here. The package knows nothing of
// the resource types, of storage or of a server: links are built from a base URL given
// as a value, and errors are *Error values that the HTTP layer writes.
package jsonapi

import (
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// MediaType is the JSON:API media type.
const MediaType = "application/vnd.api+json"

// Range is one media range of an Accept header (RFC 9110 §12.5.1).
type Range struct {
	Type   string            // lower case; may be "*/*" or "type/*"
	Params map[string]string // without q
	Q      float64
}

// ParseAccept reads the media ranges of Accept header values, skipping malformed ones
// (an unparsable range or q) as if they were not there. It reports whether the header
// said anything at all; an absent or blank Accept means "anything".
func ParseAccept(values []string) (ranges []Range, given bool) {
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			given = true
			mt, params, err := mime.ParseMediaType(part)
			if err != nil || !strings.Contains(mt, "/") {
				continue
			}
			q := 1.0
			if s, ok := params["q"]; ok {
				q, err = strconv.ParseFloat(strings.TrimSpace(s), 64)
				if err != nil || q < 0 || q > 1 {
					continue
				}
				delete(params, "q")
			}
			ranges = append(ranges, Range{Type: mt, Params: params, Q: q})
		}
	}
	return ranges, given
}

// Offer is a media type the server can answer in, or take a body in.
type Offer struct {
	Type string
	// Params are the parameters a client may name, with the value each must have (""
	// for any): a range or a Content-Type with any other cannot be satisfied.
	Params map[string]string
}

// specificity orders ranges as RFC 9110 §12.5.1 does: "*/*" < "type/*" < "type/sub" <
// "type/sub;param=value".
func (m Range) specificity() int {
	switch {
	case m.Type == "*/*":
		return 0
	case strings.HasSuffix(m.Type, "/*"):
		return 1
	case len(m.Params) == 0:
		return 2
	}
	return 3
}

// matches reports whether the range covers o, parameters included.
func (m Range) matches(o Offer) bool {
	typ, _, _ := strings.Cut(o.Type, "/")
	switch {
	case m.Type == "*/*":
	case strings.HasSuffix(m.Type, "/*"):
		if strings.TrimSuffix(m.Type, "/*") != typ {
			return false
		}
	case m.Type != o.Type:
		return false
	}
	return o.allows(m.Params)
}

func (o Offer) allows(params map[string]string) bool {
	for k, v := range params {
		want, ok := o.Params[k]
		if !ok || (want != "" && !strings.EqualFold(v, want)) {
			return false
		}
	}
	return true
}

// Choose picks the offer an Accept header asks for (RFC 9110 §12.5.1): each offer takes
// the quality of the most specific range that covers it (the first of equally specific
// ones), and the highest quality above zero wins; ties go to the more specific range,
// then to the range written first, then to the earlier offer. So "*/*" gets the first
// offer, as does an absent Accept. It answers 406 when no offer is acceptable.
func Choose(accept []string, offers ...Offer) (Offer, error) {
	ranges, given := ParseAccept(accept)
	if !given {
		return offers[0], nil
	}
	type candidate struct {
		o                  Offer
		q                  float64
		specificity, index int
	}
	var best *candidate
	for _, o := range offers {
		var c *candidate
		for i, m := range ranges {
			if m.matches(o) && (c == nil || m.specificity() > c.specificity) {
				c = &candidate{o: o, q: m.Q, specificity: m.specificity(), index: i}
			}
		}
		if c == nil || c.q == 0 {
			continue
		}
		if best == nil || c.q > best.q ||
			(c.q == best.q && (c.specificity > best.specificity ||
				(c.specificity == best.specificity && c.index < best.index))) {
			best = c
		}
	}
	if best == nil {
		types := make([]string, len(offers))
		for i, o := range offers {
			types[i] = o.Type
		}
		return Offer{}, &Error{Status: http.StatusNotAcceptable, Code: "not_acceptable",
			Detail: "this can be had as " + strings.Join(types, ", ") + "; Accept allows none of them"}
	}
	return best.o, nil
}

// CheckAccept applies JSON:API's rule to Accept: a server must ignore the instances of the
// JSON:API media type that carry parameters other than profile (erasured supports no
// extension), and answer 406 when every instance does and nothing else in Accept takes
// a JSON document. application/json, application/* and */* take one.
func CheckAccept(values []string) error {
	ranges, given := ParseAccept(values)
	if !given {
		return nil
	}
	jsonapi := 0
	for _, m := range ranges {
		switch {
		case m.Q == 0:
		case m.Type == MediaType:
			jsonapi++
			if (Offer{Params: map[string]string{"profile": ""}}).allows(m.Params) {
				return nil
			}
		case m.Type == "application/json", m.Type == "application/*", m.Type == "*/*":
			return nil
		}
	}
	if jsonapi > 0 {
		return &Error{Status: http.StatusNotAcceptable, Code: "not_acceptable",
			Detail: fmt.Sprintf("every %s media type in Accept carries parameters other than profile", MediaType)}
	}
	return &Error{Status: http.StatusNotAcceptable, Code: "not_acceptable",
		Detail: fmt.Sprintf("this endpoint answers only %s (or application/json)", MediaType)}
}

// Named reports which of JSON:API and plain JSON an Accept header names outright, with
// a quality above zero. A JSON:API range counts only when it carries no parameter but
// profile, as CheckAccept reads it; wildcards name neither.
func Named(values []string) (jsonapi, json bool) {
	ranges, _ := ParseAccept(values)
	for _, m := range ranges {
		switch {
		case m.Q == 0:
		case m.Type == MediaType:
			jsonapi = jsonapi || (Offer{Params: map[string]string{"profile": ""}}).allows(m.Params)
		case m.Type == JSONType:
			json = true
		}
	}
	return jsonapi, json
}

// Bodies are the media types a JSON:API endpoint takes a body in: JSON:API, with a profile
// but no extension (erasured supports none, and a client that relies on one must be
// told), or plain JSON, as Elastic Path clients send.
var Bodies = []Offer{
	{Type: MediaType, Params: map[string]string{"profile": ""}},
	{Type: "application/json", Params: map[string]string{"charset": "utf-8"}},
}

// CheckContentType answers 415 unless contentType is one of offers, with parameters it
// allows. A body without a Content-Type is refused rather than guessed at.
func CheckContentType(contentType string, offers ...Offer) error {
	mt, params, err := mime.ParseMediaType(contentType)
	if err == nil {
		for _, o := range offers {
			if mt == o.Type && o.allows(params) {
				return nil
			}
		}
	}
	types := make([]string, len(offers))
	for i, o := range offers {
		types[i] = o.Type
	}
	return &Error{Status: http.StatusUnsupportedMediaType, Code: "unsupported_media_type",
		Detail: fmt.Sprintf("Content-Type must be %s (without parameters other than %s), got %q",
			strings.Join(types, " or "), paramNames(offers), contentType)}
}

func paramNames(offers []Offer) string {
	var names []string
	for _, o := range offers {
		for k := range o.Params {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
