package egress_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/egress"
)

// The address decision itself, on both sides of every border it draws.
func TestAllow(t *testing.T) {
	t.Parallel()
	cases := []struct {
		addr     string
		tls      bool
		insecure bool
		allowed  bool
	}{
		{"93.184.216.34", true, false, true},
		{"2606:2800:220:1:248:1893:25c8:1946", true, false, true},
		{"8.8.8.8", false, false, false}, // plain http to a public address
		{"8.8.8.8", false, true, false},  // … even when insecure is allowed
		{"127.0.0.1", true, false, false},
		{"127.0.0.1", false, false, false},
		{"127.0.0.1", false, true, true},
		{"127.8.9.10", false, true, true},
		{"::1", false, true, true},
		{"::1", true, false, false},
		{"::ffff:127.0.0.1", true, false, false},
		{"::ffff:10.1.2.3", true, false, false},
		{"0.0.0.0", true, false, false},
		{"0.1.2.3", true, false, false},
		{"::", true, false, false},
		{"10.0.0.1", true, false, false},
		{"10.0.0.1", false, true, false},
		{"172.16.0.1", true, false, false},
		{"172.31.255.255", true, false, false},
		{"172.32.0.1", true, false, true},
		{"192.168.1.1", true, false, false},
		{"169.254.169.254", true, false, false}, // AWS, GCP, Azure metadata
		{"169.254.169.254", true, true, false},
		{"100.100.100.200", true, false, false}, // Alibaba metadata, in shared space
		{"100.64.0.1", true, false, false},
		{"100.128.0.1", true, false, true},
		{"192.0.0.192", true, false, false},
		{"198.18.0.1", true, false, false},
		{"224.0.0.1", true, false, false},
		{"255.255.255.255", true, false, false},
		{"fd00:ec2::254", true, false, false}, // AWS metadata over IPv6
		{"fc00::1", true, false, false},
		{"fe80::1", true, false, false},
		{"fe80::1%eth0", true, false, false},
		{"ff02::1", true, false, false},
		{"64:ff9b::a00:1", true, false, false},    // NAT64 of 10.0.0.1
		{"64:ff9b::5db8:d822", true, false, true}, // NAT64 of 93.184.216.34
		{"2002:a00:1::", true, false, false},      // 6to4 of 10.0.0.1
		{"2001:db8::1", true, false, false},
		{"::7f00:1", true, false, false}, // IPv4-compatible 127.0.0.1
	}
	for _, c := range cases {
		p := egress.Policy{AllowInsecure: c.insecure}
		err := p.Allow(netip.MustParseAddr(c.addr), c.tls)
		if (err == nil) != c.allowed {
			t.Errorf("Allow(%s, tls %v, insecure %v) = %v, want allowed %v", c.addr, c.tls, c.insecure, err, c.allowed)
		}
		var refused *egress.Refused
		if err != nil && !errors.As(err, &refused) {
			t.Errorf("Allow(%s): %T, want *Refused", c.addr, err)
		}
	}
}

// resolver answers from a table, as DNS would.
type resolver map[string][]string

