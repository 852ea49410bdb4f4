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
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
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

// TestDrainOnSIGTERM puts a real process under steady create load, sends it SIGTERM,
// and checks that every request it accepted got its normal answer, that it then refuses
// connections, that it exits 0 within the deadline, and that every acknowledged create
// is in the database.
func TestDrainOnSIGTERM(t *testing.T) {
	t.Parallel()
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "drain.db")
	var keyOut strings.Builder
	if err := run(context.Background(), []string{"keys", "create", "--name", "load", "--email", "l@example.com", "--store", "s",
		"--scopes", "erasure_requests:read,erasure_requests:write", "--database-url", dbURL}, &keyOut, io.Discard, env(nil)); err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(keyOut.String())
	p := startProcess(t, "--database-url", dbURL, "--shutdown-timeout", "10s")

	var (
		mu       sync.Mutex
		acked    []string
		statuses = map[int]int{}
		wg       sync.WaitGroup
		stop     = make(chan struct{})
	)
	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				body := fmt.Sprintf(`{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":"w%d-%d"}}}`, w, i)
				req, _ := http.NewRequest("POST", "http://"+p.addr+"/v2/personal-data/erasure-requests", strings.NewReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				req.Header.Set("Content-Type", "application/vnd.api+json")
				resp, err := client.Do(req)
				if err != nil {
					// Refused after the listener closed: the client was never served.
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				statuses[resp.StatusCode]++
				if resp.StatusCode == http.StatusCreated {
					acked = append(acked, idRE.FindStringSubmatch(string(b))[1])
				}
				mu.Unlock()
			}
		}()
	}
	time.Sleep(700 * time.Millisecond)
	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(12 * time.Second):
		t.Fatal("no exit within the shutdown deadline")
	}
	t.Logf("exited %v after SIGTERM", time.Since(sent))
	close(stop)
	wg.Wait()

	if _, err := http.Get("http://" + p.addr + "/healthz"); err == nil {
		t.Error("a new connection was accepted after exit")
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
		req, _ := http.NewRequest("GET", "http://"+m.Addr()+"/v2/personal-data/erasure-requests/"+id, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("acknowledged %s answers %d after the restart", id, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest("GET", "http://"+m.Addr()+"/v2/personal-data/erasure-requests?page[limit]=1", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Meta struct {
			Results struct{ Total int }
		}
	}
	err = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if doc.Meta.Results.Total != len(acked) {
		t.Errorf("%d records stored, %d acknowledged", doc.Meta.Results.Total, len(acked))
	}
	t.Logf("%d creates acknowledged, statuses %v", len(acked), statuses)
}
