package resources

import (
	"net/http"

	"github.com/google/jsonapi"
	"github.com/gorilla/mux"

	"github.com/erasured/erasured"
)

// eventType is the JSON:API type of an entry of an erasure request's audit trail.
const eventType = "erasure_event"

// eventFields are the fields of an erasure_event, for fields[erasure_event].
var eventFields = []string{"created_at", "actor", "old_status", "new_status", "report"}

// eventView is an audit event as the API shows it. It has no links.self: events are
// read through their erasure request, never one by one.
type eventView struct {
	ID        int64            `jsonapi:"primary,erasure_event"`
	CreatedAt string           `jsonapi:"attr,created_at"`
	Actor     string           `jsonapi:"attr,actor"`
	OldStatus *erasured.Status `jsonapi:"attr,old_status"`
	NewStatus erasured.Status  `jsonapi:"attr,new_status"`
	Report    erasured.Report  `jsonapi:"attr,report"`
}

// eventNodes marshals events into resource objects with fields.
func eventNodes(events []erasured.Event, fields fieldset) ([]*jsonapi.Node, error) {
	views := make([]*eventView, len(events))
	for i, ev := range events {
		rep := ev.Report
		if t := rep.CompletedAt.Value; t != nil {
			// The event keeps the instant as it was reported; it leaves in UTC, as every time does.
			utc := t.UTC()
			rep.CompletedAt.Value = &utc
		}
		views[i] = &eventView{
			ID: ev.ID, CreatedAt: timestamp(ev.CreatedAt), Actor: ev.Actor,
			OldStatus: ev.OldStatus, NewStatus: ev.NewStatus, Report: rep,
		}
	}
	nodes, err := marshalNodes(views)
	if err != nil {
		return nil, err
	}
	for _, n := range nodes {
		fields.apply(n)
	}
	return nodes, nil
}

// listErasureEvents answers the audit trail of one erasure request, oldest first. It is
// not paginated: a request gathers one event per report and a completed request takes no
// more, so in practice its trail is a few events per service that takes part.
func (s *Server) listErasureEvents(w http.ResponseWriter, r *http.Request) error {
	key, err := s.authorize(r, erasured.ScopeErasureRead)
	if err != nil {
		return err
	}
	fields, err := onlyFields(r, eventType, eventFields)
	if err != nil {
		return err
	}
	events, err := s.db.ErasureEvents(r.Context(), key.StoreID, mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	nodes, err := eventNodes(events, fields)
	if err != nil {
		return err
	}
	s.writeDocument(w, http.StatusOK, &document{
		Data:  nodes,
		Links: map[string]any{"self": s.selfURL(r), "describedby": s.baseURL(r) + "/openapi.json"},
	})
	return nil
}
