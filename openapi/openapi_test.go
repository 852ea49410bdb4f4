package openapi

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// buildModel parses the embedded document and builds its OpenAPI 3.1 model, failing on any error.
func buildModel(t *testing.T) (libopenapi.Document, *v3.Document) {
	t.Helper()
	doc, err := libopenapi.NewDocument(Document())
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("build the v3 model: %v", err)
	}
	return doc, &model.Model
}

func TestDocumentIsValidOpenAPI31(t *testing.T) {
	doc, model := buildModel(t)
	if !strings.HasPrefix(model.Version, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", model.Version)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatalf("validator: %v", errs)
	}
	if ok, errs := v.ValidateDocument(); !ok {
		for _, e := range errs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, f := range e.SchemaValidationErrors {
				t.Errorf("  %s: %s", f.FieldPath, f.Reason)
			}
		}
	}
}

func TestDocumentReturnsACopy(t *testing.T) {
	d := Document()
	d[0] = 'x'
	if !json.Valid(Document()) {
		t.Fatal("changing what Document returned changed the document")
	}
}

// TestDocumentCoversTheContract holds the document to API.md's lists: every path and method,
// the security of each, and the error statuses every JSON:API operation must list.
func TestDocumentCoversTheContract(t *testing.T) {
	_, model := buildModel(t)
	want := map[string][]string{
		"/v2/personal-data/erasure-requests":             {"GET", "POST"},
		"/v2/personal-data/erasure-requests/{id}":        {"GET", "PATCH"},
		"/v2/personal-data/erasure-requests/{id}/events": {"GET"},
		"/v1/erasure-requests/{request_id}":              {"PATCH"},
		"/api/public/v1/requests":                        {"GET", "POST"},
		"/api/public/v1/requests/{request_id}":           {"GET", "PATCH", "DELETE"},
		"/deletions/{deletion_id}":                       {"GET"},
		"/openapi.json":                                  {"GET"},
		"/healthz":                                       {"GET"},
		"/readyz":                                        {"GET"},
		"/metrics":                                       {"GET"},
	}
	public := []string{"/openapi.json", "/healthz", "/readyz", "/metrics"}
	if n := model.Paths.PathItems.Len(); n != len(want) {
		t.Errorf("%d paths, want %d", n, len(want))
	}
	if len(model.Security) != 2 {
		t.Errorf("top-level security: %d alternatives, want bearer or apiKey", len(model.Security))
	}
	for path, methods := range want {
		item := model.Paths.PathItems.GetOrZero(path)
		if item == nil {
			t.Errorf("%s is missing", path)
			continue
		}
		ops := item.GetOperations()
		var got []string
		for m := range ops.KeysFromOldest() {
			got = append(got, strings.ToUpper(m))
		}
		slices.Sort(got)
		slices.Sort(methods)
		if !slices.Equal(got, methods) {
			t.Errorf("%s: methods %v, want %v", path, got, methods)
		}
		for m, op := range ops.FromOldest() {
			name := strings.ToUpper(m) + " " + path
			isPublic := slices.Contains(public, path)
			if isPublic != (op.Security != nil && len(op.Security) == 0) {
				t.Errorf("%s: security %v; public endpoints have none, the others the top-level one", name, op.Security)
			}
			if isPublic {
				continue
			}
			statuses := []string{"400", "401", "403", "429", "500", "503"}
			if path != "/v1/erasure-requests/{request_id}" {
				statuses = append(statuses, "406")
			}
			if strings.Contains(path, "{") {
				statuses = append(statuses, "404")
			}
			if op.RequestBody != nil {
				statuses = append(statuses, "413", "415")
			}
			for _, s := range statuses {
				if op.Responses.Codes.GetOrZero(s) == nil {
					t.Errorf("%s: does not list %s", name, s)
				}
			}
		}
	}
}
