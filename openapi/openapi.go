// Package openapi owns erasured's published OpenAPI 3.1 description (openapi.json, embedded).
//
// The document is the whole HTTP contract of API.md in machine-readable form: every path,
// method, status, header and body shape the server produces. Document returns it for
// GET /openapi.json.
package openapi

import _ "embed"

//go:embed openapi.json
var document string

// Document returns the OpenAPI document (JSON bytes), served at GET /openapi.json.
// Each call returns a fresh copy: the caller may keep or change it.
func Document() []byte { return []byte(document) }
