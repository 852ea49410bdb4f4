package jsonapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"

	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// ReadBody reads a request's body, which the server limits (http.MaxBytesReader): past
// the limit it returns a 413.
func ReadBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return nil, &Error{Status: http.StatusRequestEntityTooLarge, Code: "body_too_large",
				Detail: fmt.Sprintf("the request body is larger than %d bytes", tooBig.Limit)}
		}
		return nil, BodyError("", "reading the request body: %v", err)
	}
	return body, nil
}

// Strict checks that body is exactly one JSON value, in valid UTF-8 throughout (its
// escapes included), where no object names a member twice. encoding/json lets each of
// those through: it turns invalid UTF-8 into U+FFFD, which would store a value the
// client never sent, and keeps the last of two members, which hides the first. Its
// errors are 400s that point at the fault.
func Strict(body []byte) error {
	// Most bodies are good: checking with the library's pooled decoder costs no
	// allocation, and only a bad body is read again for what the client needs to know.
	if jsontext.Value(body).IsValid() {
		return nil
	}
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	if err := dec.SkipValue(); err != nil {
		if errors.Is(err, io.EOF) && len(bytes.TrimSpace(body)) == 0 {
			return BodyError("", "the request body is empty")
		}
		var syntax *jsontext.SyntacticError
		if errors.As(err, &syntax) {
			ptr := string(syntax.JSONPointer)
			switch {
			case errors.Is(syntax.Err, jsontext.ErrDuplicateName):
				return BodyError(ptr, "the member %s is given twice", ptr)
			case strings.Contains(syntax.Err.Error(), "UTF-8"), strings.Contains(syntax.Err.Error(), "surrogate"):
				return BodyError(ptr, "the request body is not valid UTF-8 (at byte %d)", syntax.ByteOffset)
			}
			return BodyError("", "the request body is not valid JSON: %v (at byte %d)", syntax.Err, syntax.ByteOffset)
		}
		return BodyError("", "the request body is not valid JSON: %v", err)
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return BodyError("", "the request body has data after its JSON value")
	}
	return nil
}

// DecodeObject reads a body that must be a JSON object, strictly (see Strict), and
// returns its members still raw, so that null can be told from absent.
func DecodeObject(body []byte) (map[string]json.RawMessage, error) {
	if err := Strict(body); err != nil {
		return nil, err
	}
	var members map[string]json.RawMessage
	if err := jsonv2.Unmarshal(body, &members); err != nil || members == nil {
		return nil, BodyError("", "the request body must be a JSON object")
	}
	return members, nil
}

// Resource is the primary data of a request document: a single resource object, its
// members still raw so that null can be told from absent.
type Resource struct {
	Type       string
	ID         *string
	Attributes map[string]json.RawMessage
	// Other holds the members of data that JSON:API does not define, for the Elastic
	// Path form that puts attributes directly under data.
	Other map[string]json.RawMessage
}

// DecodeResource reads a single-resource request document, strictly (see Strict). The
// resource object must have a type; members JSON:API defines but that no erasured
// endpoint takes (relationships, meta, links, lid) are ignored, as JSON:API allows.
func DecodeResource(body []byte) (*Resource, error) {
	if err := Strict(body); err != nil {
		return nil, err
	}
	var top map[string]json.RawMessage
	if err := jsonv2.Unmarshal(body, &top); err != nil || top == nil {
		return nil, BodyError("", "the request body must be a JSON:API document (a JSON object)")
	}
	for k := range top {
		if k != "data" && k != "meta" && k != "jsonapi" && k != "links" {
			return nil, BodyError("/"+k, "unknown top-level member %q", k)
		}
	}
	raw, ok := top["data"]
	if !ok || isNull(raw) {
		return nil, BodyError("/data", "the document must have primary data: a resource object")
	}
	var data map[string]json.RawMessage
	if err := jsonv2.Unmarshal(raw, &data); err != nil || data == nil {
		return nil, BodyError("/data", "data must be a single resource object")
	}
	in := &Resource{Other: map[string]json.RawMessage{}}
	var typ *string
	for k, v := range data {
		switch k {
		case "type":
			if err := jsonv2.Unmarshal(v, &typ); err != nil || typ == nil {
				return nil, BodyError("/data/type", "type must be a string")
			}
		case "id":
			if err := jsonv2.Unmarshal(v, &in.ID); err != nil || in.ID == nil {
				return nil, BodyError("/data/id", "id must be a string")
			}
		case "attributes":
			if err := jsonv2.Unmarshal(v, &in.Attributes); err != nil || in.Attributes == nil {
				return nil, BodyError("/data/attributes", "attributes must be an object")
			}
		case "relationships", "meta", "links", "lid":
		default:
			in.Other[k] = v
		}
	}
	if typ == nil {
		return nil, BodyError("/data/type", "a resource object must have a type")
	}
	in.Type = *typ
	return in, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

// CheckType answers 409 when the resource's type is not typ, the endpoint's.
func (in *Resource) CheckType(typ string) error {
	if in.Type != typ {
		return &Error{Status: http.StatusConflict, Code: "conflict", Pointer: "/data/type",
			Detail: fmt.Sprintf("type %q does not match this endpoint's type %q", in.Type, typ)}
	}
	return nil
}

// Members returns the members that hold the resource's attributes: data.attributes, or,
// when flat allows it and there is no data.attributes, the other members of data (the
// Elastic Path form). It answers 400 for any other member of data, and returns where the
// attributes sit, for the pointers of later errors.
func (in *Resource) Members(flat bool) (attributes map[string]json.RawMessage, base string, err error) {
	if flat && in.Attributes == nil && len(in.Other) > 0 {
		return in.Other, "/data/", nil
	}
	if len(in.Other) > 0 {
		// The first in order, so that the same body always draws the same error.
		k := slices.Sorted(maps.Keys(in.Other))[0]
		return nil, "", BodyError("/data/"+k, "unknown member %q of a resource object; attributes go under data.attributes", k)
	}
	return in.Attributes, "/data/attributes/", nil
}
