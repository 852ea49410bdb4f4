package erasured

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"
)

// Kind is the type of an attribute's values, with the rules every value of it obeys on
// every path that takes one from a client: a member of a body (Decode), a value of a
// filter or a key of a cursor (Parse). Each kind says which Go type its values have.
// Null is never a value of a kind: whether an attribute may be null is the attribute's
// business (Attribute.Nullable).
//
// The errors of Decode and Parse are written for the client and say what a value must
// be ("must be ..."), without naming the attribute, which the caller knows.
type Kind interface {
	// Decode reads a JSON value that is not null.
	Decode(raw json.RawMessage) (any, error)
	// Parse reads a value written as text, as filters and cursors write them. Only the
	// rules of the kind apply, not its bounds: a filter may look for a value that no
	// record could hold.
	Parse(text string) (any, error)
}

// Text reports whether s may be stored as text: valid UTF-8 without U+0000, which
// PostgreSQL cannot hold in a text column.
func Text(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

var errText = errors.New("must be valid UTF-8 text without the character U+0000")

// String is text of Min to Max characters (Unicode code points). Its values are strings.
type String struct{ Min, Max int }

// Decode reads a JSON string.
func (k String) Decode(raw json.RawMessage) (any, error) {
	s, err := jsonString(raw, k.want)
	if err != nil {
		return nil, err
	}
	return s, k.Check(s)
}

// jsonString reads a JSON string, or fails with want's error, which is only written
// then: most values are good, and formatting the message took as long as the reading.
func jsonString(raw json.RawMessage, want func() error) (string, error) {
	var s string
	if jsonv2.Unmarshal(raw, &s) != nil {
		return "", want()
	}
	return s, nil
}

// Parse accepts any text.
func (k String) Parse(text string) (any, error) {
	if !Text(text) {
		return nil, errText
	}
	return text, nil
}

// Check applies the kind's rules to s.
func (k String) Check(s string) error {
	if !Text(s) {
		return errText
	}
	if n := utf8.RuneCountInString(s); n < k.Min || n > k.Max {
		return k.want()
	}
	return nil
}

func (k String) want() error {
	if k.Min > 0 {
		return fmt.Errorf("must be a string of %d to %d characters", k.Min, k.Max)
	}
	return fmt.Errorf("must be a string of at most %d characters", k.Max)
}

// Enum is one of a fixed list of strings, compared exactly. Its values are strings.
type Enum []string

// Decode reads a JSON string.
func (k Enum) Decode(raw json.RawMessage) (any, error) {
	s, err := jsonString(raw, k.want)
	if err != nil {
		return nil, err
	}
	return k.Parse(s)
}

// Parse accepts one of the values.
func (k Enum) Parse(text string) (any, error) {
	if !slices.Contains(k, text) {
		return nil, k.want()
	}
	return text, nil
}

func (k Enum) want() error { return fmt.Errorf("must be one of %s", strings.Join(k, ", ")) }

// UUID is a UUID in its canonical form, 8-4-4-4-12 hex digits in either case. Its values
// are strings, in lower case, as PostgreSQL writes a uuid.
type UUID struct{}

// Decode reads a JSON string.
func (k UUID) Decode(raw json.RawMessage) (any, error) {
	s, err := jsonString(raw, k.want)
	if err != nil {
		return nil, err
	}
	return k.Parse(s)
}

// Parse accepts the canonical form only (not braces nor urn:uuid:), so that a record has
// one spelling that every client can compare.
func (k UUID) Parse(text string) (any, error) {
	if len(text) != 36 {
		return nil, k.want()
	}
	for i := range len(text) {
		c := text[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return nil, k.want()
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return nil, k.want()
			}
		}
	}
	return strings.ToLower(text), nil
}

func (UUID) want() error { return errors.New("must be a UUID (8-4-4-4-12 hex digits)") }

// Timestamp is an instant written in RFC 3339, between 0001-01-01 and 9999-12-31 in UTC
// once its offset is applied: the years RFC 3339 can write and both stores can hold. Its
// values are times in UTC, to the microsecond, the precision both stores keep, so that a
// time reads back exactly as it was written.
type Timestamp struct{}

// Decode reads a JSON string.
func (k Timestamp) Decode(raw json.RawMessage) (any, error) {
	s, err := jsonString(raw, k.want)
	if err != nil {
		return nil, err
	}
	return k.Parse(s)
}

