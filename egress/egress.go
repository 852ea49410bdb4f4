// Package egress is every connection erasured opens to an address that a client chose:
// the deliveries of webhooks. It decides which addresses may be reached, so that a
// client cannot make the server call into its own network (server-side request
// forgery): no loopback, private, link-local (cloud metadata), shared, multicast or
// reserved address. It checks a URL when a client names one (Policy.Check), and gives
// the HTTP client that delivers (Policy.Client), whose dialer checks every address it
// connects to after the name was resolved, so that a name which resolves to an allowed
// address when it is checked and to a forbidden one when it is called (DNS rebinding)
// is refused all the same.
//
// It signs what it sends by the Standard Webhooks specification, and knows nothing of
// erasure requests or of the database.
package egress

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"syscall"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/erasured/erasured"
)

// Limits on one delivery: the whole exchange must end within Timeout, and at most
// MaxAnswer bytes of the receiver's answer are read.
const (
	Timeout   = 10 * time.Second
	MaxAnswer = 64 << 10
)

// Resolver looks up the addresses of a host name; *net.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Policy says which URLs and addresses may be called. The zero Policy calls https URLs
// of public addresses only, and resolves names with the system's resolver.
type Policy struct {
	// AllowInsecure lets loopback addresses be called, and plain http reach them and only
	// them: for development and tests (--webhooks-allow-insecure).
	AllowInsecure bool
	// Resolver resolves the host names of URLs that Check is given; nil is
	// net.DefaultResolver. The dialer of Client always uses the system's.
	Resolver Resolver
}

