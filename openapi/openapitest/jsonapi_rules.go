package openapitest

// The JSON:API 1.1 document rules (jsonapi.org/format/1.1) that hold for every JSON:API
// response whatever its operation, and that a JSON Schema cannot say (uniqueness across the
// document, full linkage, fields that must not collide) or says only per shape. The schemas
// of openapi.json say the rest: which members each document of this server has, and their
// types.

import (
	"encoding/json"
	"fmt"
	"mime"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

const mediaType = "application/vnd.api+json"

// jsonapiViolations returns every way a JSON:API response breaks the rules. query is the
// request's query: sparse fieldsets (fields[TYPE]) and include change what the document may
// and must hold.
func jsonapiViolations(query url.Values, status int, contentType string, body []byte) []string {
	var c checker
	c.mediaTypeParameters(contentType)
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		c.add("", "the body is not a JSON document: %v", err)
		return c.problems
	}
	top, ok := doc.(map[string]any)
	if !ok {
		c.add("", "the top level must be an object")
		return c.problems
	}
	c.document(top, status)
	if _, ok := top["data"]; ok && status < 300 {
		c.sparseFieldsets(query, top)
		if _, asked := query["include"]; asked {
			if _, ok := top["included"]; !ok {
				c.add("", "include=%s was asked: the document must have included, even []", query.Get("include"))
			}
		}
		if !hasSparseFieldsets(query) {
			c.fullLinkage(top)
		}
	}
	return c.problems
}

// checker collects violations, each prefixed with the JSON Pointer of the value at fault.
type checker struct{ problems []string }

func (c *checker) add(ptr, format string, args ...any) {
	if ptr == "" {
		ptr = "/"
	}
	c.problems = append(c.problems, "jsonapi "+ptr+": "+fmt.Sprintf(format, args...))
}

// mediaTypeParameters: servers must not send the JSON:API media type with parameters other
// than ext and profile.
func (c *checker) mediaTypeParameters(contentType string) {
	_, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		c.add("", "Content-Type %q does not parse: %v", contentType, err)
		return
	}
	for p := range params {
		if p != "ext" && p != "profile" {
			c.add("", "Content-Type %q has the parameter %q: only ext and profile are allowed", contentType, p)
		}
	}
}

var topLevelMembers = []string{"jsonapi", "data", "errors", "meta", "links", "included"}

func (c *checker) document(top map[string]any, status int) {
	for _, k := range sortedKeys(top) {
		if !slices.Contains(topLevelMembers, k) {
			c.add("/"+escape(k), "top-level member %q is not allowed (jsonapi, data, errors, meta, links, included)", k)
		}
	}
	data, hasData := top["data"]
	errs, hasErrors := top["errors"]
	_, hasMeta := top["meta"]
	included, hasIncluded := top["included"]
	if !hasData && !hasErrors && !hasMeta {
		c.add("", "the top level must have at least one of data, errors, meta")
	}
	if hasData && hasErrors {
		c.add("", "data and errors must not both be present")
	}
	if hasIncluded && !hasData {
		c.add("/included", "included is only allowed with data")
	}

	// This server always says which JSON:API it speaks.
	if v, ok := top["jsonapi"]; !ok {
		c.add("/jsonapi", "missing: every response has jsonapi {\"version\": \"1.1\"}")
	} else if o, ok := c.object("/jsonapi", v); ok {
		c.members("/jsonapi", o, "version", "ext", "profile", "meta")
		if o["version"] != "1.1" {
			c.add("/jsonapi/version", "must be \"1.1\", not %s", show(o["version"]))
		}
		c.meta("/jsonapi/meta", o)
	}
	if v, ok := top["links"]; ok {
		c.links("/links", v)
	}
	c.meta("/meta", top)

	if hasData {
		switch d := data.(type) {
		case nil:
		case []any:
			for i, r := range d {
				c.resource("/data/"+strconv.Itoa(i), r)
			}
		default:
			c.resource("/data", d)
		}
	}
	if hasIncluded {
		if list, ok := included.([]any); !ok {
			c.add("/included", "must be an array of resource objects, not %s", show(included))
		} else {
			for i, r := range list {
				c.resource("/included/"+strconv.Itoa(i), r)
			}
		}
	}
	if hasErrors {
		list, ok := errs.([]any)
		if !ok {
			c.add("/errors", "must be an array of error objects, not %s", show(errs))
			return
		}
		for i, e := range list {
			c.errorObject("/errors/"+strconv.Itoa(i), e)
		}
		// With one problem, the error's status is the response's.
		if len(list) == 1 {
			if e, ok := list[0].(map[string]any); ok {
				if s, ok := e["status"].(string); ok && s != strconv.Itoa(status) {
					c.add("/errors/0/status", "%q differs from the response status %d", s, status)
				}
			}
		}
	}
}

