package storagetest

import (
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
)

// Proxy stands between a test's database pool and PostgreSQL so the test can take the
// database away (Cut) and bring it back (Restore), as an outage would.
type Proxy struct {
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

// ProxiedURL returns a new, empty PostgreSQL database (as URL does) reached through a
// Proxy, and the Proxy.
func ProxiedURL(tb testing.TB) (string, *Proxy) {
	tb.Helper()
	u, err := url.Parse(URL(tb, "postgres"))
	if err != nil {
		tb.Fatal(err)
	}
	p := &Proxy{target: u.Host}
	p.listen(tb, "127.0.0.1:0")
	tb.Cleanup(p.Cut)
	u.Host = p.addr
	return u.String(), p
}

func (p *Proxy) listen(tb testing.TB, addr string) {
	tb.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatal(err)
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

// Cut refuses new connections and breaks the open ones.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ln.Close()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// Restore accepts connections again, on the same address.
func (p *Proxy) Restore(tb testing.TB) {
	tb.Helper()
	p.listen(tb, p.addr)
}