func (r resolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	addrs, ok := r[host]
	if !ok {
		return nil, fmt.Errorf("no such host %s", host)
	}
	var out []netip.Addr
	for _, a := range addrs {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

// URLs as clients give them, by what their hosts resolve to.
func TestCheck(t *testing.T) {
	t.Parallel()
	dns := resolver{
		"hooks.example.com":    {"93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"},
		"metadata.example.com": {"169.254.169.254"},
		"half.example.com":     {"93.184.216.34", "10.0.0.7"}, // one bad address is enough
		"ula.example.com":      {"fd00:ec2::254"},
		"mapped.example.com":   {"::ffff:127.0.0.1"},
		"nat64.example.com":    {"64:ff9b::a9fe:a9fe"}, // 169.254.169.254
		"cgnat.example.com":    {"100.100.100.200"},
		"localhost":            {"127.0.0.1", "::1"},
		"empty.example.com":    {},
	}
	cases := []struct {
		url      string
		insecure bool
		allowed  bool
	}{
		{"https://hooks.example.com/erasures", false, true},
		{"https://hooks.example.com:8443/erasures?k=v", false, true},
		{"https://93.184.216.34/x", false, true},
		{"http://hooks.example.com/erasures", false, false},
		{"http://hooks.example.com/erasures", true, false},
		{"https://metadata.example.com/latest/meta-data/", false, false},
		{"https://169.254.169.254/latest/meta-data/", false, false},
		{"https://half.example.com/", false, false},
		{"https://ula.example.com/", false, false},
		{"https://mapped.example.com/", false, false},
		{"https://nat64.example.com/", false, false},
		{"https://cgnat.example.com/", false, false},
		{"https://localhost/", false, false},
		{"http://localhost:9000/", false, false},
		{"http://localhost:9000/", true, true},
		{"http://127.0.0.1:9000/", true, true},
		{"http://[::1]:9000/", true, true},
		{"https://[::1]:9000/", false, false},
		{"https://10.0.0.1/", true, false},
		{"https://unknown.example.com/", false, false},
		{"https://empty.example.com/", false, false},
		{"ftp://hooks.example.com/", false, false},
	}
	for _, c := range cases {
		p := egress.Policy{AllowInsecure: c.insecure, Resolver: dns}
		err := p.Check(context.Background(), c.url)
		if (err == nil) != c.allowed {
			t.Errorf("Check(%s, insecure %v) = %v, want allowed %v", c.url, c.insecure, err, c.allowed)
		}
		var e *erasured.Error
		if err != nil && (!errors.As(err, &e) || e.Code != erasured.EINVALID || e.Field != "url") {
			t.Errorf("Check(%s) = %#v, want EINVALID about url", c.url, err)
		}
	}
}

// listener counts the connections a refused delivery must never make.
func listener(t *testing.T) (*net.TCPListener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.(*net.TCPListener), ln.Addr().(*net.TCPAddr).AddrPort().String()
}

// noConnection fails unless ln has no connection waiting: a connection that the client
// made is queued by the kernel before the client's connect returns.
func noConnection(t *testing.T, ln *net.TCPListener) {
	t.Helper()
	if err := ln.SetDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if c, err := ln.Accept(); err == nil {
		c.Close()
		t.Fatal("a refused delivery connected")
	}
}

// The dialer refuses what the policy refuses, after resolution: a loopback receiver,
// named by address or by a name that resolves to it, is never connected to unless
// insecure deliveries are allowed.
func TestSendRefusesBeforeConnecting(t *testing.T) {
	t.Parallel()
	ln, addr := listener(t)
	_, port, _ := net.SplitHostPort(addr)
	c := egress.Policy{}.Client()
	for _, u := range []string{"http://" + addr + "/", "https://" + addr + "/", "https://localhost:" + port + "/", "http://localhost:" + port + "/"} {
		_, err := c.Send(context.Background(), egress.Message{URL: u, Secret: "whsec_" + strings.Repeat("A", 32), ID: "msg_1", Body: []byte("{}")}, time.Now())
		var refused *egress.Refused
		if !errors.As(err, &refused) {
			t.Errorf("Send(%s) = %v, want a refusal", u, err)
		}
	}
	noConnection(t, ln)
}

// What a receiver gets is signed by the Standard Webhooks scheme: the published test
// vector of its reference libraries, through Send.
func TestSendSignsByStandardWebhooks(t *testing.T) {
	t.Parallel()
	got := make(chan *http.Request, 1)
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		got <- r
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	c := egress.Policy{AllowInsecure: true}.Client()
	status, err := c.Send(context.Background(), egress.Message{
		URL: srv.URL + "/hook", Secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		ID: "msg_p5jXN8AQM9LWM0D4loKWxJek", Body: []byte(`{"test": 2432232314}`),
	}, time.Unix(1614265330, 0))
	if err != nil || status != http.StatusNoContent {
		t.Fatalf("Send: %d, %v", status, err)
	}
	r := <-got
	want := map[string]string{
		"webhook-id":        "msg_p5jXN8AQM9LWM0D4loKWxJek",
		"webhook-timestamp": "1614265330",
		"webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
		"Content-Type":      "application/json",
	}
	for h, v := range want {
		if r.Header.Get(h) != v {
			t.Errorf("%s: %q, want %q", h, r.Header.Get(h), v)
		}
	}
	if r.Method != http.MethodPost || string(body) != `{"test": 2432232314}` {
		t.Errorf("%s with %q", r.Method, body)
	}
}

// A redirect is the answer, not an invitation: its target is never called.
func TestSendFollowsNoRedirect(t *testing.T) {
	t.Parallel()
	var followed atomic.Bool
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { followed.Store(true) }))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	status, err := egress.Policy{AllowInsecure: true}.Client().Send(context.Background(),
		egress.Message{URL: srv.URL, Secret: "whsec_" + strings.Repeat("A", 32), ID: "msg_1", Body: []byte("{}")}, time.Now())
	if err != nil || status != http.StatusTemporaryRedirect || followed.Load() {
		t.Errorf("status %d, err %v, followed %v", status, err, followed.Load())
	}
}

// A receiver that answers without end is read no further than MaxAnswer: the client
// hangs up long before it has written its answer.
func TestSendReadsLittleOfTheAnswer(t *testing.T) {
	t.Parallel()
	const answer = 256 << 20
	wrote := make(chan int64, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := make([]byte, 64<<10)
		var n int64
		for n < answer {
			k, err := w.Write(chunk)
			n += int64(k)
			if err != nil {
				break
			}
		}
		wrote <- n
	}))
	defer srv.Close()
	status, err := egress.Policy{AllowInsecure: true}.Client().Send(context.Background(),
		egress.Message{URL: srv.URL, Secret: "whsec_" + strings.Repeat("A", 32), ID: "msg_1", Body: []byte("{}")}, time.Now())
	if err != nil || status != http.StatusOK {
		t.Fatalf("status %d, err %v", status, err)
	}
	if n := <-wrote; n >= answer {
		t.Errorf("the receiver wrote its whole answer, %d bytes: the client read it all", n)
	}
}

// A receiver that never answers costs an attempt Timeout, no more.
func TestSendTimesOut(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	start := time.Now()
	_, err := egress.Policy{AllowInsecure: true}.Client().Send(context.Background(),
		egress.Message{URL: srv.URL, Secret: "whsec_" + strings.Repeat("A", 32), ID: "msg_1", Body: []byte("{}")}, time.Now())
	if took := time.Since(start); err == nil || took < egress.Timeout || took > egress.Timeout+5*time.Second {
		t.Errorf("after %v: %v; want a timeout after %v", took, err, egress.Timeout)
	}
}
