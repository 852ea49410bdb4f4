package resources_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erasured/erasured/resources"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
)

// lockedBuffer is a log sink that requests write to while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// accessLines are the access log lines (msg "request") written so far.
func (b *lockedBuffer) accessLines(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var lines []map[string]any
	for line := range strings.Lines(b.buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("a log line that is not JSON: %q: %v", line, err)
		}
		if m["msg"] == "request" {
			lines = append(lines, m)
		}
	}
	return lines
}

// Every request makes one access log line with its id, method, route template, status,
// size and duration, and with nothing the client sent: no query string, no id from the
// path, no body.
func TestAccessLog(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		out := &lockedBuffer{}
		srv := httptest.NewServer(resources.New(resources.Config{}, db, slog.New(slog.NewJSONHandler(out, nil))))
		t.Cleanup(srv.Close)
		e := &env{t: t, db: db, url: srv.URL}
		token := e.key("s1")

		created := e.do("POST", erasures, token, `{"data":{"type":"erasure_request","attributes":
			{"resource_type":"customer","resource_id":"alice@example.com"}}}`).want(t, http.StatusCreated)
		id := created.Doc["data"].(map[string]any)["id"].(string)
		answers := []*response{
			created,
			e.do("GET", erasures+"?filter=eq(resource_id,bob@example.com)", token, nil).want(t, http.StatusOK),
			e.do("GET", erasures+"/"+id, token, nil, "X-Request-Id", "support-ticket-42").want(t, http.StatusOK),
			e.do("GET", "/no/such/carol@example.com", token, nil).want(t, http.StatusNotFound),
		}
		want := []struct{ method, route string }{
			{"POST", erasures},
			{"GET", erasures},
			{"GET", erasures + "/{id}"},
			{"GET", "unmatched"},
		}

		// A line is written as its request ends, which may be just after its answer.
		var lines []map[string]any
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
			if lines = out.accessLines(t); len(lines) >= len(want) {
				break
			}
		}
		if len(lines) != len(want) {
			t.Fatalf("%d access log lines, want %d:\n%s", len(lines), len(want), out.String())
		}
		for i, w := range want {
			l, a := lines[i], answers[i]
			if l["method"] != w.method || l["route"] != w.route || l["status"] != float64(a.Status) ||
				l["bytes"] != float64(len(a.Body)) || l["request_id"] != a.Header.Get("X-Request-Id") {
				t.Errorf("line %d: %v; want %s %s, status %d, %d bytes, request_id %q", i, l, w.method, w.route,
					a.Status, len(a.Body), a.Header.Get("X-Request-Id"))
			}
			if d, ok := l["duration_us"].(float64); !ok || d < 0 || d != float64(int64(d)) {
				t.Errorf("line %d: duration_us %v, want whole microseconds", i, l["duration_us"])
			}
		}
		if lines[2]["request_id"] != "support-ticket-42" {
			t.Errorf("the client's X-Request-Id was not kept: %v", lines[2]["request_id"])
		}
		for _, secret := range []string{"alice@example.com", "bob@example.com", "carol@example.com", id, "filter"} {
			if strings.Contains(out.String(), secret) {
				t.Errorf("the log holds %q:\n%s", secret, out.String())
			}
		}
	})
}
