package erasured

import (
	"bytes"
	"encoding/json"
	"fmt"
	"iter"
	"maps"
	"reflect"
	"slices"
	"strings"

	"github.com/erasured/erasured/filters"
)

// This file is how a resource type is declared: one table per type, beside its domain
// type, that says every rule about each attribute once. Decoding and validating a body,
// the filterable and sortable attributes, fields[T], the columns storage filters, sorts
// and erases, the representation and the export all read it from there.

// Access says what clients may do with an attribute.
type Access uint16

const (
	// Read: the attribute is part of the type's representation.
	Read Access = 1 << iota
	// Create: a POST may give it.
	Create
	// Required: a POST must give it, and not as null.
	Required
	// Patch: a PATCH may change it.
	Patch
	// Sortable: sort= may name it. It needs a Column.
	Sortable
	// Personal: it is personal data, which an erasure clears to null. It needs a Column
	// and must be Nullable.
	Personal
)

// The filter operators an attribute may take, by what its values can be compared with.
var (
	FilterText    = []filters.Op{filters.Eq, filters.In, filters.Like, filters.Gt, filters.Ge, filters.Lt, filters.Le}
	FilterOrdered = []filters.Op{filters.Eq, filters.In, filters.Gt, filters.Ge, filters.Lt, filters.Le}
	FilterExact   = []filters.Op{filters.Eq, filters.In}
	FilterEq      = []filters.Op{filters.Eq}
)

// Attribute declares one attribute of a resource type.
type Attribute struct {
	// Name is the attribute's name as clients write it.
	Name string
	// Column is where storage keeps it; empty for an attribute computed from others.
	// Renaming the attribute never changes the column.
	Column string
	// Kind is the type of the values a client may send, in a body or a filter.
	Kind Kind
	// Nullable says the attribute may be null, and that a client may send null to clear
	// it (where it may send it at all).
	Nullable bool
	Access   Access
	// Filter lists the operators filter= may apply to it; none when it is not filterable.
	Filter []filters.Op
	// FilterKind, when set, is the kind of filter values, where they differ from the
	// values a client sends in a body.
	FilterKind Kind
}

// Can reports whether the attribute allows every access in x.
func (a *Attribute) Can(x Access) bool { return a.Access&x == x }

// Field is an attribute of records of type T, with how to read and write it in a record.
type Field[T any] struct {
	Attribute
	get func(*T) any
	// read is what Read yields: for an attribute held in a field, a pointer to it,
	// since a pointer fits in an interface value where a string, a time or a slice is
	// copied to the heap, once for every value of every page.
	read func(*T) any
	set  func(*T, any) // nil when a client's value is not stored as it comes
}

// Ref declares an attribute held as it is in the field of T that ref points at. The
// field has the Go type of the kind's values (a pointer to it when the attribute is
// nullable, or a type defined on it, such as a status).
func Ref[T, V any](a Attribute, ref func(*T) *V) Field[T] {
	f := Held(a, ref)
	f.set = func(r *T, v any) { assign(ref(r), v) }
	return f
}

// Held declares an attribute held in the field of T that ref points at, which a
// client's value never sets as it comes: one that only the server sets, or that
// changes only through a rule of the domain (an erasure request's report).
func Held[T, V any](a Attribute, ref func(*T) *V) Field[T] {
	return Field[T]{
		Attribute: a,
		get:       func(r *T) any { return *ref(r) },
		read:      func(r *T) any { return ref(r) },
	}
}

// Getter declares an attribute that is computed from a record.
func Getter[T any](a Attribute, get func(*T) any) Field[T] {
	return Field[T]{Attribute: a, get: get, read: get}
}

