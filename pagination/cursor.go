package pagination

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// This file is cursor pagination, as the JSON:API cursor pagination profile defines it:
// page[size], page[after] and page[before], opaque cursors, prev and next links that are
// null at the ends, and rangeTruncated. Storage runs the keyset queries; this file only
// parses, encodes and links.

// Profile is the URI of the JSON:API cursor pagination profile.
const Profile = "https://jsonapi.org/profiles/ethanresnick/cursor-pagination/"

// The error types the profile names; the HTTP layer puts them in an error's links.type.
const (
	TypeMaxSizeExceeded       = Profile + "max-size-exceeded"
	TypeInvalidParameterValue = Profile + "invalid-parameter-value"
)

// MaxSize is the largest page[size]: the same bound as page[limit].
const MaxSize = MaxLimit

const (
	paramSize   = "page[size]"
	paramAfter  = "page[after]"
	paramBefore = "page[before]"
)

// cursorVersion is the first field of every encoded cursor. A cursor of another
// version, say from a server that encodes positions differently, is refused rather
// than misread.
const cursorVersion = 1

// Bounds on what a client can make the server decode. A real cursor holds a few sort
// keys and an id; resource_id values, the longest, are at most 255 characters.
const (
	maxCursorLen  = 4096 // characters of the encoded cursor
	maxCursorKeys = 16
)

// CursorPage is a request for a cursor page: Size items after After, or before Before,
// or between them (a range request, which reads forwards from After).
type CursorPage struct {
	Size   int
	After  *Cursor
	Before *Cursor
}

// Range reports whether p is a range request, with both page[after] and page[before].
func (p *CursorPage) Range() bool { return p.After != nil && p.Before != nil }

// Backward reports whether p reads backwards from its Before cursor: only page[before].
func (p *CursorPage) Backward() bool { return p.Before != nil && p.After == nil }

// Cursor is a position in a sorted list: the values of the sort keys, and last the id,
// of the item it falls on. Sort names the sort it belongs to (as the sort parameter
// writes it, the default made explicit), so that a cursor cannot be used with another.
//
// Keys holds string, time.Time (encoded as RFC 3339 with nanoseconds, in UTC) or nil
// (SQL NULL). ParseCursor gives back strings and nils only: the types of the columns,
// which storage knows, turn them back into times.
type Cursor struct {
	Sort string
	Keys []any
	// param is the query parameter the cursor came in, for errors about it.
	param string
}

// cursorJSON is the encoded form, before base64: small, versioned, and only ever read
// back by DecodeCursor.
type cursorJSON struct {
	V int       `json:"v"`
	S string    `json:"s"`
	K []*string `json:"k"`
}

// String encodes c as an opaque, URL-safe token.
func (c *Cursor) String() string {
	keys := make([]*string, len(c.Keys))
	for i, k := range c.Keys {
		var s string
		switch v := k.(type) {
		case nil:
			continue
		case string:
			s = v
		case time.Time:
			s = v.UTC().Format(time.RFC3339Nano)
		default:
			// Storage only hands over the kinds above; anything else is a bug there,
			// and a cursor that cannot be read back is the least harmful outcome.
			s = fmt.Sprint(v)
		}
		keys[i] = &s
	}
	b, _ := json.Marshal(cursorJSON{V: cursorVersion, S: c.Sort, K: keys}) // cannot fail: strings only
	return base64.RawURLEncoding.EncodeToString(b)
}

// Invalid returns the error for a cursor that does not fit the list it is used on (the
// sort differs, a value is not of its key's type), naming the parameter it came in.
func (c *Cursor) Invalid(format string, args ...any) *Error {
	return &Error{Parameter: c.param, Type: TypeInvalidParameterValue,
		Detail: c.param + " is not a cursor of this list: " + fmt.Sprintf(format, args...)}
}

