package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// pgCluster is a throwaway PostgreSQL cluster of the machine's own binaries, on its own
// port and data directory, so a test can stop and start it without touching the shared
// server.
type pgCluster struct {
	t    *testing.T
	bin  string
	dir  string
	port int
}

func pgBinDir(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("pg_config", "--bindir").Output()
	if err == nil {
		return strings.TrimSpace(string(out))
	}
	matches, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(matches) == 0 {
		t.Fatal("no PostgreSQL server binaries (initdb, pg_ctl) on this machine")
	}
	return filepath.Dir(matches[len(matches)-1])
}

func newCluster(t *testing.T) *pgCluster {
	t.Helper()
	// PostgreSQL refuses to run as root, so as root the cluster belongs to postgres, and
	// its directory must be one that user can reach.
	dir, err := os.MkdirTemp("", "erasured-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &pgCluster{t: t, bin: pgBinDir(t), dir: dir, port: ln.Addr().(*net.TCPAddr).Port}
	ln.Close()
	if os.Geteuid() == 0 {
		c.run("chown", "postgres:postgres", dir)
	}
	c.pg("initdb", "-D", filepath.Join(dir, "data"), "-A", "trust", "-U", "postgres", "--no-sync", "--no-instructions")
	c.start()
	t.Cleanup(func() { c.pgQuiet("pg_ctl", "-D", filepath.Join(dir, "data"), "-m", "immediate", "-w", "stop") })
	return c
}

func (c *pgCluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

func (c *pgCluster) start() {
	c.pg("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-l", filepath.Join(c.dir, "log"), "-w",
		"-o", fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off", c.port, c.dir), "start")
}

func (c *pgCluster) stop() {
	c.pg("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "fast", "-w", "stop")
}

func (c *pgCluster) pg(name string, args ...string) {
	c.t.Helper()
	if out, err := c.command(name, args...).CombinedOutput(); err != nil {
		c.t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

func (c *pgCluster) pgQuiet(name string, args ...string) { _ = c.command(name, args...).Run() }

func (c *pgCluster) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func (c *pgCluster) run(name string, args ...string) {
	c.t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		c.t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// TestDatabaseOutage stops PostgreSQL under steady create-and-list load: every request
// answers 503 quickly (no hangs, no 500s, no panics), /readyz fails, and after the
// database comes back service resumes without restarting erasured, with every
// acknowledged create stored exactly once.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	pg := newCluster(t)
	var keyOut strings.Builder
	if err := run(context.Background(), []string{"keys", "create", "--name", "load", "--email", "l@example.com", "--store", "s",
		"--scopes", "erasure_requests:read,erasure_requests:write", "--database-url", pg.url()}, &keyOut, io.Discard, env(nil)); err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(keyOut.String())
	p := startProcess(t, "--database-url", pg.url(), "--request-timeout", "2s")
	base := "http://" + p.addr

	type outcome struct {
		phase  string
		status int
		took   time.Duration
	}
	var (
		mu       sync.Mutex
		phase    = "before"
		outcomes []outcome
		acked    []string
		wg       sync.WaitGroup
		stop     = make(chan struct{})
	)
	client := &http.Client{Timeout: 20 * time.Second}
	send := func(method, path, body string) (int, string, error) {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if body != "" {
			req.Header.Set("Content-Type", "application/vnd.api+json")
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), nil
	}
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				start := time.Now()
				var status int
				var err error
				if i%2 == 0 {
					status, _, err = send("POST", "/v2/personal-data/erasure-requests",
						fmt.Sprintf(`{"data":{"type":"erasure_request","attributes":{"resource_type":"user","resource_id":"w%d-%d"}}}`, w, i))
					if status == http.StatusCreated {
						mu.Lock()
						acked = append(acked, fmt.Sprintf("w%d-%d", w, i))
						mu.Unlock()
					}
				} else {
					status, _, err = send("GET", "/v2/personal-data/erasure-requests?page[limit]=5", "")
				}
				if err != nil {
					t.Errorf("request failed without an answer: %v", err)
					return
				}
				mu.Lock()
				outcomes = append(outcomes, outcome{phase, status, time.Since(start)})
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	setPhase := func(s string) { mu.Lock(); phase = s; mu.Unlock() }

	time.Sleep(time.Second)
	pg.stop()
	setPhase("down")
	time.Sleep(2 * time.Second)
	if status, _, err := send("GET", "/readyz", ""); err != nil || status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database down: %d %v", status, err)
	}
	pg.start()
	setPhase("after")
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, _, _ := send("GET", "/readyz", "")
		if status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("service did not resume after the database came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	counts := map[string]map[int]int{}
	var slowest time.Duration
	for _, o := range outcomes {
		if counts[o.phase] == nil {
			counts[o.phase] = map[int]int{}
		}
		counts[o.phase][o.status]++
		if o.phase == "down" {
			slowest = max(slowest, o.took)
		}
		if o.status != 200 && o.status != 201 && o.status != 503 {
			t.Errorf("status %d in phase %s", o.status, o.phase)
		}
	}
	t.Logf("statuses by phase: %v; slowest answer while down: %v", counts, slowest)
	if counts["down"][503] == 0 {
		t.Error("no 503 while the database was down")
	}
	if slowest > 5*time.Second {
		t.Errorf("an answer took %v while the database was down", slowest)
	}
	if counts["after"][201] == 0 {
		t.Error("no create succeeded after the database came back")
	}
	if bad := p.logged("panic", `"internal error"`); len(bad) > 0 {
		t.Errorf("the server logged: %v", bad)
	}

	db, err := sqlx.Open("postgres", pg.url())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored []string
	if err := db.Select(&stored, `SELECT resource_id FROM erasure_requests`); err != nil {
		t.Fatal(err)
	}
	times := map[string]int{}
	for _, id := range stored {
		times[id]++
	}
	for _, id := range acked {
		if times[id] != 1 {
			t.Errorf("acknowledged create %s is stored %d times", id, times[id])
		}
	}
}
