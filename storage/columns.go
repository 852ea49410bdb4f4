package storage

import (
	"database/sql/driver"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"time"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/erasured/erasured"
)

// ErrUnreadable is what reading a row returns, wrapped, when a stored value cannot be
// read back as what its column holds: a row written by hand, or by a version whose rules
// let a value through that no version can read (a timestamp outside years 1 to 9999 on
// SQLite). Whoever reads many rows skips such a row rather than stop at it.
var ErrUnreadable = errors.New("a stored value cannot be read")

// timeColumn scans a timestamp from either dialect: PostgreSQL gives time.Time, SQLite
// the text written by timeArg.
type timeColumn struct{ time.Time }

func (t *timeColumn) Scan(src any) error {
	switch v := src.(type) {
	case time.Time:
		t.Time = v.UTC()
		return nil
	case string:
		return t.parse(v)
	case []byte:
		return t.parse(string(v))
	}
	return fmt.Errorf("%w: timestamp column: unexpected %T", ErrUnreadable, src)
}

func (t *timeColumn) parse(s string) error {
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("%w: timestamp column: %v", ErrUnreadable, err)
	}
	t.Time = v.UTC()
	return nil
}

// nullTimeColumn is a timeColumn that may be NULL.
type nullTimeColumn struct{ Time *time.Time }

func (t *nullTimeColumn) Scan(src any) error {
	if src == nil {
		t.Time = nil
		return nil
	}
	var c timeColumn
	if err := c.Scan(src); err != nil {
		return err
	}
	t.Time = &c.Time
	return nil
}

// jsonColumn holds a JSON document: jsonb on PostgreSQL, TEXT on SQLite.
type jsonColumn[T any] struct {
	V T
	// memo, when set, decodes through it.
	memo *memo[T]
}

func (j *jsonColumn[T]) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	case nil:
		var zero T
		j.V = zero
		return nil
	default:
		return fmt.Errorf("%w: json column: unexpected %T", ErrUnreadable, src)
	}
	// encoding/json/v2's decoder: a page reads a few of these per row, and it decodes them
	// in a fraction of the time and allocations of encoding/json's.
	var err error
	if j.memo != nil {
		err = j.memo.decode(b, &j.V)
	} else {
		err = jsonv2.Unmarshal(b, &j.V)
	}
	if err != nil {
		return fmt.Errorf("%w: json column: %v", ErrUnreadable, err)
	}
	return nil
}

// memo remembers what JSON texts decoded to, for the columns whose few values recur row
// after row: an erasure request's initiator is its API key's, the same on every request
// the key filed, and its lists of services are the same few lists. Decoding them cost
// more than the rest of reading a request by id. What a caller gets is a copy (clone),
// so that no two callers share what either may change.
type memo[T any] struct {
	clone func(T) T
	mu    sync.RWMutex
	known map[string]T
}

// maxMemo bounds a memo: past it, it starts over.
const maxMemo = 1024

func newMemo[T any](clone func(T) T) *memo[T] {
	return &memo[T]{clone: clone, known: make(map[string]T)}
}

func (m *memo[T]) decode(b []byte, out *T) error {
	m.mu.RLock()
	known, ok := m.known[string(b)]
	m.mu.RUnlock()
	if ok {
		*out = m.clone(known)
		return nil
	}
	if err := jsonv2.Unmarshal(b, out); err != nil {
		return err
	}
	m.mu.Lock()
	if len(m.known) >= maxMemo {
		clear(m.known)
	}
	m.known[string(b)] = m.clone(*out)
	m.mu.Unlock()
	return nil
}

// memos are a DB's memos of the erasure requests' JSON columns.
type memos struct {
	initiators *memo[erasured.Initiator]
	services   *memo[[]string]
	failures   *memo[[]erasured.PartialFailure]
}

func newMemos() memos {
	return memos{
		initiators: newMemo(func(v erasured.Initiator) erasured.Initiator { return v }),
		services:   newMemo(slices.Clone[[]string]),
		failures:   newMemo(slices.Clone[[]erasured.PartialFailure]),
	}
}

func (j jsonColumn[T]) Value() (driver.Value, error) {
	b, err := json.Marshal(j.V)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

func jsonArg[T any](v T) jsonColumn[T] { return jsonColumn[T]{V: v} }

// arg is the value of an attribute, as the domain holds it (erasured.Type.Value), as a
// SQL argument: NULL for a nil pointer, map or slice; a time as timeArg writes it; a type
// defined on string as a string; and any other map, slice or struct as JSON text.
func (db *DB) arg(v any) (any, error) {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return nil, nil
	}
	switch rv.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice:
		if rv.IsNil() {
			return nil, nil
		}
	}
	if rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	if t, ok := rv.Interface().(time.Time); ok {
		return db.timeArg(t), nil
	}
	switch rv.Kind() {
	case reflect.String:
		return rv.String(), nil
	case reflect.Map, reflect.Slice, reflect.Struct:
		b, err := json.Marshal(rv.Interface())
		if err != nil {
			return nil, fmt.Errorf("column value: %w", err)
		}
		return string(b), nil
	}
	return rv.Interface(), nil
}
