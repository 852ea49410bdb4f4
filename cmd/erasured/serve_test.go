package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/erasured/erasured/storage/storagetest"
)

// send makes one request of the running server and decodes its JSON body, if any.
func send(t *testing.T, m *Main, method, path, token, body string) (*http.Response, map[string]any) {
	t.Helper()
	return request(t, "http://"+m.Addr(), method, path, token, body)
}

// request makes one request of the server at base and decodes its JSON body, if any.
func request(t *testing.T, base, method, path, token, body string) (*http.Response, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/vnd.api+json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	return resp, doc
}

// TestServeCarriesOutDeletions checks that the server runs the deletion worker: a
// DELETE is carried out in the background without anything else to prompt it, and
// Close stops the worker (a worker that never stopped would hang Close).
func TestServeCarriesOutDeletions(t *testing.T) {
	t.Parallel()
	for _, kind := range storagetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			m, out := start(t, nil, map[string]string{"DATABASE_URL": storagetest.URL(t, kind)})
			token := tokenRE.FindString(out.String())
			const requests = "/api/public/v1/requests"
			if resp, _ := send(t, m, "POST", requests, token,
				`{"data":{"type":"requests","attributes":{"request_id":"r1","requested_by":"alice"}}}`); resp.StatusCode != http.StatusCreated {
				t.Fatalf("create: %d", resp.StatusCode)
			}
			resp, _ := send(t, m, "DELETE", requests+"/r1", token, "")
			location := resp.Header.Get("Location")
			if resp.StatusCode != http.StatusAccepted || !strings.HasPrefix(location, "http://"+m.Addr()+"/deletions/") {
				t.Fatalf("delete: %d, Location %q", resp.StatusCode, location)
			}
			path := strings.TrimPrefix(location, "http://"+m.Addr())
			deadline := time.Now().Add(10 * time.Second)
			for {
				_, d := send(t, m, "GET", path, token, "")
				if d["status"] == "SUCCESS" {
					break
				}
				if d["status"] != "PENDING" || time.Now().After(deadline) {
					t.Fatalf("deletion: %v", d)
				}
				time.Sleep(50 * time.Millisecond)
			}
			if resp, _ := send(t, m, "GET", requests+"/r1", token, ""); resp.StatusCode != http.StatusGone {
				t.Errorf("the deleted request answers %d", resp.StatusCode)
			}
			done := make(chan error, 1)
			go func() { done <- m.Close() }()
			select {
			case err := <-done:
				if err != nil {
					t.Fatal(err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("Close did not return: the worker did not stop")
			}
		})
	}
}
