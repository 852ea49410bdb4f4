package resources

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"github.com/erasured/erasured/resources/jsonapi"
	"github.com/erasured/erasured/storage"
)

// idempotency returns the Idempotency-Key of r, whose body is body, or nil when r has
// none. Two POSTs are the same request when their method, path and body are the same
// bytes; the query string only shapes the answer (fields, include), so it is left out.
// A key that is not 1 to 255 printable ASCII characters, or that is given twice, is a
// 400.
func idempotency(r *http.Request, body []byte) (*storage.Idempotency, error) {
	values := r.Header.Values("Idempotency-Key")
	if len(values) == 0 {
		return nil, nil
	}
	if len(values) > 1 || !validIdempotencyKey(values[0]) {
		return nil, &jsonapi.Error{Status: http.StatusBadRequest, Code: "invalid_idempotency_key",
			Detail: "the Idempotency-Key header must be given once, as 1 to 255 printable ASCII characters"}
	}
	h := sha256.New()
	// NUL occurs in neither a method nor an escaped path, so the parts cannot run together.
	h.Write([]byte(r.Method + "\x00" + r.URL.EscapedPath() + "\x00"))
	h.Write(body)
	return &storage.Idempotency{Key: values[0], RequestHash: hex.EncodeToString(h.Sum(nil))}, nil
}

func validIdempotencyKey(k string) bool {
	if len(k) < 1 || len(k) > 255 {
		return false
	}
	for i := range len(k) {
		if k[i] < 0x20 || k[i] > 0x7e {
			return false
		}
	}
	return true
}
