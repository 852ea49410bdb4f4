package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage/storagetest"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// start runs the server in-process as the command line would, and stops it at the end.
func start(t *testing.T, args []string, vars map[string]string) (*Main, *bytes.Buffer) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	m, err := newMain(append([]string{"--addr", "127.0.0.1:0"}, args...), &stdout, &stderr, env(vars))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := m.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return m, &stdout
}

func get(t *testing.T, m *Main, path, token string) (int, map[string]any) {
	t.Helper()
	resp, doc := send(t, m, "GET", path, token, "")
	return resp.StatusCode, doc
}

var tokenRE = regexp.MustCompile(`erd_[0-9a-f]{64}`)

func TestFirstStartMakesAKey(t *testing.T) {
	t.Parallel()
	for _, kind := range storagetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			dbURL := storagetest.URL(t, kind)
			m, out := start(t, nil, map[string]string{"DATABASE_URL": dbURL})
			token := tokenRE.FindString(out.String())
			if token == "" {
				t.Fatalf("no token printed on first start: %q", out)
			}
			if status, _ := get(t, m, "/v2/personal-data/erasure-requests", token); status != http.StatusOK {
				t.Fatalf("the printed key answers %d", status)
			}
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			// A second start on the same database makes no new key.
			_, out2 := start(t, []string{"--database-url", dbURL}, nil)
			if tokenRE.MatchString(out2.String()) {
				t.Errorf("second start printed a key: %q", out2)
			}
		})
	}
}

func TestKeysCreatePrintsOnlyTheToken(t *testing.T) {
	t.Parallel()
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "k.db")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"keys", "create", "--name", "crm", "--email", "crm@example.com",
		"--store", "eu", "--scopes", "erasure_requests:read, erasure_requests:write", "--database-url", dbURL}, &stdout, &stderr, env(nil))
	if err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}
	token := strings.TrimSuffix(stdout.String(), "\n")
	if !tokenRE.MatchString(token) || tokenRE.FindString(token) != token {
		t.Fatalf("stdout is %q, want only a token", stdout.String())
	}
	m, _ := start(t, []string{"--database-url", dbURL}, nil)
	if status, _ := get(t, m, "/v2/personal-data/erasure-requests", token); status != http.StatusOK {
		t.Errorf("the new key answers %d", status)
	}
	for _, bad := range [][]string{
		{"keys", "create", "--name", "x", "--email", "e", "--store", "s", "--scopes", "root", "--database-url", dbURL},
		{"keys", "create", "--email", "e", "--store", "s", "--scopes", "requests:read", "--database-url", dbURL},
		{"keys", "frobnicate"},
		{"keys", "revoke"},
		{"keys", "create", "--name", "x", "--email", "e", "--store", "s", "--scopes", "requests:read", "--representation", "xml", "--database-url", dbURL},
		{"--page-length", "0"},
		{"--addr"},
		{"stray"},
	} {
		stdout.Reset()
		if err := run(context.Background(), bad, &stdout, &stderr, env(nil)); err == nil || stdout.Len() > 0 {
			t.Errorf("%v: err %v, stdout %q", bad, err, stdout.String())
		}
	}
}

// keysRun runs a keys subcommand on dbURL and returns what it printed on stdout.
func keysRun(t *testing.T, dbURL string, args ...string) (string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), append(append([]string{"keys"}, args...), "--database-url", dbURL), &stdout, &stderr, env(nil))
	return stdout.String(), err
}

