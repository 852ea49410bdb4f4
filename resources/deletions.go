package resources

import (
	"encoding/xml"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/google/jsonapi"
	"github.com/gorilla/mux"

	"github.com/erasured/erasured"
)

const (
	deletionType = "deletions"
	deletionPath = "/deletions"
)

// deletionFormat is one representation of a deletion: the Open Podcast API's plain JSON
// or XML, or a JSON:API resource. Each has its own error shape, so that a client reads
// a 401 or a 404 the way it reads the deletion itself.
type deletionFormat struct {
	mediaType string
	// params are the media type parameters a client may ask for, with the value
	// expected ("" for any); an Accept range with any other cannot be satisfied.
	params map[string]string
	// write answers 200 with d; fields is the sparse fieldset, only ever asked of JSON:API.
	write       func(s *Server, w http.ResponseWriter, r *http.Request, d *erasured.Deletion, fields fieldset) error
	renderError errorRenderer
}

// deletionFormats in the server's order of preference, which decides between
// representations that an Accept likes equally, as "*/*" does.
var deletionFormats = []*deletionFormat{
	{mediaType: "application/json", params: map[string]string{"charset": "utf-8"}, write: writeDeletionJSON, renderError: plainError},
	{mediaType: "application/xml", params: map[string]string{"charset": "utf-8"}, write: writeDeletionXML, renderError: xmlError},
	{mediaType: mediaType, params: map[string]string{"profile": ""}, write: (*Server).writeDeletionJSONAPI, renderError: jsonapiError},
}

// deletionURL is the absolute URL of deletion id.
func (s *Server) deletionURL(r *http.Request, id int64) string {
	return s.baseURL(r) + deletionPath + "/" + strconv.FormatInt(id, 10)
}

// deletion serves GET /deletions/{deletion_id}. The representation is chosen before
// anything else, so that every error after that, 401 included, is written in it. An
// Accept that no representation satisfies is answered with a JSON:API error document:
// it is the server's error shape wherever no other has been asked for, as on unknown
// paths, and its detail lists the media types that would have worked.
func (s *Server) deletion() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Caches must not hand one client's representation to another.
		w.Header().Add("Vary", "Accept")
		f, err := chooseDeletionFormat(r.Header.Values("Accept"))
		if err != nil {
			s.fail(w, r, jsonapiError, err)
			return
		}
		s.handle(f.renderError, func(w http.ResponseWriter, r *http.Request) error {
			return s.getDeletion(w, r, f)
		}).ServeHTTP(w, r)
	})
}

func (s *Server) getDeletion(w http.ResponseWriter, r *http.Request, f *deletionFormat) error {
	key, err := s.authorize(r, erasured.ScopeDeletionsRead)
	if err != nil {
		return err
	}
	var fields fieldset
	if f.mediaType == mediaType {
		if fields, err = onlyFields(r, deletionType, []string{"status", "message"}); err != nil {
			return err
		}
	} else if err := checkQuery(r); err != nil {
		return err
	}
	raw := mux.Vars(r)["deletion_id"]
	id, err := strconv.ParseInt(raw, 10, 64)
	// Only the canonical decimal form names a deletion, so that each has one URL.
	if err != nil || id < 1 || strconv.FormatInt(id, 10) != raw {
		return erasured.Errorf(erasured.ENOTFOUND, "no deletion %q: deletion ids are positive integers", raw)
	}
	d, err := s.db.Deletion(r.Context(), key.StoreID, id)
	if err != nil {
		return err
	}
	return f.write(s, w, r, d, fields)
}

// deletionStatus is the Open Podcast API's deletion status, in its member order, as
// JSON and as XML.
type deletionStatus struct {
	XMLName    xml.Name `json:"-" xml:"deletion"`
	DeletionID int64    `json:"deletion_id" xml:"deletion_id"`
	Status     string   `json:"status" xml:"status"`
	Message    string   `json:"message" xml:"message"`
}

func deletionBody(d *erasured.Deletion) deletionStatus {
	return deletionStatus{DeletionID: d.ID, Status: d.Status, Message: d.Message}
}

func writeDeletionJSON(_ *Server, w http.ResponseWriter, _ *http.Request, d *erasured.Deletion, _ fieldset) error {
	writeJSON(w, http.StatusOK, deletionBody(d))
	return nil
}

func writeDeletionXML(_ *Server, w http.ResponseWriter, _ *http.Request, d *erasured.Deletion, _ fieldset) error {
	return writeXML(w, http.StatusOK, deletionBody(d))
}

// deletionView is a deletion as a JSON:API resource; its id is the deletion_id.
type deletionView struct {
	ID      string `jsonapi:"primary,deletions"`
	Status  string `jsonapi:"attr,status"`
	Message string `jsonapi:"attr,message"`
	self    string
}

// JSONAPILinks gives each deletion its links.self.
func (v *deletionView) JSONAPILinks() *jsonapi.Links { return &jsonapi.Links{"self": v.self} }

