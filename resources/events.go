package resources

import (
	"net/http"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/resources/jsonapi"
)

// eventNodes are the resource objects of events with fields. Events have no links.self:
// they are read through their erasure request, never one by one.
func eventNodes(events []erasured.Event, fields jsonapi.Fieldset) []*jsonapi.Object {
	nodes := make([]*jsonapi.Object, len(events))
	for i := range events {
		ev := &events[i]
		nodes[i] = jsonapi.NewObject(erasured.Events.Name, erasured.Events.IDOf(ev), erasured.Events.Read(ev), fields, "")
	}
	return nodes
}

// listErasureEvents answers the audit trail of one erasure request, oldest first. It is
// not paginated: a request gathers one event per report and a completed request takes no
// more, so in practice its trail is a few events per service that takes part.
func (s *Server) listErasureEvents(w http.ResponseWriter, r *http.Request) error {
	key, err := s.authorize(r, erasured.ScopeErasureRead)
	if err != nil {
		return err
	}
	fields, err := onlyFields(r, erasured.Events.Name, erasured.Events.FieldNames())
	if err != nil {
		return err
	}
	id, err := pathID(r, "id", erasured.ErasureRequests)
	if err != nil {
		return err
	}
	events, err := s.db.ErasureEvents(r.Context(), key.StoreID, id)
	if err != nil {
		return err
	}
	return s.write(w, r, http.StatusOK, &jsonapi.Document{Data: eventNodes(events, fields), Links: jsonapi.Links{Base: s.baseURL(r), Self: s.selfURL(r)}})
}