// forbidden are the address ranges that are not the public internet, beyond those
// netip.Addr reports itself (loopback, link-local, multicast, unspecified, private).
var forbidden = prefixes(
	"::/96",           // IPv4-compatible IPv6, deprecated
	"0.0.0.0/8",       // "this network"
	"100.64.0.0/10",   // shared address space (carrier-grade NAT; a cloud's metadata at 100.100.100.200)
	"192.0.0.0/24",    // IETF protocol assignments
	"192.0.2.0/24",    // documentation
	"198.18.0.0/15",   // benchmarking
	"198.51.100.0/24", // documentation
	"203.0.113.0/24",  // documentation
	"240.0.0.0/4",     // reserved, and the broadcast address
	"64:ff9b:1::/48",  // local-use IPv4/IPv6 translation
	"100::/64",        // discard-only
	"2001::/23",       // IETF protocol assignments (Teredo among them)
	"2001:db8::/32",   // documentation
	"2002::/16",       // 6to4, which would carry any IPv4 address
	"fec0::/10",       // site-local, deprecated
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// nat64 is the well-known prefix of IPv4 addresses translated to IPv6: such an address
// is as good as the IPv4 address in its last 32 bits.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// Refused is why an address may not be called.
type Refused struct {
	Addr   netip.Addr
	Reason string
}

func (e *Refused) Error() string {
	return fmt.Sprintf("%s is %s: webhooks are never delivered there", e.Addr, e.Reason)
}

// Allow reports whether addr may be called over TLS (tls) or plain http: nil, or a
// *Refused that says why not. Loopback addresses may be called only when AllowInsecure,
// and plain http only reaches those; every other address must be public.
func (p Policy) Allow(addr netip.Addr, tls bool) error {
	addr = addr.Unmap().WithZone("")
	if nat64.Contains(addr) {
		b := addr.As16()
		addr = netip.AddrFrom4([4]byte(b[12:]))
	}
	refuse := func(reason string) error { return &Refused{Addr: addr, Reason: reason} }
	switch {
	case addr.IsLoopback() && p.AllowInsecure:
		return nil
	case addr.IsLoopback():
		return refuse("a loopback address")
	case !tls:
		return refuse("reached by plain http, which only loopback addresses are, with --webhooks-allow-insecure")
	case addr.IsUnspecified():
		return refuse("the unspecified address")
	case addr.IsLinkLocalUnicast():
		return refuse("a link-local address (where clouds serve instance metadata)")
	case addr.IsPrivate():
		return refuse("a private address")
	case addr.IsMulticast() || addr.IsInterfaceLocalMulticast() || addr.IsLinkLocalMulticast():
		return refuse("a multicast address")
	case !addr.IsGlobalUnicast():
		return refuse("not a unicast address")
	}
	for _, f := range forbidden {
		if f.Contains(addr) {
			return refuse("in " + f.String() + ", which is not the public internet")
		}
	}
	return nil
}

// Check reads rawURL, a webhook's URL as a client gave it, and checks that it may be
// called: https (or http, to loopback only, when AllowInsecure), and a host whose every
// address Allow allows. It returns EINVALID about the attribute url, saying why not.
func (p Policy) Check(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return erasured.FieldErrorf("url", "url is not a URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && p.AllowInsecure:
	case u.Scheme == "http":
		return erasured.FieldErrorf("url", "url must be https: deliveries carry erasure requests")
	default:
		return erasured.FieldErrorf("url", "url must be an https URL")
	}
	addrs, err := p.resolve(ctx, u.Hostname())
	if err != nil {
		return erasured.FieldErrorf("url", "url's host %q does not resolve (%v)", u.Hostname(), err)
	}
	for _, a := range addrs {
		if err := p.Allow(a, u.Scheme == "https"); err != nil {
			return erasured.FieldErrorf("url", "url's host %q: %v", u.Hostname(), err)
		}
	}
	return nil
}

func (p Policy) resolve(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	r := p.Resolver
	if r == nil {
		r = net.DefaultResolver
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err == nil && len(addrs) == 0 {
		err = errors.New("no address")
	}
	return addrs, err
}

// Client sends deliveries under a Policy.
type Client struct {
	http *http.Client
}

// Client returns the client that delivers under p: each exchange ends within Timeout,
// follows no redirect (a 3xx is the answer, and a failure), and reads at most MaxAnswer
// bytes of the answer. No proxy is used, and every connection is checked by Allow, on
// the address it is about to connect to, at each attempt: plain http connections with
// tls false, https ones with tls true.
func (p Policy) Client() *Client {
	dialer := func(tls bool) *net.Dialer {
		return &net.Dialer{Timeout: Timeout, Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("egress: dial %s: %w", address, err)
			}
			return p.Allow(ap.Addr(), tls)
		}}
	}
	tlsDialer := &tls.Dialer{NetDialer: dialer(true)}
	return &Client{http: &http.Client{
		Timeout: Timeout,
		Transport: &http.Transport{
			Proxy:               nil,
			DialContext:         dialer(false).DialContext,
			DialTLSContext:      tlsDialer.DialContext,
			TLSHandshakeTimeout: Timeout,
			MaxIdleConnsPerHost: 4,
			IdleConnTimeout:     90 * time.Second,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// Message is one delivery attempt: a JSON body for url, signed with secret ("whsec_"
// and base64) under id, the webhook-id that every attempt of one delivery shares.
type Message struct {
	URL, Secret, ID string
	Body            []byte
}

// Send POSTs m, signed by the Standard Webhooks scheme with the time now, and returns
// the status the receiver answered. An error is an attempt that got no answer: refused
// by the policy, a connection that failed, or the timeout.
func (c *Client) Send(ctx context.Context, m Message, now time.Time) (int, error) {
	signer, err := standardwebhooks.NewWebhook(m.Secret)
	if err != nil {
		return 0, fmt.Errorf("egress: the webhook's secret: %w", err)
	}
	signature, err := signer.Sign(m.ID, now, m.Body)
	if err != nil {
		return 0, fmt.Errorf("egress: sign: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL, bytes.NewReader(m.Body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "erasured-webhooks")
	req.Header.Set(standardwebhooks.HeaderWebhookID, m.ID)
	req.Header.Set(standardwebhooks.HeaderWebhookTimestamp, strconv.FormatInt(now.Unix(), 10))
	req.Header.Set(standardwebhooks.HeaderWebhookSignature, signature)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	// Read what little the answer may hold, so that the connection can serve the next.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, MaxAnswer))
	return resp.StatusCode, nil
}
