package jsonapi

import (
	"net/http"
	"strconv"

	gjsonapi "github.com/google/jsonapi"
)

// Elastic Path's own representation of the same documents: JSON:API-like, but not
// JSON:API. A resource's members sit directly under data beside its id and type, a
// document has no jsonapi member, a page's links carry current (its self), and an error
// is {"status","title","detail"}. Its media type is plain JSON. The documents are the
// ones Write writes, so both representations carry the same records, pages and
// statuses; only their shape differs.

// JSONType is the media type of Elastic Path's representation.
const JSONType = "application/json"

// epDocument is a document in Elastic Path's shape, its members in the order Elastic
// Path writes them.
type epDocument struct {
	Data     any              `json:"data,omitempty"`
	Included []map[string]any `json:"included,omitempty"`
	Meta     map[string]any   `json:"meta,omitempty"`
	Links    map[string]any   `json:"links,omitempty"`
	Errors   []epError        `json:"errors,omitempty"`
}

type epError struct {
	Status string `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

var epInternal = []byte(`{"errors":[{"status":"500","title":"Internal Server Error","detail":"internal error"}]}`)

// WriteElasticPath answers with doc in Elastic Path's representation. It returns the
// error of a document that could not be encoded, after answering 500 in its place.
func WriteElasticPath(w http.ResponseWriter, status int, doc *Document) error {
	out := epDocument{Meta: doc.Meta}
	switch data := doc.Data.(type) {
	case *gjsonapi.Node:
		out.Data = flatten(data)
	case []*gjsonapi.Node:
		out.Data = flattenAll(data)
		// A list: its links, with current; a page's last is null where a cursor page
		// has none.
		out.Links = map[string]any{}
		for k, v := range doc.Links {
			if k != "describedby" {
				out.Links[k] = v
			}
		}
		out.Links["current"] = doc.Links["self"]
		if _, paged := doc.Meta["page"]; paged && out.Links["last"] == nil {
			out.Links["last"] = nil
		}
	}
	if included, ok := doc.Included.([]*gjsonapi.Node); ok {
		out.Included = flattenAll(included)
	}
	for _, e := range doc.Errors {
		out.Errors = append(out.Errors, epError{Status: e.Status, Title: e.Title, Detail: e.Detail})
	}
	return WriteJSON(w, status, JSONType, out, epInternal)
}

// WriteElasticPathError answers with e as an Elastic Path error document.
func WriteElasticPathError(w http.ResponseWriter, e *Error) {
	_ = WriteJSON(w, e.Status, JSONType, epDocument{Errors: []epError{
		{Status: strconv.Itoa(e.Status), Title: http.StatusText(e.Status), Detail: e.Detail},
	}}, epInternal)
}

func flattenAll(nodes []*gjsonapi.Node) []map[string]any {
	out := make([]map[string]any, len(nodes))
	for i, n := range nodes {
		out[i] = flatten(n)
	}
	return out
}

// flatten is a resource object with its attributes beside its id and type.
func flatten(n *gjsonapi.Node) map[string]any {
	m := make(map[string]any, len(n.Attributes)+4)
	for k, v := range n.Attributes {
		m[k] = v
	}
	m["id"], m["type"] = n.ID, n.Type
	if n.Links != nil {
		m["links"] = n.Links
	}
	if n.Relationships != nil {
		m["relationships"] = n.Relationships
	}
	return m
}
