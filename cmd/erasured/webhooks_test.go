package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/erasured/erasured/storage/storagetest"
)

// call makes one request of the server at base and decodes its JSON body, if any.
func call(t *testing.T, base, method, path, token, body string) (int, map[string]any) {
	t.Helper()
	resp, doc := request(t, base, method, path, token, body)
	return resp.StatusCode, doc
}

// orchestrationKey makes a key of store s that may file, read and follow requests and
// manage webhooks.
func orchestrationKey(t *testing.T, dbURL string) string {
	t.Helper()
	var out strings.Builder
	if err := run(context.Background(), []string{"keys", "create", "--name", "ops", "--email", "ops@example.com", "--store", "s",
		"--scopes", "erasure_requests:read,erasure_requests:write,erasure_requests:workflow", "--database-url", dbURL}, &out, io.Discard, env(nil)); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out.String())
}

// subscribe creates a webhook of the key's store for erasure_request.created at u.
func subscribe(t *testing.T, base, token, u string) string {
	t.Helper()
	status, doc := call(t, base, "POST", "/v2/webhooks", token,
		`{"data":{"type":"webhook","attributes":{"url":"`+u+`","events":["erasure_request.created"]}}}`)
	if status != http.StatusCreated {
		t.Fatalf("create webhook: %d %v", status, doc)
	}
	return doc["data"].(map[string]any)["id"].(string)
}

func file(t *testing.T, base, token, person string) {
	t.Helper()
	if status, doc := call(t, base, "POST", "/v2/personal-data/erasure-requests", token,
		`{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":"`+person+`"}}}`); status != http.StatusCreated {
		t.Fatalf("file: %d %v", status, doc)
	}
}

// counter is a receiver that counts the deliveries of each webhook-id and answers 204.
type counter struct {
	mu   sync.Mutex
	seen map[string]int
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.seen[r.Header.Get("webhook-id")]++
	c.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (c *counter) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int, len(c.seen))
	for k, v := range c.seen {
		out[k] = v
	}
	return out
}

// pendingDeliveries is how many deliveries of webhook hook are still to make.
func pendingDeliveries(t *testing.T, base, token, hook string) float64 {
	t.Helper()
	status, doc := call(t, base, "GET", "/v2/webhooks/"+hook+"/deliveries?page[limit]=1&filter=eq(status,pending)", token, "")
	if status != http.StatusOK {
		t.Fatalf("deliveries: %d %v", status, doc)
	}
	return doc["meta"].(map[string]any)["results"].(map[string]any)["total"].(float64)
}

// Two server processes on one PostgreSQL database share the outbox: every event is
// delivered, and each once.
func TestTwoProcessesDeliverEachEventOnce(t *testing.T) {
	t.Parallel()
	dbURL := storagetest.URL(t, "postgres")
	token := orchestrationKey(t, dbURL)
	rc := &counter{seen: map[string]int{}}
	receiver := httptest.NewServer(rc)
	defer receiver.Close()
	args := []string{"--database-url", dbURL, "--webhooks-allow-insecure", "--webhook-concurrency", "4"}
	a, b := startProcess(t, args...), startProcess(t, args...)
	bases := []string{"http://" + a.addr, "http://" + b.addr}
	hook := subscribe(t, bases[0], token, receiver.URL)
	const events = 60
	for i := range events {
		file(t, bases[i%2], token, fmt.Sprintf("person-%d", i))
	}
	waitFor(t, "every delivery to be made and recorded", func() bool {
		return len(rc.counts()) == events && pendingDeliveries(t, bases[1], token, hook) == 0
	})
	for id, n := range rc.counts() {
		if n != 1 {
			t.Errorf("webhook-id %s delivered %d times", id, n)
		}
	}
	if len(a.logged("webhook worker")) > 0 || len(b.logged("webhook worker")) > 0 {
		t.Errorf("worker failures: %q %q", a.logged("webhook worker"), b.logged("webhook worker"))
	}
}

// A process killed after it sent a delivery and before it recorded the answer loses
// nothing: once its claim's lease runs out another process sends the delivery again,
// with the same webhook-id, which is how the receiver knows it for a repeat.
func TestKilledMidDeliveryLosesNothing(t *testing.T) {
	t.Parallel()
	for _, kind := range storagetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			dbURL := storagetest.URL(t, kind)
			token := orchestrationKey(t, dbURL)
			var (
				mu      sync.Mutex
				ids     []string
				release = make(chan struct{})
			)
			receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				ids = append(ids, r.Header.Get("webhook-id"))
				first := len(ids) == 1
				mu.Unlock()
				if first {
					<-release // the sender dies meanwhile
				}
				w.WriteHeader(http.StatusNoContent)
			}))
			defer receiver.Close()
			defer close(release)
			received := func() []string {
				mu.Lock()
				defer mu.Unlock()
				return append([]string(nil), ids...)
			}
			args := []string{"--database-url", dbURL, "--webhooks-allow-insecure", "--webhook-lease", "2s"}
			first := startProcess(t, args...)
			hook := subscribe(t, "http://"+first.addr, token, receiver.URL)
			file(t, "http://"+first.addr, token, "alice")
			waitFor(t, "the first attempt", func() bool { return len(received()) == 1 })
			if err := first.cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			first.done <- <-first.done // reaped, and left for the cleanup

			second := startProcess(t, args...)
			base := "http://" + second.addr
			waitFor(t, "the delivery to be sent again and recorded", func() bool {
				return len(received()) == 2 && pendingDeliveries(t, base, token, hook) == 0
			})
			if got := received(); got[0] != got[1] || got[0] == "" {
				t.Errorf("webhook-ids %q: a repeat must carry the first one's", got)
			}
			status, doc := call(t, base, "GET", "/v2/webhooks/"+hook+"/deliveries", token, "")
			d := doc["data"].([]any)[0].(map[string]any)
			if a := d["attributes"].(map[string]any); status != http.StatusOK || d["id"] != received()[0] || a["status"] != "succeeded" || a["attempts"] != 1.0 {
				t.Errorf("the delivery: %d %v", status, d)
			}
		})
	}
}