// assign stores v, a value of a kind or nil for null, in dst.
func assign[V any](dst *V, v any) {
	d := reflect.ValueOf(dst).Elem()
	if v == nil {
		d.SetZero()
		return
	}
	src := reflect.ValueOf(v)
	if d.Kind() == reflect.Pointer && src.Kind() != reflect.Pointer {
		p := reflect.New(d.Type().Elem())
		p.Elem().Set(src.Convert(d.Type().Elem()))
		d.Set(p)
		return
	}
	d.Set(src.Convert(d.Type()))
}

// Values are the attributes a client sent, decoded by their kinds: an absent attribute
// has no entry, and a null one the value nil.
type Values map[string]any

// Type declares a resource type: its name, its id, and its attributes in the order its
// representation lists them.
type Type[T any] struct {
	// Name is the JSON:API type.
	Name string
	// DefaultSort is the order of a list without sort=.
	DefaultSort []Sort
	// Relationships are the names of the type's relationships, for fields[T].
	Relationships []string

	id      Field[T]
	fields  []Field[T]
	byName  map[string]*Field[T]
	filters []filters.Attribute
	// fieldNames is FieldNames, which every request that reads fields[T] consults.
	fieldNames []string
}

// NewType declares a type. id reads a record's id; its Column and Kind say how storage
// keeps ids and how an id in a URL or a cursor is read. It panics on a declaration that
// breaks the rules of Access, which is a bug in the declaration.
func NewType[T any](name string, id Field[T], fields []Field[T], defaultSort []Sort, relationships ...string) *Type[T] {
	t := &Type[T]{Name: name, DefaultSort: defaultSort, Relationships: relationships, id: id,
		fields: fields, byName: make(map[string]*Field[T], len(fields))}
	for i := range t.fields {
		f := &t.fields[i]
		stored := f.Column != ""
		switch {
		case t.byName[f.Name] != nil:
			panic(fmt.Sprintf("%s.%s is declared twice", name, f.Name))
		case f.Kind == nil:
			panic(fmt.Sprintf("%s.%s has no kind", name, f.Name))
		case (f.Can(Sortable) || len(f.Filter) > 0 || f.Can(Personal)) && !stored:
			panic(fmt.Sprintf("%s.%s is sortable, filterable or personal without a column", name, f.Name))
		case f.Can(Personal) && !f.Nullable:
			panic(fmt.Sprintf("%s.%s is personal, so erasing it makes it null: it must be nullable", name, f.Name))
		case f.Can(Create) && f.set == nil:
			panic(fmt.Sprintf("%s.%s may be created but has nowhere to go", name, f.Name))
		}
		t.byName[f.Name] = f
		if len(f.Filter) > 0 {
			kind := f.Kind
			if f.FilterKind != nil {
				kind = f.FilterKind
			}
			t.filters = append(t.filters, filters.Attribute{Name: f.Name, Ops: f.Filter, Parse: kind.Parse})
		}
	}
	for _, s := range defaultSort {
		if f := t.byName[s.Attribute]; f == nil || !f.Can(Sortable) {
			panic(fmt.Sprintf("%s sorts by default on %q, which is not sortable", name, s.Attribute))
		}
	}
	t.fieldNames = slices.Clip(append(t.Named(Read), relationships...))
	return t
}

// ID is the declaration of the type's id: its Column and Kind.
func (t *Type[T]) ID() Attribute { return t.id.Attribute }

// IDOf returns the id of r.
func (t *Type[T]) IDOf(r *T) string { return t.id.get(r).(string) }

// SameID reports whether a and b name one record: ids are compared as their kind reads
// them, so that two spellings of one uuid are the same id.
func (t *Type[T]) SameID(a, b string) bool {
	if a == b {
		return true
	}
	va, errA := t.id.Kind.Parse(a)
	vb, errB := t.id.Kind.Parse(b)
	return errA == nil && errB == nil && va == vb
}

// Attributes returns the declarations of the type's attributes, in order.
func (t *Type[T]) Attributes() []Attribute {
	out := make([]Attribute, len(t.fields))
	for i, f := range t.fields {
		out[i] = f.Attribute
	}
	return out
}

