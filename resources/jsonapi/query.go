package jsonapi

import (
	"maps"
	"net/url"
	"slices"
	"strings"
)

// Query is a request's query string, read strictly (ParseQuery).
type Query struct{ url.Values }

// MaxParams bounds the parameters of a query string. No endpoint takes more than a
// dozen; the bound keeps a hostile query from costing more than its refusal.
const MaxParams = 1000

// ParseQuery reads raw, a request's query string. Unlike url.ParseQuery, which keeps the
// parameters it could read, it refuses the whole query when any parameter does not parse
// (a bad escape, or a ";", which other servers take as a separator): a parameter that
// is silently dropped could be a filter, and then a list would answer with everything.
// It also refuses a query of more than MaxParams parameters. Its errors are 400s that
// name the parameter at fault.
func ParseQuery(raw string) (Query, error) {
	// Most requests have no query string: their Values stay nil, which reads as empty.
	var q Query
	n := 0
	for pair := range strings.SplitSeq(raw, "&") {
		if pair == "" {
			continue
		}
		rawKey, rawValue, _ := strings.Cut(pair, "=")
		key, err := url.QueryUnescape(rawKey)
		if err != nil {
			return Query{}, ParamError(rawKey, "the query parameter %q is not properly escaped", rawKey)
		}
		if n++; n > MaxParams {
			return Query{}, ParamError(key, "the query string has more than %d parameters", MaxParams)
		}
		if strings.Contains(rawKey, ";") || strings.Contains(rawValue, ";") {
			return Query{}, ParamError(key, `the query parameter %q holds a ";", which must be escaped as %%3B`, key)
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return Query{}, ParamError(key, "the value of the query parameter %q is not properly escaped", key)
		}
		if q.Values == nil {
			q.Values = url.Values{}
		}
		q.Values[key] = append(q.Values[key], value)
	}
	return q, nil
}

// Check refuses any parameter outside allowed, and any given more than once.
func (q Query) Check(allowed ...string) error {
	for k, v := range q.Values {
		if len(v) > 1 || !slices.Contains(allowed, k) {
			return q.refuse(allowed)
		}
	}
	return nil
}

// refuse is the error of Check, for the first parameter in sorted order that it
// refuses, so that one query string always gets one answer.
func (q Query) refuse(allowed []string) error {
	for _, k := range slices.Sorted(maps.Keys(q.Values)) {
		if !slices.Contains(allowed, k) {
			if strings.HasPrefix(k, "page[") {
				return ParamError(k, "%s is not supported; use page[offset] and page[limit], or page[size] with page[after] or page[before]", k)
			}
			if len(allowed) == 0 {
				return ParamError(k, "unknown query parameter %q; this endpoint takes none", k)
			}
			return ParamError(k, "unknown query parameter %q; this endpoint takes %s", k, strings.Join(allowed, ", "))
		}
		if len(q.Values[k]) > 1 {
			return ParamError(k, "%s may be given only once", k)
		}
	}
	return nil
}

// SortField is one key of sort=a,-b.
type SortField struct {
	Name string
	Desc bool
}

// Sort reads sort=a,-b against the sortable attributes; nil without sort.
func (q Query) Sort(sortable []string) ([]SortField, error) {
	raw, ok := q.Values["sort"]
	if !ok {
		return nil, nil
	}
	var out []SortField
	for f := range strings.SplitSeq(raw[0], ",") {
		s := SortField{Name: strings.TrimPrefix(f, "-"), Desc: strings.HasPrefix(f, "-")}
		if !slices.Contains(sortable, s.Name) {
			return nil, ParamError("sort", "cannot sort on %q; sortable attributes: %s", s.Name, strings.Join(sortable, ", "))
		}
		if slices.ContainsFunc(out, func(o SortField) bool { return o.Name == s.Name }) {
			return nil, ParamError("sort", "%q appears twice in sort", s.Name)
		}
		out = append(out, s)
	}
	return out, nil
}

// Fields reads fields[typ] against the type's fields (attributes and relationships); nil
// (every field) without it.
func (q Query) Fields(typ string, fields []string) (Fieldset, error) {
	if len(q.Values) == 0 {
		return nil, nil
	}
	key := "fields[" + typ + "]"
	raw, ok := q.Values[key]
	if !ok {
		return nil, nil
	}
	set := Fieldset{}
	if raw[0] == "" {
		return set, nil
	}
	for f := range strings.SplitSeq(raw[0], ",") {
		if !slices.Contains(fields, f) {
			return nil, ParamError(key, "%s has no field %q; its fields: %s", typ, f, strings.Join(fields, ", "))
		}
		set[f] = true
	}
	return set, nil
}

// Include reads include=a,b against the relationship paths an endpoint can include. It
// returns nil without include, and otherwise the set of paths asked for, empty for
// include= (which asks for nothing, and still gets an empty included).
func (q Query) Include(paths ...string) (map[string]bool, error) {
	raw, ok := q.Values["include"]
	if !ok {
		return nil, nil
	}
	set := map[string]bool{}
	if raw[0] == "" {
		return set, nil
	}
	for p := range strings.SplitSeq(raw[0], ",") {
		if !slices.Contains(paths, p) {
			return nil, ParamError("include", "cannot include %q; this endpoint can include %s", p, strings.Join(paths, ", "))
		}
		set[p] = true
	}
	return set, nil
}
