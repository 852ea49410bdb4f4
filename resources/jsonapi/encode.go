package jsonapi

import (
	"bytes"
	"encoding/json"
	"iter"
	"reflect"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"
)

// This file writes documents straight into bytes. A list page is most of what the server
// writes, and encoding it through maps of attributes (sorted, boxed and reflected on)
// cost more than reading it from the database: each resource object is written here in
// the order of its type's table, its values by their Go types, and only what has no
// faster form (an object, a number) goes through encoding/json.

// Object is a resource object: its attributes are read when it is written.
type Object struct {
	Type, ID      string
	Relationships []Relationship
	attributes    iter.Seq2[string, any]
	fields        Fieldset
	self          string
}

// Relationship is a to-many relationship of a resource object: the link to its related
// resources, and, when they are included, their linkage.
type Relationship struct {
	Name, Related string
	// Data is the linkage, written when it is not nil, even empty.
	Data []Identifier
}

// Identifier is a resource identifier object.
type Identifier struct{ Type, ID string }

// NewObject is the resource object of type typ and id with the attributes in fields
// and, when self is not empty, links.self.
func NewObject(typ, id string, attributes iter.Seq2[string, any], fields Fieldset, self string) *Object {
	return &Object{Type: typ, ID: id, attributes: attributes, fields: fields, self: self}
}

// appendTo writes r.
func (r *Object) appendTo(b []byte) ([]byte, error) {
	b = append(b, `{"type":`...)
	b, _ = jsontext.AppendQuote(b, r.Type)
	b = append(b, `,"id":`...)
	b, _ = jsontext.AppendQuote(b, r.ID)
	b = append(b, `,"attributes":{`...)
	b, _, err := r.appendAttributes(b)
	if err != nil {
		return nil, err
	}
	b = append(b, '}')
	return append(r.appendLinks(b), '}'), nil
}

// appendAttributes writes r's attributes in its fieldset as members of an object
// already open, and says whether it wrote any.
func (r *Object) appendAttributes(b []byte) ([]byte, bool, error) {
	// The iterator is called, not ranged over: a range over a function whose body
	// returns moves this function's results and parameters to the heap, and what the
	// body shares with this function does too, so that is one struct.
	m := members{b: b, fields: r.fields}
	r.attributes(m.add)
	if m.err != nil {
		return nil, false, m.err
	}
	return m.b, m.wrote, nil
}

// members writes the members of an object.
type members struct {
	b      []byte
	fields Fieldset
	wrote  bool
	err    error
}

// add writes member name, if the fieldset keeps it; it fails when v cannot be written.
func (m *members) add(name string, v any) bool {
	if !m.fields.Has(name) {
		return true
	}
	if m.wrote {
		m.b = append(m.b, ',')
	}
	m.wrote = true
	m.b, _ = jsontext.AppendQuote(m.b, name)
	m.b = append(m.b, ':')
	m.b, m.err = AppendValue(m.b, v)
	return m.err == nil
}

// appendLinks writes r's relationships and links.self, each after a comma.
func (r *Object) appendLinks(b []byte) []byte {
	if len(r.Relationships) > 0 {
		b = append(b, `,"relationships":{`...)
		for i, rel := range r.Relationships {
			if i > 0 {
				b = append(b, ',')
			}
			b = rel.appendTo(b)
		}
		b = append(b, '}')
	}
	if r.self != "" {
		b = append(b, `,"links":{"self":`...)
		b, _ = jsontext.AppendQuote(b, r.self)
		b = append(b, '}')
	}
	return b
}

