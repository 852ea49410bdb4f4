package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// skipMarker, alone on the line before a block's fence, keeps the block out of
// TestReadme; what follows the colon says why.
const skipMarker = "<!-- not run by TestReadme: "

// readmeBlock is one ```sh block of the README.
type readmeBlock struct {
	line int    // of its opening fence
	code string // without the fences
	skip string // the marker's reason; "" when the block runs
}

func readmeBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	f, err := os.Open(filepath.Join(moduleRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		blocks []readmeBlock
		cur    *readmeBlock
		prev   string
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur != nil && line == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil:
			cur.code += line + "\n"
		case line == "```sh":
			cur = &readmeBlock{line: n}
			if reason, ok := strings.CutPrefix(prev, skipMarker); ok {
				cur.skip = strings.TrimSpace(strings.TrimSuffix(reason, "-->"))
				if cur.skip == "" {
					t.Errorf("README.md:%d: a block kept out of TestReadme must say why", n)
				}
			}
		case strings.HasPrefix(line, skipMarker):
			// checked with the fence that must follow it
		case strings.HasPrefix(prev, skipMarker):
			t.Errorf("README.md:%d: %q must stand right before a ```sh fence", n-1, prev)
		}
		prev = line
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if cur != nil {
		t.Fatalf("README.md:%d: the block never ends", cur.line)
	}
	return blocks
}

// TestReadme runs the README's shell blocks as a newcomer would paste them into a shell
// at the top of a fresh clone: every ```sh block, in order, in one bash, but for those
// after the marker <!-- not run by TestReadme: REASON -->. The bash is stricter than a
// pasted shell (-e -u -o pipefail: a command that fails, or a variable that was never set,
// fails the test). Two things differ from a newcomer's shell, and only these: the
// server's port is a free one (ERASURED_ADDR, and each localhost:8080 of the blocks
// becomes it), and the SQLite file is the test's (DATABASE_URL), not erasured.db in the
// work tree.
//
// The session must then have worked as the README tells it: no answer was an error, the
// request it filed ends FAILURE (billing erased, crm failed, the server's own part done),
// and the export wrote it.
func TestReadme(t *testing.T) {
	t.Parallel()
	blocks := readmeBlocks(t)
	var script strings.Builder
	for _, b := range blocks {
		if b.skip == "" {
			script.WriteString(b.code)
		}
	}
	if script.Len() == 0 {
		t.Fatal("TestReadme runs no block of the README")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().(*net.TCPAddr)
	ln.Close()
	port := strings.TrimPrefix(addr.String(), "127.0.0.1:")
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "readme.db")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bash := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", strings.ReplaceAll(script.String(), "localhost:8080", "localhost:"+port))
	bash.Dir = moduleRoot
	bash.Env = append(os.Environ(), "DATABASE_URL="+dbURL, "ERASURED_ADDR="+addr.String())
	// The session leaves its server running in the background, in bash's process group:
	// the group is ended with the test.
	bash.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	bash.Cancel = func() error { return syscall.Kill(-bash.Process.Pid, syscall.SIGKILL) }
	// Files, not pipes: the server in the background keeps what bash gave it, and a pipe
	// would hold Wait until the server ends.
	var stdout, stderr *os.File
	for _, f := range []**os.File{&stdout, &stderr} {
		if *f, err = os.CreateTemp(t.TempDir(), "bash"); err != nil {
			t.Fatal(err)
		}
		defer (*f).Close()
	}
	bash.Stdout, bash.Stderr = stdout, stderr
	if err := bash.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-bash.Process.Pid, syscall.SIGTERM) // the server drains and closes its database
		deadline := time.Now().Add(30 * time.Second)
		for time.Now().Before(deadline) && syscall.Kill(-bash.Process.Pid, 0) == nil {
			time.Sleep(50 * time.Millisecond)
		}
		_ = syscall.Kill(-bash.Process.Pid, syscall.SIGKILL)
	})
	err = bash.Wait()
	readAll := func(f *os.File) string {
		b, readErr := os.ReadFile(f.Name())
		if readErr != nil {
			t.Fatal(readErr)
		}
		return string(b)
	}
	out := readAll(stdout)
	if err != nil {
		t.Fatalf("the README's blocks failed: %v\nstdout:\n%s\nstderr:\n%s", err, out, readAll(stderr))
	}
	if strings.Contains(out, `"errors":[`) || strings.Contains(out, `"error":"`) {
		t.Errorf("an answer in the session was an error:\n%s", out)
	}
	m := regexp.MustCompile(`"id":"([0-9a-f-]{36})"`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the session filed no erasure request:\n%s", out)
	}
	id := m[1]
	if !strings.Contains(out, `{"id":"`+id+`","resource_type":"account"`) {
		t.Errorf("the export did not write request %s:\n%s", id, out)
	}

	// The server the session started still runs: ask it how the request ended, with a
	// key of the test's own.
	var key bytes.Buffer
	if err := run(context.Background(), []string{"keys", "create", "--name", "readme-test", "--email", "t@example.com", "--store", "default",
		"--scopes", "erasure_requests:read", "--database-url", dbURL}, &key, io.Discard, env(nil)); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Data struct {
			Attributes struct {
				Status          string
				ServicesErased  []string                   `json:"services_erased"`
				PartialFailures []struct{ Service string } `json:"partial_failures"`
			}
		}
	}
	deadline := time.Now().Add(time.Minute)
	for {
		req, _ := http.NewRequest("GET", "http://"+addr.String()+"/v2/personal-data/erasure-requests/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(key.String()))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("the session's server: %v\n%s", err, readAll(stderr))
		}
		err = json.NewDecoder(resp.Body).Decode(&got)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if got.Data.Attributes.Status == "FAILURE" || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	a := got.Data.Attributes
	slices.Sort(a.ServicesErased)
	if a.Status != "FAILURE" || !slices.Equal(a.ServicesErased, []string{"billing", "requests"}) ||
		len(a.PartialFailures) != 1 || a.PartialFailures[0].Service != "crm" {
		t.Errorf("the session's request ended as %+v; want FAILURE, billing and requests erased, crm failed", a)
	}
}

// The README links only what the repository has.
func TestReadmeLinks(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join(moduleRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	links := regexp.MustCompile(`\]\(([^)\s]+)\)`).FindAllStringSubmatch(string(b), -1)
	if len(links) == 0 {
		t.Fatal("no links found")
	}
	for _, l := range links {
		target := l[1]
		if strings.HasPrefix(target, "https://") || strings.HasPrefix(target, "#") {
			continue
		}
		path, _, _ := strings.Cut(target, "#")
		if !filepath.IsLocal(path) {
			t.Errorf("README links %s, outside the repository", target)
			continue
		}
		if _, err := os.Stat(filepath.Join(moduleRoot, path)); err != nil {
			t.Errorf("README links %s: %v", target, err)
		}
	}
}
