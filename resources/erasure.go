package resources

import (
	"context"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/resources/jsonapi"
	"github.com/erasured/erasured/storage"
)

// ErasureRequestsPath is where erasure requests are served.
const ErasureRequestsPath = "/v2/personal-data/erasure-requests"

// erasureRequests serves the erasure_request type: clients with the write scope file
// requests (in the JSON:API form or Elastic Path's, attributes directly under data);
// services with the workflow scope report on them with a PATCH, which merges as the
// workflow endpoint's report does; every request links its audit trail as the
// relationship events.
func (s *Server) erasureRequests() *collection[erasured.ErasureRequest] {
	return &collection[erasured.ErasureRequest]{
		typ: erasured.ErasureRequests, path: ErasureRequestsPath, param: "id",
		read: erasured.ScopeErasureRead, write: erasured.ScopeErasureWrite, change: erasured.ScopeErasureWorkflow,
		version: func(r *erasured.ErasureRequest) int64 { return r.Version },
		list:    s.db.ErasureRequestPage,
		get:     s.db.ErasureRequest,
		create: func(ctx context.Context, key *erasured.Key, in erasured.Values, idem *storage.Idempotency) (*erasured.ErasureRequest, error) {
			return s.db.CreateErasureRequest(ctx, erasured.NewErasureRequest(key, in, erasured.Now(), s.cfg.ErasureDue), idem)
		},
		// The event names the API key as the actor.
		update: func(ctx context.Context, key *erasured.Key, id string, match *erasured.Match, in erasured.Values) (*erasured.ErasureRequest, error) {
			return s.db.UpdateErasureRequest(ctx, key.StoreID, id, key.Name, match, erasured.ReportOf(in))
		},
		flat:        true,
		elasticPath: true,
		related: &relation[erasured.ErasureRequest]{
			name: "events", typ: erasured.Events.Name, fields: erasured.Events.FieldNames(),
			// The events of a whole page, in one query.
			load: func(ctx context.Context, storeID string, items []*erasured.ErasureRequest, fields jsonapi.Fieldset) (map[string][]*jsonapi.Object, error) {
				ids := make([]string, len(items))
				for i, r := range items {
					ids[i] = r.ID
				}
				events, err := s.db.ErasureEventsFor(ctx, storeID, ids)
				if err != nil {
					return nil, err
				}
				out := make(map[string][]*jsonapi.Object, len(events))
				for id, evs := range events {
					out[id] = eventNodes(evs, fields)
				}
				return out, nil
			},
		},
	}
}
