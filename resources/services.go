package resources

import (
	"context"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage"
)

// ErasureServicesPath is where a store's registry of services is served.
const ErasureServicesPath = "/v2/erasure-services"

// erasureServices serves the erasure_service type: the store's registry, whose names a
// new erasure request copies as its services_required. Its id is the name; a PATCH may
// change only the description, and a DELETE takes the service out at once (204).
func (s *Server) erasureServices() *collection[erasured.ErasureService] {
	return &collection[erasured.ErasureService]{
		typ: erasured.ErasureServices, path: ErasureServicesPath, param: "name",
		read: erasured.ScopeErasureRead, write: erasured.ScopeErasureWorkflow, change: erasured.ScopeErasureWorkflow,
		version: func(svc *erasured.ErasureService) int64 { return svc.Version },
		list:    s.db.ErasureServicePage,
		get:     s.db.ErasureService,
		create: func(ctx context.Context, key *erasured.Key, in erasured.Values, idem *storage.Idempotency) (*erasured.ErasureService, error) {
			return s.db.CreateErasureService(ctx, erasured.NewErasureService(key.StoreID, in, erasured.Now()), idem)
		},
		update: func(ctx context.Context, key *erasured.Key, name string, match *erasured.Match, in erasured.Values) (*erasured.ErasureService, error) {
			return s.db.UpdateErasureService(ctx, key.StoreID, name, match, in)
		},
		destroy: s.db.DeleteErasureService,
	}
}