// resource checks a resource object of a response: it always has a type and an id.
func (c *checker) resource(ptr string, v any) {
	r, ok := c.object(ptr, v)
	if !ok {
		return
	}
	c.members(ptr, r, "type", "id", "lid", "attributes", "relationships", "links", "meta")
	c.typeAndID(ptr, r)
	var attrs, rels map[string]any
	if a, ok := r["attributes"]; ok {
		attrs, _ = c.object(ptr+"/attributes", a)
	}
	if rl, ok := r["relationships"]; ok {
		rels, _ = c.object(ptr+"/relationships", rl)
	}
	for _, name := range sortedKeys(attrs) {
		at := ptr + "/attributes/" + escape(name)
		c.fieldName(at, name)
		if _, ok := rels[name]; ok {
			c.add(at, "%q is both an attribute and a relationship: fields share one namespace", name)
		}
		c.reservedInValue(at, attrs[name])
	}
	for _, name := range sortedKeys(rels) {
		at := ptr + "/relationships/" + escape(name)
		c.fieldName(at, name)
		c.relationship(at, rels[name])
	}
	if l, ok := r["links"]; ok {
		c.links(ptr+"/links", l)
	}
	c.meta(ptr+"/meta", r)
}

// typeAndID: type and id are non-empty strings, and type values follow the member-name rules.
func (c *checker) typeAndID(ptr string, r map[string]any) {
	switch t := r["type"].(type) {
	case string:
		if !validMemberName(t) {
			c.add(ptr+"/type", "%q is not a valid member name, as type values must be", t)
		}
	default:
		c.add(ptr+"/type", "must be a string, not %s", show(r["type"]))
	}
	if id, ok := r["id"].(string); !ok || id == "" {
		c.add(ptr+"/id", "must be a non-empty string, not %s", show(r["id"]))
	}
}

// fieldName: attributes and relationships are fields; they follow the member-name rules and
// never are id or type.
func (c *checker) fieldName(ptr, name string) {
	if name == "id" || name == "type" {
		c.add(ptr, "a field must not be named %q", name)
	}
	if !validMemberName(name) {
		c.add(ptr, "%q is not a valid member name", name)
	}
}

// reservedInValue: no object within an attribute value has a relationships or links member.
func (c *checker) reservedInValue(ptr string, v any) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(v) {
			if k == "relationships" || k == "links" {
				c.add(ptr+"/"+escape(k), "an attribute value must not contain a %q member", k)
			}
			c.reservedInValue(ptr+"/"+escape(k), v[k])
		}
	case []any:
		for i, e := range v {
			c.reservedInValue(ptr+"/"+strconv.Itoa(i), e)
		}
	}
}

func (c *checker) relationship(ptr string, v any) {
	rel, ok := c.object(ptr, v)
	if !ok {
		return
	}
	c.members(ptr, rel, "links", "data", "meta")
	_, hasLinks := rel["links"]
	_, hasData := rel["data"]
	_, hasMeta := rel["meta"]
	if !hasLinks && !hasData && !hasMeta {
		c.add(ptr, "a relationship must have at least one of links, data, meta")
	}
	if hasLinks {
		c.links(ptr+"/links", rel["links"])
		if l, ok := rel["links"].(map[string]any); ok && l["self"] == nil && l["related"] == nil {
			c.add(ptr+"/links", "a relationship's links must have self or related")
		}
	}
	switch d := rel["data"].(type) {
	case nil:
	case []any:
		for i, id := range d {
			c.identifier(ptr+"/data/"+strconv.Itoa(i), id)
		}
	default:
		c.identifier(ptr+"/data", d)
	}
	c.meta(ptr+"/meta", rel)
}

func (c *checker) identifier(ptr string, v any) {
	id, ok := c.object(ptr, v)
	if !ok {
		return
	}
	c.members(ptr, id, "type", "id", "lid", "meta")
	c.typeAndID(ptr, id)
	c.meta(ptr+"/meta", id)
}