func TestKeysListRevokeRotate(t *testing.T) {
	t.Parallel()
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "k.db")
	out, err := keysRun(t, dbURL, "create", "--json", "--name", "shop", "--email", "shop@example.com", "--store", "eu",
		"--scopes", "erasure_requests:read", "--expires-in", "720h", "--representation", "elasticpath")
	if err != nil {
		t.Fatal(err)
	}
	var shop struct{ ID, Token string }
	if err := json.Unmarshal([]byte(out), &shop); err != nil || shop.ID == "" || !tokenRE.MatchString(shop.Token) {
		t.Fatalf("create --json printed %q", out)
	}
	out, err = keysRun(t, dbURL, "create", "--name", "crm", "--email", "crm@example.com", "--store", "eu", "--scopes", "erasure_requests:read")
	if err != nil {
		t.Fatal(err)
	}
	crm := strings.TrimSpace(out)
	m, _ := start(t, []string{"--database-url", dbURL, "--key-cache-ttl", "0"}, nil)
	if status, _ := get(t, m, "/v2/personal-data/erasure-requests", crm); status != http.StatusOK {
		t.Fatalf("the new key answers %d", status)
	}

	out, err = keysRun(t, dbURL, "list", "--json")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, shop.Token) || strings.Contains(out, crm) || strings.Contains(out, "token") {
		t.Errorf("keys list shows a token: %s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("keys list --json: %q", out)
	}
	var listed map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &listed); err != nil {
		t.Fatal(err)
	}
	expires, _ := time.Parse(time.RFC3339, fmt.Sprint(listed["expires"]))
	if listed["id"] != shop.ID || listed["name"] != "shop" || listed["store"] != "eu" || listed["representation"] != "elasticpath" ||
		listed["revoked"] != nil || time.Until(expires) < 719*time.Hour || listed["created"] == nil {
		t.Errorf("keys list --json: %v", listed)
	}
	if !strings.Contains(lines[1], `"last_used":"`) {
		t.Errorf("the used key has no last use: %s", lines[1])
	}

	// Rotate: the same id, a new token; the old one stops working.
	var crmID string
	var second map[string]any
	_ = json.Unmarshal([]byte(lines[1]), &second)
	crmID, _ = second["id"].(string)
	out, err = keysRun(t, dbURL, "rotate", crmID)
	if err != nil {
		t.Fatal(err)
	}
	rotated := strings.TrimSpace(out)
	if !tokenRE.MatchString(rotated) || rotated == crm {
		t.Fatalf("rotate printed %q", out)
	}
	if status, _ := get(t, m, "/v2/personal-data/erasure-requests", crm); status != http.StatusUnauthorized {
		t.Errorf("the rotated-out token answers %d", status)
	}
	if status, _ := get(t, m, "/v2/personal-data/erasure-requests", rotated); status != http.StatusOK {
		t.Errorf("the rotated-in token answers %d", status)
	}

	// Revoke: for good.
	if _, err := keysRun(t, dbURL, "revoke", crmID); err != nil {
		t.Fatal(err)
	}
	if status, _ := get(t, m, "/v2/personal-data/erasure-requests", rotated); status != http.StatusUnauthorized {
		t.Errorf("the revoked key answers %d", status)
	}
	if _, err := keysRun(t, dbURL, "rotate", crmID); err == nil {
		t.Error("a revoked key was rotated")
	}
	if _, err := keysRun(t, dbURL, "revoke", erasured.NewID()); err == nil {
		t.Error("revoking an unknown key succeeded")
	}
	out, err = keysRun(t, dbURL, "list")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(out, "ID ") || strings.Count(out, "\n") != 3 || !strings.Contains(out, "elasticpath") {
		t.Errorf("keys list:\n%s", out)
	}
}

func TestEnvironmentAndFlags(t *testing.T) {
	t.Parallel()
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "e.db")
	m, out := start(t, []string{"--page-length", "3"}, map[string]string{"DATABASE_URL": dbURL, "ERASURED_PAGE_LENGTH": "7",
		"ERASURED_PUBLIC_URL": "https://erasure.example.com/"})
	token := tokenRE.FindString(out.String())
	status, doc := get(t, m, "/v2/personal-data/erasure-requests", token)
	if status != http.StatusOK {
		t.Fatal(status)
	}
	meta := doc["meta"].(map[string]any)["page"].(map[string]any)
	if meta["limit"].(float64) != 3 {
		t.Errorf("the flag did not win over the environment: limit %v", meta["limit"])
	}
	if self := doc["links"].(map[string]any)["self"].(string); !strings.HasPrefix(self, "https://erasure.example.com/v2/") {
		t.Errorf("links do not use the public URL: %s", self)
	}
	if _, err := newMain(nil, &bytes.Buffer{}, &bytes.Buffer{}, env(map[string]string{"ERASURED_ERASURE_DUE": "soon"})); err == nil {
		t.Error("a bad ERASURED_ERASURE_DUE was accepted")
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	var stderr bytes.Buffer
	dbURL := storagetest.URL(t, "postgres")
	for range 2 {
		if err := run(context.Background(), []string{"migrate", "--database-url", dbURL}, &bytes.Buffer{}, &stderr, env(nil)); err != nil {
			t.Fatal(err)
		}
	}
	if err := run(context.Background(), []string{"migrate", "--database-url", "mysql://x"}, &bytes.Buffer{}, &stderr, env(nil)); err == nil {
		t.Error("an unknown database URL was accepted")
	}
}