// DecodeCursor reads a cursor made by Cursor.String, for param (e.g. "page[after]").
// It is strict, because the token comes from the client: anything that is not exactly
// such a cursor is an *Error of type TypeInvalidParameterValue.
func DecodeCursor(param, s string) (*Cursor, error) {
	bad := func(why string) error {
		return &Error{Parameter: param, Type: TypeInvalidParameterValue,
			Detail: param + " is not a valid cursor (" + why + "); use the links of a previous page"}
	}
	if s == "" {
		return nil, bad("it is empty")
	}
	if len(s) > maxCursorLen {
		return nil, bad("it is too long")
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, bad("it is not base64url")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var c cursorJSON
	if err := dec.Decode(&c); err != nil {
		return nil, bad("its content is malformed")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, bad("it has trailing data")
	}
	switch {
	case c.V != cursorVersion:
		return nil, bad("unknown version")
	case c.S == "" || strings.ContainsAny(c.S, " \t\r\n"):
		return nil, bad("no sort")
	case len(c.K) == 0 || len(c.K) > maxCursorKeys:
		return nil, bad("wrong number of keys")
	}
	keys := make([]any, len(c.K))
	for i, k := range c.K {
		if k != nil {
			keys[i] = *k
		}
	}
	if keys[len(keys)-1] == nil {
		return nil, bad("no id")
	}
	return &Cursor{Sort: c.S, Keys: keys, param: param}, nil
}

// IsCursor reports whether q asks for cursor pagination: it has page[size],
// page[after] or page[before].
func IsCursor(q url.Values) bool {
	return q.Has(paramSize) || q.Has(paramAfter) || q.Has(paramBefore)
}

// ParseCursor reads page[size], page[after] and page[before] from q. defaultSize (clamped
// to 1..MaxSize) applies when page[size] is absent, except on range requests, where the
// profile makes the default the maximum. Offset parameters alongside are an error:
// the two kinds of pagination do not mix. Errors are *Error; those the profile defines
// carry its Type.
func ParseCursor(q url.Values, defaultSize int) (*CursorPage, error) {
	for _, name := range []string{paramOffset, paramLimit, paramNumber} {
		if q.Has(name) {
			return nil, &Error{Parameter: name,
				Detail: name + " cannot be combined with " + paramSize + ", " + paramAfter + " or " + paramBefore +
					": use offset pagination or cursor pagination, not both"}
		}
	}
	p := &CursorPage{}
	for _, c := range []struct {
		name string
		dst  **Cursor
	}{{paramAfter, &p.After}, {paramBefore, &p.Before}} {
		vs, ok := q[c.name]
		if !ok {
			continue
		}
		if len(vs) != 1 {
			return nil, &Error{Parameter: c.name, Type: TypeInvalidParameterValue, Detail: c.name + " may be given only once"}
		}
		cur, err := DecodeCursor(c.name, vs[0])
		if err != nil {
			return nil, err
		}
		*c.dst = cur
	}
	if p.Range() && p.After.Sort != p.Before.Sort {
		return nil, p.Before.Invalid("it belongs to sort %q, and page[after] to sort %q", p.Before.Sort, p.After.Sort)
	}

	p.Size = min(max(defaultSize, 1), MaxSize)
	if p.Range() {
		p.Size = MaxSize
	}
	vs, ok := q[paramSize]
	if !ok {
		return p, nil
	}
	if len(vs) != 1 {
		return nil, &Error{Parameter: paramSize, Type: TypeInvalidParameterValue, Detail: paramSize + " may be given only once"}
	}
	// The profile: a positive integer, written as ^[0-9]+$.
	s := vs[0]
	n, err := strconv.Atoi(s)
	if !isDigits(s) || (err == nil && n < 1) {
		return nil, &Error{Parameter: paramSize, Type: TypeInvalidParameterValue,
			Detail: fmt.Sprintf("%s must be a positive integer, got %q", paramSize, s)}
	}
	// Digits that overflow an int are certainly more than MaxSize.
	if err != nil || n > MaxSize {
		return nil, &Error{Parameter: paramSize, Type: TypeMaxSizeExceeded, MaxSize: MaxSize,
			Detail: fmt.Sprintf("%s is %s, but at most %d items fit on a page", paramSize, s, MaxSize)}
	}
	p.Size = n
	return p, nil
}

func isDigits(s string) bool {
	return s != "" && strings.TrimLeft(s, "0123456789") == ""
}

// CursorMeta is meta.page of a cursor page.
type CursorMeta struct {
	Size int `json:"size"`
	// RangeTruncated is true when a range request matched more items than fit on
	// the page: the page then holds the first Size of them.
	RangeTruncated bool `json:"rangeTruncated,omitempty"`
}

// Meta computes meta.page for the page read for p; more says whether items follow the
// page in the direction it was read (see CursorLinks).
func (p *CursorPage) Meta(more bool) CursorMeta {
	return CursorMeta{Size: p.Size, RangeTruncated: p.Range() && more}
}

// CursorLinks are the links of a cursor page. Prev and Next are nil (JSON null) at the
// ends of the list. There is no last link: it would cost a query of its own.
type CursorLinks struct {
	Self, First string
	Prev, Next  *string
}

// Links builds the links of the page read for p, from base (scheme+host+path) and the
// client's query q. first and last are the cursors on the page's first and last items
// (nil when the page is empty); more says whether the query found items beyond the page
// in the direction it read: after it, or before it for a Backward page.
//
// The profile requires an exact null next link when the request had no page[before],
// and an exact null prev link when it had no page[after]; those are the directions
// the query read, so more answers them. The other direction is linked without a
// query: the page's own cursor item, at least, lies there unless it was deleted, and
// a link to an empty page is what the profile allows when unsure.
func (p *CursorPage) Links(base string, q url.Values, first, last *Cursor, more bool) CursorLinks {
	l := CursorLinks{Self: withQuery(base, q), First: p.at(base, q, "", nil)}
	switch {
	case p.Backward():
		if more && first != nil {
			l.Prev = strptr(p.at(base, q, paramBefore, first))
		}
		if last != nil {
			l.Next = strptr(p.at(base, q, paramAfter, last))
		} else {
			// Nothing lies before page[before], so the list starts at its cursor.
			l.Next = strptr(l.First)
		}
	default:
		if more && last != nil {
			l.Next = strptr(p.at(base, q, paramAfter, last))
		} else if p.Range() {
			// Past the range the list may go on; page[before] itself lies there.
			from := last
			if from == nil {
				from = p.After
			}
			l.Next = strptr(p.at(base, q, paramAfter, from))
		}
		switch {
		case first != nil && p.After != nil:
			l.Prev = strptr(p.at(base, q, paramBefore, first))
		case p.After != nil:
			l.Prev = strptr(p.at(base, q, paramBefore, p.After))
		}
	}
	return l
}

// at is the link to the page of p.Size items on the side dir ("" for the first page)
// of cursor c, with every non-paging parameter of q kept.
func (p *CursorPage) at(base string, q url.Values, dir string, c *Cursor) string {
	v := make(url.Values, len(q)+2)
	for k, vs := range q {
		if k != paramAfter && k != paramBefore && k != paramSize {
			v[k] = vs // read only by encode; q is never modified
		}
	}
	v[paramSize] = []string{strconv.Itoa(p.Size)}
	if dir != "" {
		v[dir] = []string{c.String()}
	}
	return withQuery(base, v)
}

func strptr(s string) *string { return &s }
