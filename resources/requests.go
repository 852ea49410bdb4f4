package resources

import (
	"context"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage"
)

// RequestsPath is where Open Notes requests are served.
const RequestsPath = "/api/public/v1/requests"

// requests serves the Open Notes requests type: its id is the request_id a client
// chooses; a DELETE answers 202 and the request is deleted in the background. Every
// change is logged in the personal data logs, with the key as its initiator.
func (s *Server) requests() *collection[erasured.Request] {
	return &collection[erasured.Request]{
		typ: erasured.Requests, path: RequestsPath, param: "request_id",
		read: erasured.ScopeRequestsRead, write: erasured.ScopeRequestsWrite, change: erasured.ScopeRequestsWrite,
		version: func(r *erasured.Request) int64 { return r.Version },
		list:    s.db.RequestPage,
		get:     s.db.Request,
		create: func(ctx context.Context, key *erasured.Key, in erasured.Values, idem *storage.Idempotency) (*erasured.Request, error) {
			return s.db.CreateRequest(ctx, erasured.NewRequest(key.StoreID, in, erasured.Now()), key.Initiator(), idem)
		},
		update: func(ctx context.Context, key *erasured.Key, id string, match *erasured.Match, in erasured.Values) (*erasured.Request, error) {
			return s.db.UpdateRequest(ctx, key.StoreID, id, key.Initiator(), match, in)
		},
		remove: func(ctx context.Context, key *erasured.Key, id string) (*erasured.Deletion, error) {
			return s.db.RequestDeletion(ctx, key.StoreID, id, key.Initiator())
		},
	}
}
