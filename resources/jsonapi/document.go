package jsonapi

import (
	"bytes"
	"encoding/json"
	"iter"
	"net/http"

	gjsonapi "github.com/google/jsonapi"
)

// Document is a top-level JSON:API document. Write adds the jsonapi member.
type Document struct {
	JSONAPI  map[string]string `json:"jsonapi"`
	Data     any               `json:"data,omitempty"`
	Errors   []ErrorObject     `json:"errors,omitempty"`
	Included any               `json:"included,omitempty"`
	Meta     map[string]any    `json:"meta,omitempty"`
	Links    map[string]any    `json:"links,omitempty"`
}

// Links are the links every document has: self (when not empty) and describedby, the
// OpenAPI document under base.
func Links(base, self string) map[string]any {
	links := map[string]any{"describedby": base + "/openapi.json"}
	if self != "" {
		links["self"] = self
	}
	return links
}

// internal is what a client reads when a document cannot be written.
var internal = []byte(`{"jsonapi":{"version":"1.1"},"errors":[{"status":"500","code":"internal","title":"Internal Server Error","detail":"internal error"}]}`)

// Write answers with doc. It returns the error of a document that could not be encoded,
// after answering 500 in its place.
func Write(w http.ResponseWriter, status int, doc *Document) error {
	doc.JSONAPI = map[string]string{"version": "1.1"}
	return WriteJSON(w, status, MediaType, doc, internal)
}

// WriteJSON answers with v as JSON in contentType, a line of its own; when v cannot be
// encoded, it answers 500 with fallback and returns the error.
func WriteJSON(w http.ResponseWriter, status int, contentType string, v any, fallback []byte) error {
	body, err := Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, fallback
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n')) // the client hung up; nothing left to tell it
	return err
}

// Marshal encodes v as JSON without escaping &, < and >, which links are full of and
// which need no escaping outside HTML. Every JSON the server writes, documents and
// exported records alike, is encoded so.
func Marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// Fieldset is a sparse fieldset for one type; nil means every field.
type Fieldset map[string]bool

// Has reports whether the fieldset keeps the field name.
func (f Fieldset) Has(name string) bool { return f == nil || f[name] }

// Node is the resource object of type typ and id with the attributes in fields and, when
// self is not empty, links.self.
func Node(typ, id string, attributes iter.Seq2[string, any], fields Fieldset, self string) *gjsonapi.Node {
	n := &gjsonapi.Node{Type: typ, ID: id, Attributes: map[string]any{}}
	for name, v := range attributes {
		if fields.Has(name) {
			n.Attributes[name] = v
		}
	}
	if self != "" {
		n.Links = &gjsonapi.Links{"self": self}
	}
	return n
}