var linkObjectMembers = []string{"href", "rel", "describedby", "title", "type", "hreflang", "meta"}

// links: every link is a string (a URI reference), null, or a link object with an href.
func (c *checker) links(ptr string, v any) {
	l, ok := c.object(ptr, v)
	if !ok {
		return
	}
	for _, name := range sortedKeys(l) {
		at := ptr + "/" + escape(name)
		if !validMemberName(name) {
			c.add(at, "%q is not a valid member name", name)
		}
		switch link := l[name].(type) {
		case nil, string:
		case map[string]any:
			c.members(at, link, linkObjectMembers...)
			if _, ok := link["href"].(string); !ok {
				c.add(at+"/href", "a link object must have a string href, not %s", show(link["href"]))
			}
			if d, ok := link["describedby"]; ok {
				if _, ok := d.(string); !ok {
					c.add(at+"/describedby", "must be a link string, not %s", show(d))
				}
			}
			c.meta(at+"/meta", link)
		default:
			c.add(at, "a link must be a string, a link object or null, not %s", show(link))
		}
	}
}

var errorMembers = []string{"id", "links", "status", "code", "title", "detail", "source", "meta"}

func (c *checker) errorObject(ptr string, v any) {
	e, ok := c.object(ptr, v)
	if !ok {
		return
	}
	c.members(ptr, e, errorMembers...)
	for _, k := range []string{"id", "status", "code", "title", "detail"} {
		if m, ok := e[k]; ok {
			if _, ok := m.(string); !ok {
				c.add(ptr+"/"+k, "must be a string, not %s", show(m))
			}
		}
	}
	if l, ok := e["links"]; ok {
		c.links(ptr+"/links", l)
	}
	if s, ok := e["source"]; ok {
		if src, ok := c.object(ptr+"/source", s); ok {
			c.members(ptr+"/source", src, "pointer", "parameter", "header")
			for _, k := range sortedKeys(src) {
				if _, ok := src[k].(string); !ok {
					c.add(ptr+"/source/"+escape(k), "must be a string, not %s", show(src[k]))
				}
			}
			if p, ok := src["pointer"].(string); ok && p != "" && !strings.HasPrefix(p, "/") {
				c.add(ptr+"/source/pointer", "%q is not a JSON Pointer", p)
			}
		}
	}
	c.meta(ptr+"/meta", e)
}

// meta checks parent's meta member, when there is one: an object with valid member names.
func (c *checker) meta(ptr string, parent map[string]any) {
	v, ok := parent["meta"]
	if !ok {
		return
	}
	m, ok := c.object(ptr, v)
	if !ok {
		return
	}
	for _, k := range sortedKeys(m) {
		if !validMemberName(k) {
			c.add(ptr+"/"+escape(k), "%q is not a valid member name", k)
		}
	}
}

// members reports the members of o that are not in allowed.
func (c *checker) members(ptr string, o map[string]any, allowed ...string) {
	for _, k := range sortedKeys(o) {
		if !slices.Contains(allowed, k) {
			c.add(ptr+"/"+escape(k), "member %q is not allowed here (%s)", k, strings.Join(allowed, ", "))
		}
	}
}

func (c *checker) object(ptr string, v any) (map[string]any, bool) {
	o, ok := v.(map[string]any)
	if !ok {
		c.add(ptr, "must be an object, not %s", show(v))
	}
	return o, ok
}

// sparseFieldsets: when fields[TYPE] is asked, resources of TYPE have no other fields.
func (c *checker) sparseFieldsets(query url.Values, top map[string]any) {
	for name, values := range query {
		typ, ok := strings.CutPrefix(name, "fields[")
		if !ok || !strings.HasSuffix(typ, "]") || len(values) != 1 {
			continue
		}
		typ = strings.TrimSuffix(typ, "]")
		var wanted []string
		if values[0] != "" {
			wanted = strings.Split(values[0], ",")
		}
		for ptr, r := range resources(top) {
			if r["type"] != typ {
				continue
			}
			for _, member := range []string{"attributes", "relationships"} {
				fields, _ := r[member].(map[string]any)
				for _, f := range sortedKeys(fields) {
					if !slices.Contains(wanted, f) {
						c.add(ptr+"/"+member+"/"+escape(f), "%s=%s was asked: %q must not be sent", name, values[0], f)
					}
				}
			}
		}
	}
}

