package resources

import (
	"context"
	"net/http"

	"github.com/erasured/erasured/resources/jsonapi"
)

// The paths of Elastic Path's Personal Data API answer in two representations of the
// same documents: JSON:API, or Elastic Path's own (jsonapi.WriteElasticPath). Accept
// chooses when it names application/vnd.api+json (JSON:API) or application/json and not
// the other (Elastic Path's); when it names neither (absent, */*), the API key's default
// does (erasured.Key.Representation), once authorize knows the key. Until then, and for
// a request that never authenticates, it is JSON:API.

// representation is the shape one request's answer takes, errors included.
type representation struct {
	elasticPath bool
	// fromAccept is set when Accept chose, so the key's default does not apply.
	fromAccept bool
}

type representationKey struct{}

// representationOf is r's representation, or nil on a route that has but JSON:API.
func representationOf(r *http.Request) *representation {
	rep, _ := r.Context().Value(representationKey{}).(*representation)
	return rep
}

// negotiatedRoute registers an endpoint of Elastic Path's Personal Data API: negotiated
// between the two representations, and answering in the one chosen, errors included.
func (s *Server) negotiatedRoute(path string, h handlerFunc, methods ...string) {
	inner := s.negotiate(s.handle(negotiatedError, h), negotiatedError)
	s.route(path, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Caches must not hand one client's representation to another.
		w.Header().Add("Vary", "Accept")
		rep := &representation{}
		if jsonAPI, plain := jsonapi.Named(r.Header.Values("Accept")); jsonAPI || plain {
			rep.fromAccept, rep.elasticPath = true, !jsonAPI
		}
		inner.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), representationKey{}, rep)))
	}), methods...)
}

// negotiatedError renders a problem in the representation of the request.
func negotiatedError(s *Server, w http.ResponseWriter, r *http.Request, p *jsonapi.Error) {
	if rep := representationOf(r); rep != nil && rep.elasticPath {
		elasticPathError(s, w, r, p)
		return
	}
	jsonapiError(s, w, r, p)
}
