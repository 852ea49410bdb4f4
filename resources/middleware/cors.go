package middleware

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// What a browser on an allowed origin may send and read. The lists are fixed: every route
// takes the same headers, so a preflight need not be routed to be answered.
const (
	corsAllowHeaders  = "Authorization, X-API-Key, Content-Type, Idempotency-Key, If-Match, Accept, X-Request-Id"
	corsExposeHeaders = "Location, ETag, X-Request-Id, Retry-After"
	// corsMaxAge is how long, in seconds, a browser may reuse a preflight's answer:
	// Chromium's ceiling, two hours.
	corsMaxAge = "7200"
)

// ParseOrigins reads the --cors-origins list: comma-separated origins, each a scheme,
// host and optional port with no path ("https://dash.example.com"), or "*" for any.
// Origins are compared exactly, as browsers send them (lowercase scheme and host), so a
// slip such as a trailing slash, which would never match, is refused here instead.
func ParseOrigins(list string) ([]string, error) {
	var out []string
	for o := range strings.SplitSeq(list, ",") {
		o = strings.TrimSpace(o)
		if o == "" {
			continue
		}
		if o != "*" {
			o = strings.ToLower(o)
			// An origin is exactly scheme://host[:port]: anything else (a path, even "/",
			// a query, a user) makes the two differ.
			if u, err := url.Parse(o); err != nil || u.Scheme == "" || u.Host == "" || o != u.Scheme+"://"+u.Host {
				return nil, fmt.Errorf("%q is not an origin: want scheme://host[:port], as in https://dash.example.com", o)
			}
		}
		out = append(out, o)
	}
	return out, nil
}

// CORS lets browser pages on origins (from ParseOrigins) call the API with methods, those
// that next has routes for; without any origin, it adds nothing.
//
// It runs before routing and authentication. A preflight names any path, carries no
// credentials and uses a method no route has, so a route would refuse it with 405 and
// authorize with 401; it is answered here, 204 with what a browser may send. Requests
// from other origins pass through without CORS headers: the browser then keeps their
// answers from the page, which is the refusal.
func CORS(next http.Handler, origins, methods []string) http.Handler {
	if len(origins) == 0 {
		return next
	}
	allowMethods := strings.Join(methods, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// The answer depends on Origin, so caches must keep one per origin.
		h.Add("Vary", "Origin")
		origin := r.Header.Get("Origin")
		if origin == "" || !slices.Contains(origins, "*") && !slices.Contains(origins, origin) {
			next.ServeHTTP(w, r)
			return
		}
		// The origin itself, even when any is allowed: one shape of answer (with Vary:
		// Origin) whatever the list, and it stays valid should a dashboard ever send
		// credentials, which browsers refuse to share with "*".
		h.Set("Access-Control-Allow-Origin", origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			Routed(r, "preflight")
			h.Set("Access-Control-Allow-Methods", allowMethods)
			h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
			h.Set("Access-Control-Max-Age", corsMaxAge)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
		next.ServeHTTP(w, r)
	})
}
