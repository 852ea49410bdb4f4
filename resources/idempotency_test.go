package resources_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestCreateErasureRequestIdempotencyKey(t *testing.T) {
	t.Parallel()
	const body = `{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":"u-1"}}}`
	eachStore(t, func(t *testing.T, e *env) {
		a, b := e.key("s1"), e.key("s2")
		count := func(token string) int {
			t.Helper()
			return len(e.do("GET", erasures, token, nil).want(t, http.StatusOK).list(t))
		}

		first := e.do("POST", erasures, a, body, "Idempotency-Key", "order-42").want(t, http.StatusCreated)
		id := first.data(t)["id"].(string)
		replay := e.do("POST", erasures, a, body, "Idempotency-Key", "order-42").want(t, http.StatusCreated)
		if replay.data(t)["id"] != id || replay.Header.Get("Location") != first.Header.Get("Location") ||
			replay.Header.Get("ETag") != first.Header.Get("ETag") || attrs(replay.data(t))["created_at"] != attrs(first.data(t))["created_at"] {
			t.Errorf("replay\n%s\nfirst\n%s", replay.Body, first.Body)
		}
		// The query string shapes the answer only; the request is the same.
		sparse := e.do("POST", erasures+"?fields[erasure_request]=status", a, body, "Idempotency-Key", "order-42",
			"Content-Type", "application/json").want(t, http.StatusCreated)
		if sparse.data(t)["id"] != id || len(attrs(sparse.data(t))) != 1 {
			t.Errorf("replay with a sparse fieldset: %s", sparse.Body)
		}
		if n := count(a); n != 1 {
			t.Fatalf("%d requests stored after replays, want 1", n)
		}

		other := strings.Replace(body, "u-1", "u-2", 1)
		e.do("POST", erasures, a, other, "Idempotency-Key", "order-42").wantError(t, http.StatusUnprocessableEntity, "")
		// A key is the client's own, per store: another store's use of it is a first use.
		elsewhere := e.do("POST", erasures, b, body, "Idempotency-Key", "order-42").want(t, http.StatusCreated)
		if elsewhere.data(t)["id"] == id {
			t.Error("another store's POST replayed store s1's request")
		}
		// Without a key, the same body is a new request.
		if fresh := e.do("POST", erasures, a, body).want(t, http.StatusCreated); fresh.data(t)["id"] == id {
			t.Error("a POST without Idempotency-Key replayed")
		}
		// A failed first use records nothing: the key is free for the corrected request.
		e.do("POST", erasures, a, strings.Replace(body, "user", "planet", 1), "Idempotency-Key", "order-43").
			wantError(t, http.StatusBadRequest, "/data/attributes/resource_type")
		e.do("POST", erasures, a, other, "Idempotency-Key", "order-43").want(t, http.StatusCreated)

		for _, bad := range []string{strings.Repeat("k", 256), "tab\there", "ключ"} {
			e.do("POST", erasures, a, body, "Idempotency-Key", bad).wantError(t, http.StatusBadRequest, "")
		}
		e.do("POST", erasures, a, body, "Idempotency-Key", strings.Repeat("k", 255)).want(t, http.StatusCreated)
		if n := count(a); n != 4 {
			t.Errorf("%d requests stored, want 4", n)
		}
	})
}

func TestCreateRequestIdempotencyKey(t *testing.T) {
	t.Parallel()
	const body = `{"data":{"type":"requests","attributes":{"request_id":"r-1","requested_by":"alice","content":"hello"}}}`
	eachStore(t, func(t *testing.T, e *env) {
		token := e.key("s1")
		first := e.do("POST", requestsPath, token, body, "Idempotency-Key", "note-1").want(t, http.StatusCreated)
		replay := e.do("POST", requestsPath, token, body, "Idempotency-Key", "note-1").want(t, http.StatusCreated)
		if replay.data(t)["id"] != "r-1" || replay.Header.Get("Location") != first.Header.Get("Location") ||
			attrs(replay.data(t))["created_at"] != attrs(first.data(t))["created_at"] {
			t.Errorf("replay\n%s\nfirst\n%s", replay.Body, first.Body)
		}
		// Without the key, the same request_id is a duplicate.
		e.do("POST", requestsPath, token, body).wantError(t, http.StatusConflict, "")
		e.do("POST", requestsPath, token, strings.Replace(body, "hello", "bye", 1), "Idempotency-Key", "note-1").
			wantError(t, http.StatusUnprocessableEntity, "")
		// A new key with a request_id that exists is a conflict, and records no key.
		e.do("POST", requestsPath, token, body, "Idempotency-Key", "note-2").wantError(t, http.StatusConflict, "")
		e.do("POST", requestsPath, token, strings.Replace(body, "r-1", "r-2", 1), "Idempotency-Key", "note-2").
			want(t, http.StatusCreated)
		if n := len(e.do("GET", requestsPath, token, nil).want(t, http.StatusOK).list(t)); n != 2 {
			t.Errorf("%d requests stored, want 2", n)
		}
	})
}
