package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/erasured/erasured/storage/storagetest"
)

// TestDatabaseOutage stops PostgreSQL under steady create-and-list load: every request
// answers 503 quickly (no hangs, no 500s, no panics), /readyz fails, and after the
// database comes back service resumes without restarting erasured, with every
// acknowledged create stored exactly once.
func TestDatabaseOutage(t *testing.T) {
	t.Parallel()
	pg := storagetest.NewCluster(t)
	var keyOut strings.Builder
	if err := run(context.Background(), []string{"keys", "create", "--name", "load", "--email", "l@example.com", "--store", "s",
		"--scopes", "erasure_requests:read,erasure_requests:write", "--database-url", pg.URL()}, &keyOut, io.Discard, env(nil)); err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(keyOut.String())
	p := startProcess(t, "--database-url", pg.URL(), "--request-timeout", "2s")
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
	pg.Stop(t)
	setPhase("down")
	time.Sleep(2 * time.Second)
	if status, _, err := send("GET", "/readyz", ""); err != nil || status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database down: %d %v", status, err)
	}
	pg.Start(t)
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

	db, err := sqlx.Open("postgres", pg.URL())
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
