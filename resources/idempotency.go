package resources

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"

	"github.com/erasured/erasured/storage"
)

// idempotencyKey is the Idempotency-Key of a POST and the hash of the request it came
// with. Two POSTs are the same request when their method, path and body are the same
// bytes; the query string only shapes the answer (fields, include), so it is left out.
type idempotencyKey struct{ key, hash string }

// readIdempotencyKey returns the Idempotency-Key of r, or nil when r has none. It reads
// the body to hash it and puts it back for the handler, so it must run before the body
// is decoded. A key that is not 1 to 255 printable ASCII characters, or that is given
// twice, is a 400.
func readIdempotencyKey(r *http.Request) (*idempotencyKey, error) {
	values := r.Header.Values("Idempotency-Key")
	if len(values) == 0 {
		return nil, nil
	}
	if len(values) > 1 || !validIdempotencyKey(values[0]) {
		return nil, &apiError{status: http.StatusBadRequest, code: "invalid_idempotency_key",
			detail: "the Idempotency-Key header must be given once, as 1 to 255 printable ASCII characters"}
	}
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h := sha256.New()
	// NUL occurs in neither a method nor an escaped path, so the parts cannot run together.
	h.Write([]byte(r.Method + "\x00" + r.URL.EscapedPath() + "\x00"))
	h.Write(body)
	return &idempotencyKey{key: values[0], hash: hex.EncodeToString(h.Sum(nil))}, nil
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

// create runs create, the step that stores the new resource of resourceType, at most
// once for this key in store storeID (storage.DB.Idempotent). It returns the id of the
// resource the key stands for, and replayed=true when an earlier POST with this key and
// the same request created it: the handler then answers as it answered that POST, with
// the resource read again. The key used with another request is EUNPROCESSABLE (422).
func (k *idempotencyKey) create(ctx context.Context, db *storage.DB, storeID, resourceType string, create storage.Creator) (id string, replayed bool, err error) {
	return db.Idempotent(ctx, storeID, k.key, k.hash, resourceType, create)
}
