package resources

import (
	"context"
	"net/http"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/openapi"
)

// healthz answers while the process serves at all.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// openapiDocument serves the OpenAPI description that every JSON:API response links as
// describedby.
func (s *Server) openapiDocument(w http.ResponseWriter, _ *http.Request) error {
	w.Header().Set("Content-Type", "application/vnd.oai.openapi+json")
	_, _ = w.Write(openapi.Document()) // the client hung up; nothing left to tell it
	return nil
}

// readyz answers 200 only while the database answers and the process is not draining
// (Drain), so a load balancer stops sending traffic to a process that cannot serve it,
// or soon will not.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if s.draining.Load() {
		return erasured.Errorf(erasured.EUNAVAILABLE, "the server is shutting down")
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	return nil
}