// Parse reads RFC 3339, with fractions of a second or without.
func (k Timestamp) Parse(text string) (any, error) {
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return nil, k.want()
	}
	if err := CheckTime(t); err != nil {
		return nil, err
	}
	return t.UTC().Truncate(time.Microsecond), nil
}

// CheckTime applies the rules of Timestamp to a time that did not come as text.
func CheckTime(t time.Time) error {
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return errors.New("must lie between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z once its offset is applied")
	}
	return nil
}

func (Timestamp) want() error {
	return errors.New("must be an RFC 3339 timestamp, such as 2026-01-02T15:04:05Z")
}

// Number is a finite JSON number. Its values are float64.
type Number struct{}

// Decode reads a JSON number.
func (Number) Decode(raw json.RawMessage) (any, error) {
	var f float64
	if json.Unmarshal(raw, &f) != nil {
		return nil, errors.New("must be a number")
	}
	return f, nil
}

// Parse refuses: no number is filtered on or paged by.
func (Number) Parse(string) (any, error) { return nil, errors.New("cannot be written as text") }

// Integer is a whole JSON number from Min to Max. Its values are int64.
type Integer struct{ Min, Max int64 }

// Decode reads a JSON number without a fraction or an exponent.
func (k Integer) Decode(raw json.RawMessage) (any, error) {
	var n int64
	if bytes.ContainsAny(raw, ".eE") || json.Unmarshal(raw, &n) != nil || n < k.Min || n > k.Max {
		return nil, fmt.Errorf("must be a whole number from %d to %d", k.Min, k.Max)
	}
	return n, nil
}

// Parse reads a decimal integer, without its bounds.
func (k Integer) Parse(text string) (any, error) {
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		return nil, errors.New("must be a whole number")
	}
	return n, nil
}

// Object is a JSON object whose strings, names included, are text (see Text). Its values
// are map[string]any with numbers as json.Number, so that they read back exactly as
// they were written.
type Object struct{}

// Decode reads a JSON object.
func (Object) Decode(raw json.RawMessage) (any, error) {
	raw = bytes.TrimSpace(raw)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if len(raw) == 0 || raw[0] != '{' || dec.Decode(&m) != nil || dec.More() {
		return nil, errors.New("must be a JSON object")
	}
	if !textOnly(m) {
		return nil, errText
	}
	return m, nil
}

// Parse refuses: no object is filtered on or paged by.
func (Object) Parse(string) (any, error) { return nil, errors.New("cannot be written as text") }

func textOnly(v any) bool {
	switch v := v.(type) {
	case string:
		return Text(v)
	case map[string]any:
		for k, e := range v {
			if !Text(k) || !textOnly(e) {
				return false
			}
		}
	case []any:
		for _, e := range v {
			if !textOnly(e) {
				return false
			}
		}
	}
	return true
}

// List is an array of at most Max strings, each of kind Elem. Its values are []string.
type List struct {
	Elem String
	Max  int
}

// Decode reads a JSON array of strings.
func (k List) Decode(raw json.RawMessage) (any, error) {
	var list []string
	if json.Unmarshal(raw, &list) != nil || list == nil {
		return nil, k.want()
	}
	return list, k.Check(list)
}

// Check applies the kind's rules to list.
func (k List) Check(list []string) error {
	if len(list) > k.Max {
		return k.want()
	}
	for _, s := range list {
		if err := k.Elem.Check(s); err != nil {
			return fmt.Errorf("has an entry that %w", err)
		}
	}
	return nil
}

func (k List) want() error {
	return fmt.Errorf("must be an array of at most %d strings", k.Max)
}

// Parse refuses: no list is filtered on or paged by.
func (List) Parse(string) (any, error) { return nil, errors.New("cannot be written as text") }

// Bool is true or false. Its values are bools; as text, "true" or "false".
type Bool struct{}

// Decode reads a JSON boolean.
func (Bool) Decode(raw json.RawMessage) (any, error) {
	var b bool
	if json.Unmarshal(raw, &b) != nil {
		return nil, errors.New("must be true or false")
	}
	return b, nil
}

// Parse reads "true" or "false", as a filter writes them.
func (Bool) Parse(text string) (any, error) {
	switch text {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return nil, errors.New("must be true or false")
}