// The program erases in the background, and waits for the services it is told of.
func TestServeRunsTheErasureWorker(t *testing.T) {
	t.Parallel()
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "w.db")
	m, out := start(t, []string{"--erasure-poll", "10ms"}, map[string]string{"DATABASE_URL": dbURL, "ERASURED_ERASURE_SERVICES": " billing, crm "})
	token := tokenRE.FindString(out.String())
	resp, doc := send(t, m, "POST", "/v2/personal-data/erasure-requests", token,
		`{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":"alice"}}}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %d %v", resp.StatusCode, doc)
	}
	id := doc["data"].(map[string]any)["id"].(string)
	viewStatus := func() string {
		_, doc := get(t, m, "/v2/personal-data/erasure-requests/"+id, token)
		return doc["data"].(map[string]any)["attributes"].(map[string]any)["status"].(string)
	}
	deadline := time.Now().Add(10 * time.Second)
	for viewStatus() != "IN_PROGRESS" {
		if time.Now().After(deadline) {
			t.Fatalf("the worker did not take the request up: %s", viewStatus())
		}
		time.Sleep(10 * time.Millisecond)
	}
	for _, svc := range []string{"billing", "crm"} {
		if resp, doc := send(t, m, "PATCH", "/v1/erasure-requests/"+id, token, `{"services_erased":["`+svc+`"]}`); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s's report: %d %v", svc, resp.StatusCode, doc)
		}
	}
	if s := viewStatus(); s != "SUCCESS" {
		t.Errorf("after every service reported: %s", s)
	}
}

func TestErasureFlags(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--erasure-services", "billing,requests"},
		{"--erasure-services", strings.Repeat("s", 101)},
		{"--erasure-poll", "0s"},
		{"--erasure-lease", "-1m"},
		{"--vacuum-interval", "0s"},
	} {
		if _, err := newMain(args, &bytes.Buffer{}, &bytes.Buffer{}, env(nil)); err == nil {
			t.Errorf("%v was accepted", args)
		}
	}
	if _, err := newMain(nil, &bytes.Buffer{}, &bytes.Buffer{}, env(map[string]string{"ERASURED_ERASURE_SERVICES": "requests"})); err == nil {
		t.Error("ERASURED_ERASURE_SERVICES=requests was accepted")
	}
	m, err := newMain(nil, &bytes.Buffer{}, &bytes.Buffer{}, env(map[string]string{"ERASURED_VACUUM_INTERVAL": "30s"}))
	if err != nil || m.vacuumInterval != 30*time.Second {
		t.Fatalf("ERASURED_VACUUM_INTERVAL=30s: %v", err)
	}
	m.Close()
}

// TestBuildInfoMetric: /metrics says which build serves, as erasured version does.
func TestBuildInfoMetric(t *testing.T) {
	t.Parallel()
	m, _ := start(t, nil, map[string]string{"DATABASE_URL": storagetest.URL(t, "sqlite")})
	resp, err := http.Get("http://" + m.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	version, revision := buildVersion()
	want := fmt.Sprintf(`erasured_build_info{goversion=%q,revision=%q,version=%q} 1`, runtime.Version(), revision, version)
	if !strings.Contains(string(body), want) {
		t.Errorf("no %s in /metrics", want)
	}
}
