package jsonapi

import (
	"net/http"
	"slices"
	"strconv"
	"sync"
)

// Document is a top-level JSON:API document; Write adds the jsonapi member.
type Document struct {
	// Data is an *Object, a []*Object, or nil for none (an error or meta document).
	Data   any
	Errors []ErrorObject
	// Included is written when it is not nil, even empty.
	Included []*Object
	Meta     map[string]any
	Links    Links
}

// Links are a document's top-level links. Every document has describedby, the OpenAPI
// document under Base; the others are left out when empty, but a page's prev and next,
// which the pagination profiles want as null when there is no such page. A struct and
// not a map: every answer has links, and a map of them was five allocations apiece.
type Links struct {
	// Base is the scheme, host and prefix of the server's URLs.
	Base              string
	Self, First, Last string
	Prev, Next        *string
	// Paged says that the document is a page: prev and next are written, null when nil.
	Paged bool
}

// internal is what a client reads when a document cannot be written.
var internal = []byte(`{"jsonapi":{"version":"1.1"},"errors":[{"status":"500","code":"internal","title":"Internal Server Error","detail":"internal error"}]}`)

// Write answers with doc. It returns the error of a document that could not be encoded,
// after answering 500 in its place.
func Write(w http.ResponseWriter, status int, doc *Document) error {
	return writeWith(w, status, MediaType, doc, appendDocument, internal)
}

// bodies recycles the buffers that documents are written into. A page is tens of
// kilobytes, and growing a new buffer to that size for every answer was most of the
// bytes the server allocated: a sync.Pool, as net/http and encoding/json keep theirs.
var bodies = sync.Pool{New: func() any { return new([]byte) }}

// maxPooled is the largest buffer kept for reuse: one export-sized answer must not pin
// its memory for good.
const maxPooled = 1 << 20

// writeWith answers with doc as appendDoc writes it, in a buffer from bodies.
func writeWith(w http.ResponseWriter, status int, contentType string, doc *Document,
	appendDoc func([]byte, *Document) ([]byte, error), fallback []byte) error {
	buf := bodies.Get().(*[]byte)
	body, err := appendDoc((*buf)[:0], doc)
	err = write(w, status, contentType, body, err, fallback)
	if cap(body) <= maxPooled {
		*buf = body[:0]
		bodies.Put(buf)
	}
	return err
}

// WriteJSON answers with v as JSON in contentType; when v cannot be encoded, it answers
// 500 with fallback and returns the error.
func WriteJSON(w http.ResponseWriter, status int, contentType string, v any, fallback []byte) error {
	body, err := Marshal(v)
	return write(w, status, contentType, body, err, fallback)
}

// write answers with body, a line of its own, or with fallback when err says body could
// not be made.
func write(w http.ResponseWriter, status int, contentType string, body []byte, err error, fallback []byte) error {
	if err != nil {
		// Clipped, so that the newline goes into a copy, never into the shared fallback.
		status, body = http.StatusInternalServerError, slices.Clip(fallback)
	}
	body = append(body, '\n')
	h := w.Header()
	h.Set("Content-Type", contentType)
	// With its length known, net/http writes the answer whole rather than in chunks,
	// which took a system call more for every page.
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client hung up; nothing left to tell it
	return err
}

// Marshal encodes v as JSON without escaping &, < and >, which links are full of and
// which need no escaping outside HTML.
func Marshal(v any) ([]byte, error) { return appendMarshaled(nil, v) }

// Fieldset is a sparse fieldset for one type; nil means every field.
type Fieldset map[string]bool

// Has reports whether the fieldset keeps the field name.
func (f Fieldset) Has(name string) bool { return f == nil || f[name] }
