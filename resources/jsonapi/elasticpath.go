package jsonapi

import (
	"net/http"
	"strconv"

	"github.com/go-json-experiment/json/jsontext"
)

// Elastic Path's own representation of the same documents: JSON:API-like, but not
// JSON:API. A resource's members sit directly under data beside its id and type, a
// document has no jsonapi member, a page's links carry current (its self), and an error
// is {"status","title","detail"}. Its media type is plain JSON. The documents are the
// ones Write writes, so both representations carry the same records, pages and
// statuses; only their shape differs.

// JSONType is the media type of Elastic Path's representation.
const JSONType = "application/json"

type epError struct {
	Status string `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

var epInternal = []byte(`{"errors":[{"status":"500","title":"Internal Server Error","detail":"internal error"}]}`)

// WriteElasticPath answers with doc in Elastic Path's representation. It returns the
// error of a document that could not be encoded, after answering 500 in its place.
func WriteElasticPath(w http.ResponseWriter, status int, doc *Document) error {
	return writeWith(w, status, JSONType, doc, appendElasticPath, epInternal)
}

// WriteElasticPathError answers with e as an Elastic Path error document.
func WriteElasticPathError(w http.ResponseWriter, e *Error) {
	_ = WriteElasticPath(w, e.Status, &Document{Errors: []ErrorObject{
		{Status: strconv.Itoa(e.Status), Title: http.StatusText(e.Status), Detail: e.Detail},
	}})
}

// appendElasticPath writes d in Elastic Path's shape: data, included, meta, links,
// errors, in the order Elastic Path writes them.
func appendElasticPath(b []byte, d *Document) ([]byte, error) {
	b = append(b, '{')
	empty := true
	sep := func() {
		if !empty {
			b = append(b, ',')
		}
		empty = false
	}
	var err error
	list := false
	switch data := d.Data.(type) {
	case *Object:
		sep()
		b = append(b, `"data":`...)
		if b, err = data.appendFlat(b); err != nil {
			return nil, err
		}
	case []*Object:
		sep()
		b = append(b, `"data":`...)
		if b, err = appendFlatObjects(b, data); err != nil {
			return nil, err
		}
		list = true
	}
	if len(d.Included) > 0 {
		sep()
		b = append(b, `"included":`...)
		if b, err = appendFlatObjects(b, d.Included); err != nil {
			return nil, err
		}
	}
	if len(d.Meta) > 0 {
		sep()
		b = append(b, `"meta":`...)
		if b, err = appendMarshaled(b, d.Meta); err != nil {
			return nil, err
		}
	}
	// A list's links, with current; a single resource's are not written.
	if list {
		sep()
		b = append(b, `"links":`...)
		b = d.Links.appendTo(b, true)
	}
	if len(d.Errors) > 0 {
		sep()
		b = append(b, `"errors":`...)
		if b, err = appendMarshaled(b, epErrors(d.Errors)); err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func epErrors(errs []ErrorObject) []epError {
	out := make([]epError, len(errs))
	for i, e := range errs {
		out[i] = epError{Status: e.Status, Title: e.Title, Detail: e.Detail}
	}
	return out
}

func appendFlatObjects(b []byte, rs []*Object) ([]byte, error) {
	b = append(b, '[')
	var err error
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = r.appendFlat(b); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// appendFlat writes r with its attributes beside its id and type.
func (r *Object) appendFlat(b []byte) ([]byte, error) {
	b = append(b, '{')
	b, wrote, err := r.appendAttributes(b)
	if err != nil {
		return nil, err
	}
	if wrote {
		b = append(b, ',')
	}
	b = append(b, `"id":`...)
	b, _ = jsontext.AppendQuote(b, r.ID)
	b = append(b, `,"type":`...)
	b, _ = jsontext.AppendQuote(b, r.Type)
	return append(r.appendLinks(b), '}'), nil
}