func hasSparseFieldsets(query url.Values) bool {
	for name := range query {
		if strings.HasPrefix(name, "fields[") {
			return true
		}
	}
	return false
}

// resources yields the resource objects of data and included, by JSON Pointer.
func resources(top map[string]any) func(yield func(string, map[string]any) bool) {
	return func(yield func(string, map[string]any) bool) {
		switch d := top["data"].(type) {
		case map[string]any:
			if !yield("/data", d) {
				return
			}
		case []any:
			for i, r := range d {
				if r, ok := r.(map[string]any); ok && !yield("/data/"+strconv.Itoa(i), r) {
					return
				}
			}
		}
		included, _ := top["included"].([]any)
		for i, r := range included {
			if r, ok := r.(map[string]any); ok && !yield("/included/"+strconv.Itoa(i), r) {
				return
			}
		}
	}
}

// fullLinkage: a compound document has each resource once, and every included resource is
// reached from the primary data through relationship data. (Sparse fieldsets may remove the
// linkage: the caller skips this check then, as JSON:API does.)
func (c *checker) fullLinkage(top map[string]any) {
	type key struct{ typ, id string }
	keyOf := func(r map[string]any) (key, bool) {
		t, ok1 := r["type"].(string)
		id, ok2 := r["id"].(string)
		return key{t, id}, ok1 && ok2
	}
	seen := map[key]string{} // the pointer of each resource's first appearance
	byKey := map[key]map[string]any{}
	var primary []map[string]any
	for ptr, r := range resources(top) {
		if strings.HasPrefix(ptr, "/data") {
			primary = append(primary, r)
		}
		k, ok := keyOf(r)
		if !ok {
			continue
		}
		if first, dup := seen[k]; dup {
			c.add(ptr, "resource %s %q appears more than once (first at %s)", k.typ, k.id, first)
			continue
		}
		seen[k] = ptr
		byKey[k] = r
	}
	list, _ := top["included"].([]any)
	if len(list) == 0 {
		return
	}
	reached := map[key]bool{}
	queue := primary
	for len(queue) > 0 {
		r := queue[0]
		queue = queue[1:]
		rels, _ := r["relationships"].(map[string]any)
		for _, rel := range rels {
			rel, _ := rel.(map[string]any)
			var ids []any
			switch d := rel["data"].(type) {
			case map[string]any:
				ids = []any{d}
			case []any:
				ids = d
			}
			for _, id := range ids {
				id, _ := id.(map[string]any)
				k, ok := keyOf(id)
				if !ok || reached[k] {
					continue
				}
				reached[k] = true
				if target, ok := byKey[k]; ok {
					queue = append(queue, target)
				}
			}
		}
	}
	for i, r := range list {
		r, _ := r.(map[string]any)
		if k, ok := keyOf(r); ok && !reached[k] {
			c.add("/included/"+strconv.Itoa(i), "resource %s %q is not referenced by any relationship of the primary data or of another included resource (full linkage)", k.typ, k.id)
		}
	}
}

// validMemberName applies the JSON:API 1.1 member-name rules: at least one character; only
// a-z, A-Z, 0-9 and U+0080 and above, plus '-', '_' and ' ' which may neither start nor end
// it. An @-member ("@" then a valid name) is allowed too.
func validMemberName(name string) bool {
	name = strings.TrimPrefix(name, "@")
	if name == "" || !utf8.ValidString(name) {
		return false
	}
	global := func(r rune) bool {
		return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r >= 0x80
	}
	first, _ := utf8.DecodeRuneInString(name)
	last, _ := utf8.DecodeLastRuneInString(name)
	if !global(first) || !global(last) {
		return false
	}
	for _, r := range name {
		if !global(r) && r != '-' && r != '_' && r != ' ' {
			return false
		}
	}
	return true
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var pointerEscaper = strings.NewReplacer("~", "~0", "/", "~1")

// escape writes one reference token of a JSON Pointer.
func escape(token string) string { return pointerEscaper.Replace(token) }

// show writes a JSON value briefly, for messages.
func show(v any) string {
	if v == nil {
		return "null"
	}
	b, err := json.Marshal(v)
	if err != nil || len(b) > 60 {
		return fmt.Sprintf("a %T", v)
	}
	return string(b)
}
