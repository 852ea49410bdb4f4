package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/erasured/erasured/storage/storagetest"
)

// built is the erasured binary that the tests that need a real process share: built
// once, on first use, as the image's Dockerfile builds it, and removed by TestMain.
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

func binary() (string, error) {
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "erasured-bin"); built.err != nil {
			return
		}
		// TestDockerfile runs it as the image's user, who must be able to reach it.
		if built.err = os.Chmod(built.dir, 0o755); built.err != nil {
			return
		}
		built.path, built.err = buildAsTheImage(built.dir)
	})
	return built.path, built.err
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// process is erasured running as its own process.
type process struct {
	cmd  *exec.Cmd
	addr string
	done chan error // the exit status, once

	mu  sync.Mutex
	log []string // stderr lines
}

// logged returns the lines the process wrote to stderr that contain any of words.
func (p *process) logged(words ...string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range p.log {
		for _, w := range words {
			if strings.Contains(l, w) {
				out = append(out, l)
				break
			}
		}
	}
	return out
}

// startProcess runs the erasured binary with args on a free port and waits until it
// listens. The process is killed at the end of the test if it still runs.
func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, append([]string{"--addr", "127.0.0.1:0"}, args...)...)
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, done: make(chan error, 1)}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	listening := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.log = append(p.log, sc.Text())
			p.mu.Unlock()
			var line struct{ Msg, Addr string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "listening" {
				listening <- line.Addr
			}
		}
		p.done <- cmd.Wait()
	}()
	select {
	case p.addr = <-listening:
	case <-time.After(30 * time.Second):
		t.Fatal("erasured did not start listening")
	}
	return p
}

var idRE = regexp.MustCompile(`"id":"([0-9a-f-]{36})"`)

// TestDrainOnSIGTERM puts a real process under steady load from 16 clients that keep
// their connections alive, behind a "load balancer" that polls /readyz and stops sending
// once it fails, and sends the process SIGTERM. /readyz must fail at once while the
// process goes on serving, each answer from then on closing its connection; no request
// may fail, not even one sent on a kept-alive connection as the drain began; the process
// exits 0 within its deadline; and every acknowledged create is stored.
func TestDrainOnSIGTERM(t *testing.T) {
	t.Parallel()
	for _, kind := range storagetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			dbURL := storagetest.URL(t, kind)
			var keyOut strings.Builder
			if err := run(context.Background(), []string{"keys", "create", "--name", "load", "--email", "l@example.com", "--store", "s",
				"--scopes", "erasure_requests:read,erasure_requests:write", "--database-url", dbURL}, &keyOut, io.Discard, env(nil)); err != nil {
				t.Fatal(err)
			}
			token := strings.TrimSpace(keyOut.String())
			p := startProcess(t, "--database-url", dbURL, "--drain-delay", "5s", "--shutdown-timeout", "10s")
			base := "http://" + p.addr

			var (
				mu       sync.Mutex
				acked    []string
				statuses = map[int]int{}
				failed   []error
				wg       sync.WaitGroup
				served   atomic.Int64
				out      atomic.Bool // out of rotation: /readyz failed
			)
			balancer := make(chan struct{})
			go func() {
				defer close(balancer)
				for deadline := time.Now().Add(time.Minute); !out.Load() && time.Now().Before(deadline); {
					resp, err := http.Get(base + "/readyz")
					if err == nil {
						resp.Body.Close()
						if resp.StatusCode == http.StatusServiceUnavailable {
							out.Store(true)
							return
						}
					}
					time.Sleep(20 * time.Millisecond)
				}
			}()
			client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
			for w := range 16 {
				wg.Go(func() {
					for i := 0; !out.Load(); i++ {
						body := fmt.Sprintf(`{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":"w%d-%d"}}}`, w, i)
						req, _ := http.NewRequest("POST", base+"/v2/personal-data/erasure-requests", strings.NewReader(body))
						req.Header.Set("Authorization", "Bearer "+token)
						req.Header.Set("Content-Type", "application/vnd.api+json")
						resp, err := client.Do(req)
						mu.Lock()
						if err != nil {
							failed = append(failed, err)
							mu.Unlock()
							continue
						}
						b, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						served.Add(1)
						statuses[resp.StatusCode]++
						if resp.StatusCode == http.StatusCreated {
							acked = append(acked, idRE.FindStringSubmatch(string(b))[1])
						}
						mu.Unlock()
					}
				})
			}
			waitFor(t, "the load to run", func() bool { return served.Load() >= 100 })
			sent := time.Now()
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			<-balancer
			if !out.Load() {
				t.Fatal("/readyz never failed")
			}
			t.Logf("/readyz failed %v after SIGTERM", time.Since(sent))
			// What a load balancer had routed before it saw /readyz fail is served, and
			// closes its connection.
			for range 5 {
				req, _ := http.NewRequest("GET", base+"/v2/personal-data/erasure-requests?page[limit]=1", nil)
				req.Header.Set("Authorization", "Bearer "+token)
				resp, err := client.Do(req)
				if err != nil {
					t.Fatalf("a request during the drain: %v", err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !resp.Close {
					t.Errorf("a request during the drain: %d, Connection: close %v", resp.StatusCode, resp.Close)
				}
			}
			select {
			case err := <-p.done:
				p.done <- err // for the cleanup
				if err != nil {
					t.Errorf("exit after SIGTERM: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("no exit within the drain and shutdown deadlines")
			}
			t.Logf("exited %v after SIGTERM", time.Since(sent))
			if since := time.Since(sent); since < 5*time.Second {
				t.Errorf("exited %v after SIGTERM, before its drain delay", since)
			}
			wg.Wait()

			if len(failed) > 0 {
				t.Errorf("%d requests failed during the drain, first: %v", len(failed), failed[0])
			}
			for status, n := range statuses {
				if status != http.StatusCreated {
					t.Errorf("%d answers with status %d during the drain", n, status)
				}
			}
			if len(acked) == 0 {
				t.Fatal("no request was acknowledged; the load never ran")
			}
			// Every acknowledged create is stored exactly once.
			m, _ := start(t, []string{"--database-url", dbURL}, nil)
			for _, id := range acked {
				if status, _ := get(t, m, "/v2/personal-data/erasure-requests/"+id, token); status != http.StatusOK {
					t.Errorf("acknowledged %s answers %d after the restart", id, status)
				}
			}
			status, doc := get(t, m, "/v2/personal-data/erasure-requests?page[limit]=1", token)
			if total := doc["meta"].(map[string]any)["results"].(map[string]any)["total"]; status != http.StatusOK || total != float64(len(acked)) {
				t.Errorf("%v records stored (%d), %d acknowledged", total, status, len(acked))
			}
			t.Logf("%d creates acknowledged; statuses %v", len(acked), statuses)
		})
	}
}

// waitFor waits until cond holds, failing the test when it does not within a minute.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting for %s", what)
		}
	}
}
