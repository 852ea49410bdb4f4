package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/erasured/erasured/openapi/openapitest"
	"github.com/erasured/erasured/storage/storagetest"
)

// clientDir holds the JavaScript round trip and its lock file, from this package's folder.
var clientDir = filepath.Join("..", "..", "clients", "js")

// TestJavaScriptClient runs clients/js/roundtrip.mjs, a round trip through kitsu (a
// JSON:API client from the npm registry, installed from the lock file by
// `npm ci --prefix clients/js`, which make test runs), against the server on each store:
// creates, a filtered list followed along links.next, a read, a PATCH, and the errors
// of bad requests, as a client program sees them.
func TestJavaScriptClient(t *testing.T) {
	t.Parallel()
	node := nodeWith(t, "kitsu")
	for _, kind := range storagetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			dbURL := storagetest.URL(t, kind)
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"keys", "create", "--name", "roundtrip", "--email", "roundtrip@example.com",
				"--store", "js", "--database-url", dbURL, "--scopes",
				"erasure_requests:read,erasure_requests:write,erasure_requests:workflow,requests:read,requests:write,deletions:read",
			}, &stdout, &stderr, env(nil))
			if err != nil {
				t.Fatalf("keys create: %v: %s", err, stderr.String())
			}
			runNode(t, node, "roundtrip.mjs", dbURL, "ERASURED_TOKEN="+strings.TrimSpace(stdout.String()))
		})
	}
}

// TestElasticPathSDK runs clients/js/elasticpath.mjs, a round trip through Elastic
// Path's own JavaScript SDK (@elasticpath/js-sdk, unmodified, pinned in the lock file),
// against the server on each store: the SDK's gateway authenticates with the client id
// and secret that keys create --json prints, creates, filters and pages erasure
// requests and reads record.status, and reads personal data logs, related data entries
// and the logs time to live through its own endpoints, every answer held to
// /openapi.json.
func TestElasticPathSDK(t *testing.T) {
	t.Parallel()
	node := nodeWith(t, "@elasticpath/js-sdk")
	for _, kind := range storagetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			dbURL := storagetest.URL(t, kind)
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{"keys", "create", "--json", "--representation", "elasticpath",
				"--name", "sdk", "--email", "sdk@example.com", "--store", "ep", "--database-url", dbURL, "--scopes",
				"erasure_requests:read,erasure_requests:write,erasure_requests:workflow,requests:write",
			}, &stdout, &stderr, env(nil))
			if err != nil {
				t.Fatalf("keys create: %v: %s", err, stderr.String())
			}
			var client struct{ ID, Token string }
			if err := json.Unmarshal(stdout.Bytes(), &client); err != nil || client.ID == "" || client.Token == "" {
				t.Fatalf("keys create --json printed %q (%v)", stdout.String(), err)
			}
			runNode(t, node, "elasticpath.mjs", dbURL, "ERASURED_CLIENT_ID="+client.ID, "ERASURED_CLIENT_SECRET="+client.Token)
		})
	}
}

// nodeWith returns the path of node, and fails the test unless clients/js has module
// installed.
func nodeWith(t *testing.T, module string) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(clientDir, "node_modules", module, "package.json")); err != nil {
		t.Fatalf("%s is not installed (%v): run `npm ci --prefix clients/js` (make test does)", module, err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node (20 or later) is needed for the JavaScript clients: %v", err)
	}
	return node
}

// runNode starts the server on dbURL and runs clients/js/script against it, through
// checkingProxy, with env added to its environment; the script failing fails the test.
func runNode(t *testing.T, node, script, dbURL string, env ...string) {
	t.Helper()
	// The erasure worker looks once at start, when there is nothing, and then not for
	// an hour: the statuses the scripts check are their own.
	m, _ := start(t, []string{"--database-url", dbURL, "--erasure-poll", "1h"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = clientDir
	cmd.Env = append(append(os.Environ(), "ERASURED_URL="+checkingProxy(t, m.Addr())), env...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, out)
	}
	t.Logf("%s", bytes.TrimSpace(out))
}

// checkingProxy serves a reverse proxy to the server at addr that holds every response
// to /openapi.json, as the resources tests do theirs, and returns its URL. The Host header
// passes through, so the server's absolute links lead back through the proxy.
func checkingProxy(t *testing.T, addr string) string {
	t.Helper()
	v, err := openapitest.NewValidator()
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: addr})
	proxy.ModifyResponse = func(resp *http.Response) error {
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		if err := v.Check(resp.Request, resp.StatusCode, resp.Header, body); err != nil {
			t.Errorf("a response to the JavaScript client breaks /openapi.json:\n%v", err)
		}
		return nil
	}
	srv := httptest.NewServer(proxy)
	t.Cleanup(srv.Close)
	return srv.URL
}
