package resources_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/erasured/erasured/resources"
	"github.com/erasured/erasured/storage/storagetest"
)

// BenchmarkServe is the server's own cost per request, logs, metrics, auth and all,
// without the network: the requests that bench/run.sh finds furthest from its
// reference server and from pgbench, one at a time, on each store.
//
//	go test ./resources -run '^$' -bench Serve -benchmem
func BenchmarkServe(b *testing.B) {
	for _, kind := range storagetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			db := storagetest.Open(b, kind)
			e := newEnv(b, db, resources.Config{})
			token := e.key("s1")
			var id string
			for i := range 20 {
				r := e.do(http.MethodPost, "/v2/personal-data/erasure-requests", token, map[string]any{"data": map[string]any{
					"type": "erasure_request", "attributes": map[string]any{"resource_type": "account", "resource_id": "p-" + string(rune('a'+i))}}}).
					want(b, http.StatusCreated)
				id, _ = r.data(b)["id"].(string)
			}
			// As erasured serve runs it: keys cached for 10 s.
			h := resources.New(resources.Config{KeyCacheTTL: 10 * time.Second}, db, slog.New(slog.NewJSONHandler(io.Discard, nil)))
			for _, c := range []struct {
				name, method, path, body string
				status                   int
			}{
				{"get", http.MethodGet, "/v2/personal-data/erasure-requests/" + id, "", http.StatusOK},
				{"filtered", http.MethodGet, "/v2/personal-data/erasure-requests?filter=eq(resource_type,account):eq(resource_id,p-c)", "", http.StatusOK},
				// As bench/run.sh sends it.
				{"post", http.MethodPost, "/v2/personal-data/erasure-requests",
					`{"data":{"type":"erasure_request","attributes":{"resource_type":"account","resource_id":"bench-post","reason":"load test"}}}`,
					http.StatusCreated},
			} {
				b.Run(c.name, func(b *testing.B) {
					for b.Loop() {
						req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
						req.Header.Set("Authorization", "Bearer "+token)
						if c.body != "" {
							req.Header.Set("Content-Type", "application/vnd.api+json")
						}
						w := httptest.NewRecorder()
						h.ServeHTTP(w, req)
						if w.Code != c.status || !strings.Contains(w.Body.String(), `"data"`) {
							b.Fatalf("%s %s: %d %s", c.method, c.path, w.Code, w.Body)
						}
					}
				})
			}
		})
	}
}
