// Package pagination owns paging for list endpoints: offset paging (page[offset] and
// page[limit]) and cursor paging (page[size], page[after] and page[before], as the
// JSON:API cursor pagination profile defines it). It parses the parameters, encodes
// and decodes the opaque cursors, computes meta.page, and builds the page links.
//
// It is pure: it never touches a database, never writes an HTTP response and
// never rejects query parameters that are not its own (the HTTP layer does
// that). Its errors are *Error, which the HTTP layer turns into a 400 with
// source.parameter.
package pagination

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

const (
	MaxLimit  = 100
	MaxOffset = 10000
)

const (
	paramOffset = "page[offset]"
	paramLimit  = "page[limit]"
	paramNumber = "page[number]"
)

// Page is an offset page: the records [Offset, Offset+Limit).
//
// The methods assume a Page within bounds (as Parse returns); a Limit below 1
// is a programming error and panics with a division by zero.
type Page struct {
	Offset int
	Limit  int
}

// Error is a bad page parameter; the HTTP layer reports it as a 400 with
// source.parameter = Parameter.
type Error struct {
	Parameter string // e.g. "page[limit]"
	Detail    string
	// Type is the error's type link, for the errors the cursor pagination profile
	// defines (TypeMaxSizeExceeded, TypeInvalidParameterValue); empty otherwise.
	Type string
	// MaxSize is the largest page[size], for TypeMaxSizeExceeded (meta.page.maxSize).
	MaxSize int
}

func (e *Error) Error() string { return e.Detail }

// Parse reads page[offset] and page[limit] from q (defaultLimit when
// page[limit] is absent; offset 0 when absent). Errors are *Error.
//
// Other page[...] keys are ignored: rejecting unknown parameters is the HTTP
// layer's job, and cursor parameters belong to a different paginator.
// defaultLimit is clamped to 1..MaxLimit so a bad --page-length can never
// produce an out-of-bounds Page.
func Parse(q url.Values, defaultLimit int) (Page, error) {
	if _, ok := q[paramNumber]; ok {
		return Page{}, &Error{
			Parameter: paramNumber,
			Detail:    paramNumber + " is not supported; use " + paramOffset + " and " + paramLimit,
		}
	}
	offset, err := parseParam(q, paramOffset, 0, MaxOffset, 0)
	if err != nil {
		return Page{}, err
	}
	limit, err := parseParam(q, paramLimit, 1, MaxLimit, min(max(defaultLimit, 1), MaxLimit))
	if err != nil {
		return Page{}, err
	}
	return Page{Offset: offset, Limit: limit}, nil
}

// parseParam reads one integer parameter within [lo, hi], or def when absent.
func parseParam(q url.Values, name string, lo, hi, def int) (int, error) {
	vs := q[name]
	switch len(vs) {
	case 0:
		return def, nil
	case 1:
	default:
		return 0, &Error{Parameter: name, Detail: name + " may be given only once"}
	}
	s := vs[0]
	n, err := strconv.Atoi(s)
	// strconv.Atoi also accepts a leading '+'; the contract is plain digits
	// (a '-' is let through so "-1" is reported, like 101, as out of range).
	if err != nil || strings.HasPrefix(s, "+") || n < lo || n > hi {
		return 0, &Error{
			Parameter: name,
			Detail:    fmt.Sprintf("%s must be an integer from %d to %d, got %q", name, lo, hi, s),
		}
	}
	return n, nil
}

// Meta is meta.page.
type Meta struct {
	Limit   int `json:"limit"`
	Offset  int `json:"offset"`
	Current int `json:"current"`
	Total   int `json:"total"`
}

// Meta computes meta.page for a collection of total matching records.
// Current = Offset/Limit + 1; Total = ceil(total/Limit) (0 when total is 0).
func (p Page) Meta(total int) Meta {
	return Meta{
		Limit:   p.Limit,
		Offset:  p.Offset,
		Current: p.Offset/p.Limit + 1,
		Total:   p.pages(total),
	}
}

// pages is ceil(total/Limit), written without total+Limit-1 so it cannot
// overflow.
func (p Page) pages(total int) int {
	if total <= 0 {
		return 0
	}
	n := total / p.Limit
	if total%p.Limit != 0 {
		n++
	}
	return n
}

// Links are the pagination links. Prev and Next are nil (JSON null) at the
// ends.
type Links struct {
	Self, First, Last string
	Prev, Next        *string
}

// Links builds absolute page links from base (scheme+host+path, no query,
// e.g. https://h/v2/x) and the client's query q, for a collection of total
// matching records.
//
// Self is base plus the client's own query (re-encoded; no '?' when empty).
// First/Last/Prev/Next keep every other parameter of q and always set both
// page[offset] and page[limit], so they do not depend on the server default.
// Next stops at MaxOffset because offset paging cannot go further (cursors
// can), and Last is clamped to the last page offset paging can reach.
func (p Page) Links(base string, q url.Values, total int) Links {
	l := Links{
		Self:  withQuery(base, q),
		First: p.at(base, q, 0),
	}

	last := max(0, (p.pages(total)-1)*p.Limit)
	if last > MaxOffset {
		last = MaxOffset / p.Limit * p.Limit
	}
	l.Last = p.at(base, q, last)

	if p.Offset > 0 {
		s := p.at(base, q, max(0, p.Offset-p.Limit))
		l.Prev = &s
	}
	if next := p.Offset + p.Limit; next < total && next <= MaxOffset {
		s := p.at(base, q, next)
		l.Next = &s
	}
	return l
}

// at is the link to the page of p.Limit records starting at offset, with
// every non-paging parameter of q kept.
func (p Page) at(base string, q url.Values, offset int) string {
	v := make(url.Values, len(q)+2)
	for k, vs := range q {
		v[k] = vs // read only by encode; q is never modified
	}
	v[paramOffset] = []string{strconv.Itoa(offset)}
	v[paramLimit] = []string{strconv.Itoa(p.Limit)}
	return withQuery(base, v)
}

// withQuery is base with q, encoded as url.Values.Encode does: sorted keys, values in
// order, and every reserved character percent-encoded, the brackets of page[offset]
// included, so that a link is a valid URL (RFC 3986 keeps "[" and "]" for IP literals)
// wherever it is pasted.
func withQuery(base string, q url.Values) string {
	if s := q.Encode(); s != "" {
		return base + "?" + s
	}
	return base
}
