package openapitest

import (
	"net/url"
	"strings"
	"testing"
)

// TestJSONAPIRules holds documents to the JSON:API rules alone, without the schemas of
// openapi.json: each rule rejects its breach, with the JSON Pointer of the value at fault.
func TestJSONAPIRules(t *testing.T) {
	const ok = `{"jsonapi":{"version":"1.1"},`
	for name, tc := range map[string]struct {
		query, contentType string
		status             int
		body               string
		want               []string // nil: no violation
	}{
		"a resource":                 {body: ok + `"data":{"type":"erasure_request","id":"1","attributes":{"status":"x"}}}`},
		"null data":                  {body: ok + `"data":null}`},
		"a meta-only document":       {body: ok + `"meta":{"deletion_id":25}}`},
		"an @-member in meta":        {body: ok + `"meta":{"@context":"x"}}`},
		"a link object":              {body: ok + `"links":{"self":{"href":"http://x/a","meta":{"n":1}},"next":null},"data":[]}`},
		"linked included resources":  {body: ok + `"data":{"type":"a","id":"1","relationships":{"b":{"data":{"type":"b","id":"1"}}}},"included":[{"type":"b","id":"1","relationships":{"c":{"data":[{"type":"c","id":"1"}]}}},{"type":"c","id":"1"}]}`},
		"an error":                   {status: 400, body: ok + `"errors":[{"status":"400","code":"invalid","source":{"pointer":""}}]}`},
		"several errors of statuses": {status: 400, body: ok + `"errors":[{"status":"400"},{"status":"422"}]}`},
		"ext and profile media type parameters": {
			contentType: `application/vnd.api+json; ext="https://jsonapi.org/ext/atomic"; profile="https://example.com/p"`,
			body:        ok + `"data":[]}`,
		},
		"a charset media type parameter": {
			contentType: "application/vnd.api+json; charset=utf-8", body: ok + `"data":[]}`,
			want: []string{`jsonapi /: Content-Type "application/vnd.api+json; charset=utf-8" has the parameter "charset": only ext and profile are allowed`},
		},
		"not JSON": {
			body: `{"data":`, want: []string{"jsonapi /: the body is not a JSON document"},
		},
		"an array at the top": {
			body: `[]`, want: []string{"jsonapi /: the top level must be an object"},
		},
		"none of data, errors, meta": {
			body: ok + `"links":{"self":"http://x"}}`, want: []string{"jsonapi /: the top level must have at least one of data, errors, meta"},
		},
		"data and errors": {
			status: 400, body: ok + `"data":null,"errors":[{"status":"400"}]}`, want: []string{"jsonapi /: data and errors must not both be present"},
		},
		"an unknown top-level member": {
			body: ok + `"data":null,"result":1}`, want: []string{`jsonapi /result: top-level member "result" is not allowed (jsonapi, data, errors, meta, links, included)`},
		},
		"included without data": {
			body: ok + `"meta":{},"included":[]}`, want: []string{"jsonapi /included: included is only allowed with data"},
		},
		"no jsonapi": {
			body: `{"data":null}`, want: []string{`jsonapi /jsonapi: missing: every response has jsonapi {"version": "1.1"}`},
		},
		"an unknown jsonapi member": {
			body: `{"jsonapi":{"version":"1.1","server":"x"},"data":null}`, want: []string{`jsonapi /jsonapi/server: member "server" is not allowed here (version, ext, profile, meta)`},
		},
		"a resource without id": {
			body: ok + `"data":{"type":"a"}}`, want: []string{"jsonapi /data/id: must be a non-empty string, not null"},
		},
		"a numeric id": {
			body: ok + `"data":[{"type":"a","id":1}]}`, want: []string{"jsonapi /data/0/id: must be a non-empty string, not 1"},
		},
		"a type that is not a member name": {
			body: ok + `"data":{"type":"erasure request!","id":"1"}}`, want: []string{`jsonapi /data/type: "erasure request!" is not a valid member name, as type values must be`},
		},
		"an unknown resource member": {
			body: ok + `"data":{"type":"a","id":"1","status":"x"}}`, want: []string{`jsonapi /data/status: member "status" is not allowed here (type, id, lid, attributes, relationships, links, meta)`},
		},
		"an attribute named id": {
			body: ok + `"data":{"type":"a","id":"1","attributes":{"id":"1"}}}`, want: []string{`jsonapi /data/attributes/id: a field must not be named "id"`},
		},
		"a relationship named type": {
			body: ok + `"data":{"type":"a","id":"1","relationships":{"type":{"meta":{}}}}}`, want: []string{`jsonapi /data/relationships/type: a field must not be named "type"`},
		},
		"an attribute and a relationship of one name": {
			body: ok + `"data":{"type":"a","id":"1","attributes":{"events":[]},"relationships":{"events":{"meta":{}}}}}`,
			want: []string{`jsonapi /data/attributes/events: "events" is both an attribute and a relationship: fields share one namespace`},
		},
		"attribute names that break the member-name rules": {
			body: ok + `"data":{"type":"a","id":"1","attributes":{"_status":1,"due-":2,"a.b":3,"":4}}}`,
			want: []string{
				`jsonapi /data/attributes/_status: "_status" is not a valid member name`,
				`jsonapi /data/attributes/due-: "due-" is not a valid member name`,
				`jsonapi /data/attributes/a.b: "a.b" is not a valid member name`,
				`jsonapi /data/attributes/: "" is not a valid member name`,
			},
		},
		"links inside an attribute value": {
			body: ok + `"data":{"type":"a","id":"1","attributes":{"metadata":{"x":[{"links":{}}]}}}}`,
			want: []string{`jsonapi /data/attributes/metadata/x/0/links: an attribute value must not contain a "links" member`},
		},
		"an empty relationship": {
			body: ok + `"data":{"type":"a","id":"1","relationships":{"events":{}}}}`, want: []string{"jsonapi /data/relationships/events: a relationship must have at least one of links, data, meta"},
		},
		"relationship links without self or related": {
			body: ok + `"data":{"type":"a","id":"1","relationships":{"events":{"links":{"first":"http://x"}}}}}`,
			want: []string{"jsonapi /data/relationships/events/links: a relationship's links must have self or related"},
		},
		"linkage with attributes": {
			body: ok + `"data":{"type":"a","id":"1","relationships":{"b":{"data":{"type":"b","id":"1","attributes":{}}}}}}`,
			want: []string{`jsonapi /data/relationships/b/data/attributes: member "attributes" is not allowed here (type, id, lid, meta)`},
		},
		"a link that is a number": {
			body: ok + `"data":[],"links":{"self":1}}`, want: []string{"jsonapi /links/self: a link must be a string, a link object or null, not 1"},
		},
		"a link object without href": {
			body: ok + `"data":[],"links":{"self":{"title":"me"}}}`, want: []string{"jsonapi /links/self/href: a link object must have a string href, not null"},
		},
		"a link object with an unknown member": {
			body: ok + `"data":[],"links":{"self":{"href":"http://x","method":"GET"}}}`, want: []string{`jsonapi /links/self/method: member "method" is not allowed here`},
		},
		"errors that are an object": {
			status: 400, body: ok + `"errors":{"status":"400"}}`, want: []string{`jsonapi /errors: must be an array of error objects, not {"status":"400"}`},
		},
		"an unknown error member": {
			status: 400, body: ok + `"errors":[{"status":"400","message":"x"}]}`, want: []string{`jsonapi /errors/0/message: member "message" is not allowed here (id, links, status, code, title, detail, source, meta)`},
		},
		"an error code that is a number": {
			status: 400, body: ok + `"errors":[{"status":"400","code":7}]}`, want: []string{"jsonapi /errors/0/code: must be a string, not 7"},
		},
		"a source pointer that is not a JSON Pointer": {
			status: 400, body: ok + `"errors":[{"status":"400","source":{"pointer":"data.attributes.x"}}]}`, want: []string{`jsonapi /errors/0/source/pointer: "data.attributes.x" is not a JSON Pointer`},
		},
		"a meta that is an array": {
			body: ok + `"meta":[]}`, want: []string{"jsonapi /meta: must be an object, not []"},
		},
		"included that is an object": {
			body: ok + `"data":[],"included":{}}`, want: []string{"jsonapi /included: must be an array of resource objects, not {}"},
		},
		"a primary resource also included": {
			body: ok + `"data":{"type":"a","id":"1","relationships":{"self_ref":{"data":{"type":"a","id":"1"}}}},"included":[{"type":"a","id":"1"}]}`,
			want: []string{`jsonapi /included/0: resource a "1" appears more than once (first at /data)`},
		},
		"an included resource nothing links": {
			body: ok + `"data":[{"type":"a","id":"1"}],"included":[{"type":"b","id":"1"}]}`,
			want: []string{`jsonapi /included/0: resource b "1" is not referenced by any relationship of the primary data or of another included resource (full linkage)`},
		},
		"an included resource linked only from an unlinked one": {
			body: ok + `"data":[],"included":[{"type":"b","id":"1","relationships":{"c":{"data":{"type":"c","id":"1"}}}},{"type":"c","id":"1"}]}`,
			want: []string{`jsonapi /included/0: resource b "1"`, `jsonapi /included/1: resource c "1"`},
		},
		"sparse fieldsets lift full linkage": {
			query: "fields[a]=name", body: ok + `"data":[{"type":"a","id":"1","attributes":{"name":"x"}}],"included":[{"type":"b","id":"1"}]}`,
		},
		"an empty sparse fieldset": {
			query: "fields[a]=", body: ok + `"data":[{"type":"a","id":"1","attributes":{"name":"x"}}]}`,
			want: []string{`jsonapi /data/0/attributes/name: fields[a]= was asked: "name" must not be sent`},
		},
		"a sparse fieldset on included resources": {
			query: "include=b&fields[b]=x", body: ok + `"data":{"type":"a","id":"1"},"included":[{"type":"b","id":"1","attributes":{"x":1,"y":2}}]}`,
			want: []string{`jsonapi /included/0/attributes/y: fields[b]=x was asked: "y" must not be sent`},
		},
		"include asked on an error": {
			query: "include=events", status: 400, body: ok + `"errors":[{"status":"400"}]}`,
		},
		"include asked, no included": {
			query: "include=events", body: ok + `"data":[]}`,
			want: []string{"jsonapi /: include=events was asked: the document must have included, even []"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			query, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			if tc.contentType == "" {
				tc.contentType = mediaType
			}
			if tc.status == 0 {
				tc.status = 200
			}
			got := jsonapiViolations(query, tc.status, tc.contentType, []byte(tc.body))
			if tc.want == nil && len(got) > 0 {
				t.Fatalf("violations:\n%s", strings.Join(got, "\n"))
			}
			all := strings.Join(got, "\n")
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("no violation says %q; got:\n%s", w, all)
				}
			}
		})
	}
}

func TestValidMemberName(t *testing.T) {
	for name, want := range map[string]bool{
		"status": true, "resource_type": true, "access-token-email": true, "rangeTruncated": true,
		"a b": true, "café": true, "@context": true, "x": true, "9": true,
		"": false, "@": false, "_x": false, "x_": false, "-x": false, " x": false,
		"a.b": false, "a:b": false, "a/b": false, "a+b": false,
	} {
		if got := validMemberName(name); got != want {
			t.Errorf("validMemberName(%q) = %v, want %v", name, got, want)
		}
	}
}
