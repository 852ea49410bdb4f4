// Package openapi owns erasured's published OpenAPI 3.1 description: openapi.json,
// embedded, which the server serves at GET /openapi.json. The document is the whole HTTP
// contract in machine-readable form: every path, method, status, header and body shape the
// server produces.
//
// The checks that hold responses to it live in openapitest, which only tests import, so
// the server binary links no validator.
package openapi

import _ "embed"

//go:embed openapi.json
var document string

// Document returns the OpenAPI document (JSON bytes), served at GET /openapi.json.
// Each call returns a fresh copy: the caller may keep or change it.
func Document() []byte { return []byte(document) }