func (rel Relationship) appendTo(b []byte) []byte {
	b, _ = jsontext.AppendQuote(b, rel.Name)
	b = append(b, `:{"links":{"related":`...)
	b, _ = jsontext.AppendQuote(b, rel.Related)
	b = append(b, '}')
	if rel.Data != nil {
		b = append(b, `,"data":[`...)
		for i, id := range rel.Data {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"type":`...)
			b, _ = jsontext.AppendQuote(b, id.Type)
			b = append(b, `,"id":`...)
			b, _ = jsontext.AppendQuote(b, id.ID)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, '}')
}

// An Appender writes itself as JSON, as encoding/json would but for the quoting of its
// strings, which is AppendValue's.
type Appender interface{ AppendJSON(b []byte) []byte }

// AppendValue writes v, a value of an attribute or a pointer to one (erasured.Type.Read),
// as JSON: nil pointers, maps and slices as null, times in RFC 3339 as they are (in UTC),
// text as text, an Appender as it writes itself; what has no form of its own here, as
// encoding/json writes it, without escaping &, < and >. The documents and the export
// write every value with it.
func AppendValue(b []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case string:
		b, _ = jsontext.AppendQuote(b, v)
		return b, nil
	case *string:
		if v == nil {
			return append(b, "null"...), nil
		}
		b, _ = jsontext.AppendQuote(b, *v)
		return b, nil
	case **string:
		return AppendValue(b, *v)
	case time.Time:
		return appendTime(b, v), nil
	case *time.Time:
		if v == nil {
			return append(b, "null"...), nil
		}
		return appendTime(b, *v), nil
	case **time.Time:
		return AppendValue(b, *v)
	case []string:
		return appendStrings(b, v), nil
	case *[]string:
		return appendStrings(b, *v), nil
	case json.RawMessage:
		return appendRaw(b, v)
	case *json.RawMessage:
		return appendRaw(b, *v)
	case bool:
		return strconv.AppendBool(b, v), nil
	case int:
		return strconv.AppendInt(b, int64(v), 10), nil
	case int64:
		return strconv.AppendInt(b, v, 10), nil
	case map[string]any:
		return appendMembers(b, v)
	case Appender:
		return v.AppendJSON(b), nil
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return append(b, "null"...), nil
		}
		rv = rv.Elem()
	}
	switch {
	case rv.Kind() == reflect.String:
		// A type defined on string, such as a status.
		b, _ = jsontext.AppendQuote(b, rv.String())
		return b, nil
	case rv.Kind() == reflect.Slice && rv.IsNil():
		return append(b, "null"...), nil
	case rv.Kind() == reflect.Slice && rv.Len() == 0:
		return append(b, "[]"...), nil
	}
	return appendMarshaled(b, v)
}

// appendMembers writes m as encoding/json writes a map, its keys in order: a document's
// meta is such a map, and encoding/json sorted and reflected on it at a cost of about
// half of writing a resource. Values of a type that AppendValue
// writes itself are written by it; the others by encoding/json, as before.
func appendMembers(b []byte, m map[string]any) ([]byte, error) {
	if m == nil {
		return append(b, "null"...), nil
	}
	var kept [8]string // a document's maps have a few members: no allocation to sort them
	keys := kept[:0]
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b, _ = jsontext.AppendQuote(b, k)
		b = append(b, ':')
		var err error
		switch v := m[k].(type) {
		case nil, string, *string, bool, int, int64, map[string]any:
			b, err = AppendValue(b, v)
		default:
			b, err = appendMarshaled(b, v)
		}
		if err != nil {
			return nil, err
		}
	}
	return append(b, '}'), nil
}

func appendStrings(b []byte, v []string) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b, _ = jsontext.AppendQuote(b, s)
	}
	return append(b, ']')
}

func appendRaw(b []byte, v json.RawMessage) ([]byte, error) {
	if v == nil {
		return append(b, "null"...), nil
	}
	// Compacted, as encoding/json writes it: a jsonb column reads back with spaces.
	buf := bytes.NewBuffer(b)
	err := json.Compact(buf, v)
	return buf.Bytes(), err
}

func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// marshaler is an encoder with its buffer, for appendMarshaled.
type marshaler struct {
	buf bytes.Buffer
	enc *json.Encoder
}

// marshalers recycles them: appendMarshaled runs for every value that has no form of its
// own here (a document's errors, a partial failure), and a new pair for each was
// an allocation apiece. A sync.Pool, as encoding/json keeps its own encoders.
var marshalers = sync.Pool{New: func() any {
	m := &marshaler{}
	m.enc = json.NewEncoder(&m.buf)
	m.enc.SetEscapeHTML(false)
	return m
}}

// appendMarshaled writes v as encoding/json does, without escaping &, < and >.
func appendMarshaled(b []byte, v any) ([]byte, error) {
	m := marshalers.Get().(*marshaler)
	defer func() {
		if m.buf.Cap() <= maxPooled {
			marshalers.Put(m)
		}
	}()
	m.buf.Reset()
	if err := m.enc.Encode(v); err != nil {
		return nil, err
	}
	return append(b, bytes.TrimSuffix(m.buf.Bytes(), []byte("\n"))...), nil
}

// appendDocument writes d: the members JSON:API defines, in the order a reader expects
// them: resource objects by appendTo, errors by encoding/json, meta by appendMembers and
// links by Links.appendTo.
func appendDocument(b []byte, d *Document) ([]byte, error) {
	b = append(b, `{"jsonapi":{"version":"1.1"}`...)
	var err error
	switch data := d.Data.(type) {
	case nil:
	case *Object:
		b = append(b, `,"data":`...)
		if b, err = data.appendTo(b); err != nil {
			return nil, err
		}
	case []*Object:
		b = append(b, `,"data":`...)
		if b, err = appendObjects(b, data); err != nil {
			return nil, err
		}
	}
	if len(d.Errors) > 0 {
		b = append(b, `,"errors":`...)
		if b, err = appendMarshaled(b, d.Errors); err != nil {
			return nil, err
		}
	}
	if d.Included != nil {
		b = append(b, `,"included":`...)
		if b, err = appendObjects(b, d.Included); err != nil {
			return nil, err
		}
	}
	if len(d.Meta) > 0 {
		b = append(b, `,"meta":`...)
		if b, err = appendMembers(b, d.Meta); err != nil {
			return nil, err
		}
	}
	if d.Links.Base != "" {
		b = append(b, `,"links":`...)
		b = d.Links.appendTo(b, false)
	}
	return append(b, '}'), nil
}

// appendTo writes l, its names in order as encoding/json writes a map's. In Elastic
// Path's representation (elasticPath), a page's links carry current, its self, in place
// of describedby, and a page without a last link has last: null.
func (l *Links) appendTo(b []byte, elasticPath bool) []byte {
	if elasticPath {
		b = append(b, `{"current":`...)
		b = appendHref(b, l.Self)
	} else {
		// The OpenAPI document's URL, without building it: the base quoted, and the
		// path, which needs no escaping, put inside its closing quote.
		b = append(b, `{"describedby":`...)
		b, _ = jsontext.AppendQuote(b, l.Base)
		b = append(b[:len(b)-1], `/openapi.json"`...)
	}
	if l.First != "" {
		b = append(b, `,"first":`...)
		b = appendHref(b, l.First)
	}
	if l.Last != "" || elasticPath && l.Paged {
		b = append(b, `,"last":`...)
		b = appendHref(b, l.Last)
	}
	if l.Paged {
		b = append(b, `,"next":`...)
		b, _ = AppendValue(b, l.Next)
		b = append(b, `,"prev":`...)
		b, _ = AppendValue(b, l.Prev)
	}
	if l.Self != "" {
		b = append(b, `,"self":`...)
		b = appendHref(b, l.Self)
	}
	return append(b, '}')
}

// appendHref writes a link, or null for none.
func appendHref(b []byte, href string) []byte {
	if href == "" {
		return append(b, "null"...)
	}
	b, _ = jsontext.AppendQuote(b, href)
	return b
}

func appendObjects(b []byte, rs []*Object) ([]byte, error) {
	b = append(b, '[')
	var err error
	for i, r := range rs {
		if i > 0 {
			b = append(b, ',')
		}
		if b, err = r.appendTo(b); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}
