package resources_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/erasured/erasured/resources"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
)

// tcpProxy forwards connections to a database so a test can cut it off and restore it.
type tcpProxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func startProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{target: target}
	p.listen(t, "127.0.0.1:0")
	t.Cleanup(p.cut)
	return p
}

func (p *tcpProxy) listen(t *testing.T, addr string) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut refuses new connections and breaks the open ones, as a database that went away.
func (p *tcpProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func TestDatabaseUnavailableIs503(t *testing.T) {
	t.Parallel()
	u, err := url.Parse(storagetest.URL(t, "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, u.Host)
	u.Host = proxy.addr
	db, err := storage.Open(context.Background(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := newEnv(t, db, resources.Config{RequestTimeout: 3 * time.Second})
	token := e.key("s")
	e.do("GET", "/readyz", "", nil).want(t, http.StatusOK)
	e.do("POST", erasures, token, newErasure("user", "before")).want(t, http.StatusCreated)

	proxy.cut()
	start := time.Now()
	for _, path := range []string{erasures, erasures + "?page[offset]=5"} {
		r := e.do("GET", path, token, nil)
		r.wantError(t, http.StatusServiceUnavailable, "")
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}
	}
	e.do("POST", erasures, token, newErasure("user", "during")).wantError(t, http.StatusServiceUnavailable, "")
	if r := e.do("GET", "/readyz", "", nil); r.Status != http.StatusServiceUnavailable {
		t.Errorf("/readyz answered %d with the database gone", r.Status)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("answering with the database gone took %v", d)
	}

	proxy.listen(t, proxy.addr)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := e.do("GET", erasures, token, nil)
		if r.Status == http.StatusOK {
			if n := len(r.list(t)); n != 1 {
				t.Errorf("after the outage %d records, want the 1 acknowledged", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service did not resume: %d %s", r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