// Attribute returns the declaration of attribute name.
func (t *Type[T]) Attribute(name string) (Attribute, bool) {
	if f := t.byName[name]; f != nil {
		return f.Attribute, true
	}
	return Attribute{}, false
}

// Filters returns the filterable attributes, for filters.Parse.
func (t *Type[T]) Filters() []filters.Attribute { return t.filters }

// Named returns the names of the attributes that allow access, in order.
func (t *Type[T]) Named(access Access) []string {
	var out []string
	for _, f := range t.fields {
		if f.Can(access) {
			out = append(out, f.Name)
		}
	}
	return out
}

// FieldNames returns what fields[T] may name: the readable attributes, then the
// relationships.
func (t *Type[T]) FieldNames() []string { return t.fieldNames }

// Read yields the readable attributes of r, in order, each as the Go value its JSON
// representation encodes (nil pointers and maps are null, times are in UTC) or, for an
// attribute held in a field of r, a pointer to that value: a reader writes or copies it
// before r changes, and Value gives the value itself.
func (t *Type[T]) Read(r *T) iter.Seq2[string, any] {
	return func(yield func(string, any) bool) {
		for _, f := range t.fields {
			if f.Can(Read) && !yield(f.Name, f.read(r)) {
				return
			}
		}
	}
}

// Value returns the value of attribute name of r.
func (t *Type[T]) Value(r *T, name string) any { return t.byName[name].get(r) }

// Decode reads the members a client sent to create a record (op Create) or to change one
// (op Patch): each must be an attribute that op allows, null only where the attribute is
// nullable, and otherwise a value of its kind; on Create every Required attribute must be
// there. Members are read in the order of their names, so that a body with several
// faults always draws the same error. It returns EINVALID naming the attribute at fault.
func (t *Type[T]) Decode(members map[string]json.RawMessage, op Access) (Values, error) {
	out := make(Values, len(members))
	for _, name := range slices.Sorted(maps.Keys(members)) {
		f := t.byName[name]
		switch {
		case f == nil:
			return nil, FieldErrorf(name, "%s has no attribute %q; %s", t.Name, name, t.accepted(op))
		case !f.Can(op):
			return nil, FieldErrorf(name, "%s cannot be %s; %s", name, verb(op), t.accepted(op))
		}
		raw := bytes.TrimSpace(members[name])
		if string(raw) == "null" {
			switch {
			case f.Can(Required) && op == Create:
				return nil, FieldErrorf(name, "%s is required", name)
			case !f.Nullable && op == Create:
				return nil, FieldErrorf(name, "%s cannot be null; leave it out for the default", name)
			case !f.Nullable:
				return nil, FieldErrorf(name, "%s cannot be null; leave it out to keep it as it is", name)
			}
			out[name] = nil
			continue
		}
		v, err := f.Kind.Decode(raw)
		if err != nil {
			return nil, FieldErrorf(name, "%s %v", name, err)
		}
		out[name] = v
	}
	if op == Create {
		for _, f := range t.fields {
			if _, ok := out[f.Name]; f.Can(Required) && !ok {
				return nil, FieldErrorf(f.Name, "%s is required", f.Name)
			}
		}
	}
	return out, nil
}

func verb(op Access) string {
	if op == Create {
		return "given on creation"
	}
	return "changed"
}

func (t *Type[T]) accepted(op Access) string {
	names := t.Named(op)
	if len(names) == 0 {
		return "it has none that can be " + verb(op)
	}
	return "those that can be " + verb(op) + ": " + strings.Join(names, ", ")
}

// Set stores the values in r, each in its field. Values of attributes that are not
// stored as they come are left to the caller.
func (t *Type[T]) Set(r *T, in Values) {
	for _, f := range t.fields {
		if v, ok := in[f.Name]; ok && f.set != nil {
			f.set(r, v)
		}
	}
}