func (s *Server) writeDeletionJSONAPI(w http.ResponseWriter, r *http.Request, d *erasured.Deletion, fields fieldset) error {
	nodes, err := marshalNodes(&deletionView{
		ID: strconv.FormatInt(d.ID, 10), Status: d.Status, Message: d.Message, self: s.deletionURL(r, d.ID),
	})
	if err != nil {
		return err
	}
	fields.apply(nodes[0])
	s.writeDocument(w, http.StatusOK, s.resourceDocument(r, s.selfURL(r), nodes[0]))
	return nil
}

// xmlProblem is an error in the XML representation.
type xmlProblem struct {
	XMLName xml.Name `xml:"error"`
	Status  int      `xml:"status"`
	Code    string   `xml:"code"`
	Message string   `xml:"message"`
}

// xmlError renders a problem as <error><status/><code/><message/></error>.
func xmlError(_ *Server, w http.ResponseWriter, _ *http.Request, p problem) {
	_ = writeXML(w, p.status, xmlProblem{Status: p.status, Code: p.code, Message: p.detail})
}

// xmlDeclaration opens every XML body. encoding/xml's own xml.Header ends with a newline
// that the Open Podcast API's documents do not have.
const xmlDeclaration = `<?xml version="1.0" encoding="UTF-8"?>`

// writeXML writes v with encoding/xml, which escapes text (and replaces characters XML
// cannot hold), so a failure reason can never break the document.
func writeXML(w http.ResponseWriter, status int, v any) error {
	body, err := xml.Marshal(v)
	if err != nil {
		return fmt.Errorf("marshal XML: %w", err)
	}
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xmlDeclaration))
	_, _ = w.Write(body) // the client hung up; nothing left to tell it
	return nil
}

// mediaRange is one entry of an Accept header.
type mediaRange struct {
	mediaType string // lower case; may be "*/*" or "type/*"
	params    map[string]string
	q         float64
}

// specificity orders ranges as RFC 9110 §12.5.1 does: "*/*" < "type/*" < "type/sub" <
// "type/sub;param=value".
func (m mediaRange) specificity() int {
	switch {
	case m.mediaType == "*/*":
		return 0
	case strings.HasSuffix(m.mediaType, "/*"):
		return 1
	case len(m.params) == 0:
		return 2
	}
	return 3
}

// matches reports whether the range covers f, parameters included.
func (m mediaRange) matches(f *deletionFormat) bool {
	typ, _, _ := strings.Cut(f.mediaType, "/")
	switch {
	case m.mediaType == "*/*":
	case strings.HasSuffix(m.mediaType, "/*"):
		if strings.TrimSuffix(m.mediaType, "/*") != typ {
			return false
		}
	case m.mediaType != f.mediaType:
		return false
	}
	for k, v := range m.params {
		want, ok := f.params[k]
		if !ok || (want != "" && !strings.EqualFold(v, want)) {
			return false
		}
	}
	return true
}

// parseAccept reads the media ranges of Accept header values, skipping malformed ones
// (an unparsable range or q) as if they were not there. It reports whether the header
// said anything at all; an absent or blank Accept means "anything".
func parseAccept(values []string) (ranges []mediaRange, given bool) {
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
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
				q, err = strconv.ParseFloat(s, 64)
				if err != nil || q < 0 || q > 1 {
					continue
				}
				delete(params, "q")
			}
			ranges = append(ranges, mediaRange{mediaType: mt, params: params, q: q})
		}
	}
	return ranges, given
}

// chooseDeletionFormat picks the representation an Accept header asks for (RFC 9110
// §12.5.1): each representation takes the quality of the most specific range that
// covers it (the first of equally specific ones), and the highest quality above zero
// wins; ties go to the more specific range, then to the range written first, then to
// the server's preference. So "*/*" and "application/*" get JSON, and
// "application/json;q=0, */*" gets XML. It answers 406 when no representation is
// acceptable.
func chooseDeletionFormat(accept []string) (*deletionFormat, error) {
	ranges, given := parseAccept(accept)
	if !given {
		return deletionFormats[0], nil
	}
	type candidate struct {
		f                  *deletionFormat
		q                  float64
		specificity, index int
	}
	var best *candidate
	for _, f := range deletionFormats {
		var c *candidate
		for i, m := range ranges {
			if m.matches(f) && (c == nil || m.specificity() > c.specificity) {
				c = &candidate{f: f, q: m.q, specificity: m.specificity(), index: i}
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
		types := make([]string, len(deletionFormats))
		for i, f := range deletionFormats {
			types[i] = f.mediaType
		}
		return nil, &apiError{status: http.StatusNotAcceptable, code: "not_acceptable",
			detail: "a deletion can be had as " + strings.Join(types, ", ") + "; Accept allows none of them"}
	}
	return best.f, nil
}
