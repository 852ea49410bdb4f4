package resources

import (
	"net/http"
	"strings"
	"time"

	"github.com/erasured/erasured"
)

// authorize returns the API key that r presents (Authorization: Bearer, or X-API-Key)
// if it holds scope. It returns EUNAUTHORIZED for a missing or unknown token and
// EFORBIDDEN for a key without the scope. Every request of a known key counts against
// its rate limit, if any; past it, authorize returns ETOOMANY. On a route of both
// representations whose Accept left the choice open, the key's default takes it from
// here on, errors included. An access token (OAuth client credentials) is its key.
func (s *Server) authorize(r *http.Request, scope string) (*erasured.Key, error) {
	token := r.Header.Get("X-API-Key")
	if auth := r.Header.Get("Authorization"); auth != "" {
		scheme, rest, _ := strings.Cut(auth, " ")
		if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(rest) == "" {
			return nil, erasured.Errorf(erasured.EUNAUTHORIZED, "the Authorization header must be \"Bearer <token>\"")
		}
		token = strings.TrimSpace(rest)
	}
	if token == "" {
		return nil, erasured.Errorf(erasured.EUNAUTHORIZED, "an API key is required: send Authorization: Bearer <token> or X-API-Key: <token>")
	}
	key, err := s.key(r, token)
	if err != nil {
		return nil, err
	}
	if rep := representationOf(r); rep != nil && !rep.fromAccept {
		rep.elasticPath = key.Representation == erasured.RepresentationElasticPath
	}
	// Only now is there a key to charge: a request refused with 401 spends no key's budget.
	if err := s.limit(key); err != nil {
		return nil, err
	}
	if !key.Has(scope) {
		return nil, erasured.Errorf(erasured.EFORBIDDEN, "this API key lacks the scope %s", scope)
	}
	return key, nil
}

// key returns the key that token is, or that the access token stands for, from the
// cache when it is there.
func (s *Server) key(r *http.Request, token string) (*erasured.Key, error) {
	now := time.Now()
	hash := erasured.HashToken(token)
	if k := s.keys.Get(hash, now); k != nil {
		return k, nil
	}
	lookup := s.db.KeyByToken
	if strings.HasPrefix(token, erasured.AccessTokenPrefix) {
		lookup = s.db.KeyByAccessToken
	}
	k, err := lookup(r.Context(), hash, now)
	if err != nil {
		return nil, err
	}
	s.keys.Put(hash, k, now)
	return k, nil
}

// limit spends one request of key's budget, if requests are limited. Over the limit it
// returns ETOOMANY, with the wait the client is told in Retry-After.
func (s *Server) limit(key *erasured.Key) error {
	if s.limits == nil {
		return nil
	}
	wait, ok := s.limits.Take(key.ID, time.Now())
	if ok {
		return nil
	}
	after := retryAfter{after: wait}
	after.err = erasured.Errorf(erasured.ETOOMANY, "this API key may send %s; retry in %d s", s.limits.Describe(), after.seconds())
	return &after
}
