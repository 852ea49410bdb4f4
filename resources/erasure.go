package resources

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/google/jsonapi"
	"github.com/google/uuid"
	"github.com/gorilla/mux"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/filters"
	"github.com/erasured/erasured/pagination"
)

const (
	erasureType = "erasure_request"
	erasurePath = "/v2/personal-data/erasure-requests"
)

// erasureFields are the fields of an erasure_request, for fields[erasure_request].
var erasureFields = []string{
	"resource_type", "resource_id", "reason", "status", "status_description", "initiator",
	"services_erased", "partial_failures", "created_at", "updated_at", "completed_at", "due_at",
	"events",
}

// erasureView is an erasure request as the Elastic Path API shows it.
type erasureView struct {
	ID                string                    `jsonapi:"primary,erasure_request"`
	ResourceType      string                    `jsonapi:"attr,resource_type"`
	ResourceID        string                    `jsonapi:"attr,resource_id"`
	Reason            *string                   `jsonapi:"attr,reason"`
	Status            string                    `jsonapi:"attr,status"`
	StatusDescription string                    `jsonapi:"attr,status_description"`
	Initiator         erasured.Initiator        `jsonapi:"attr,initiator"`
	ServicesErased    []string                  `jsonapi:"attr,services_erased"`
	PartialFailures   []erasured.PartialFailure `jsonapi:"attr,partial_failures"`
	CreatedAt         string                    `jsonapi:"attr,created_at"`
	UpdatedAt         string                    `jsonapi:"attr,updated_at"`
	CompletedAt       *string                   `jsonapi:"attr,completed_at"`
	DueAt             string                    `jsonapi:"attr,due_at"`
	self              string
}

// JSONAPILinks gives each erasure_request its links.self.
func (v *erasureView) JSONAPILinks() *jsonapi.Links { return &jsonapi.Links{"self": v.self} }

// erasureQuery is what the query string asks of a response that holds erasure requests.
type erasureQuery struct {
	fields      fieldset // fields[erasure_request]
	eventFields fieldset // fields[erasure_event], for the included events
	// include is nil without include=; with include=events the response carries the
	// requests' events in included and links them from the events relationship.
	include map[string]bool
}

// parseErasureQuery checks r's query string against the parameters every erasure
// request response honours and extra, and reads the ones that shape the response.
func parseErasureQuery(r *http.Request, extra ...string) (erasureQuery, error) {
	var q erasureQuery
	err := checkQuery(r, append([]string{"include", "fields[" + erasureType + "]", "fields[" + eventType + "]"}, extra...)...)
	if err != nil {
		return q, err
	}
	if q.fields, err = parseFields(r, erasureType, erasureFields); err != nil {
		return q, err
	}
	if q.eventFields, err = parseFields(r, eventType, eventFields); err != nil {
		return q, err
	}
	q.include, err = parseInclude(r, "events")
	return q, err
}

// erasureResources marshals rs as q asks: their resource objects, and, when q includes
// events, the events of them all for included, read in one query. included is nil
// when q has no include.
func (s *Server) erasureResources(r *http.Request, storeID string, rs []*erasured.ErasureRequest, q erasureQuery) (data, included []*jsonapi.Node, err error) {
	var events map[string][]erasured.Event
	if q.include["events"] {
		ids := make([]string, len(rs))
		for i, e := range rs {
			ids[i] = e.ID
		}
		if events, err = s.db.ErasureEventsFor(r.Context(), storeID, ids); err != nil {
			return nil, nil, err
		}
	}
	if q.include != nil {
		included = []*jsonapi.Node{}
	}
	views := make([]*erasureView, len(rs))
	for i, e := range rs {
		status, description := e.View()
		views[i] = &erasureView{
			ID: e.ID, ResourceType: e.ResourceType, ResourceID: e.ResourceID, Reason: e.Reason,
			Status: status, StatusDescription: description, Initiator: e.Initiator,
			ServicesErased: e.ServicesErased, PartialFailures: e.PartialFailures,
			CreatedAt: timestamp(e.CreatedAt), UpdatedAt: timestamp(e.UpdatedAt),
			CompletedAt: nullableTimestamp(e.CompletedAt), DueAt: timestamp(e.DueAt),
			self: s.baseURL(r) + erasurePath + "/" + e.ID,
		}
	}
	data, err = marshalNodes(views)
	if err != nil {
		return nil, nil, err
	}
	for i, n := range data {
		rel := map[string]any{"links": map[string]any{"related": views[i].self + "/events"}}
		if events != nil {
			evs := events[rs[i].ID]
			linkage := make([]map[string]string, len(evs))
			for j, ev := range evs {
				linkage[j] = map[string]string{"type": eventType, "id": strconv.FormatInt(ev.ID, 10)}
			}
			rel["data"] = linkage
			nodes, err := eventNodes(evs, q.eventFields)
			if err != nil {
				return nil, nil, err
			}
			included = append(included, nodes...)
		}
		n.Relationships = map[string]any{"events": rel}
		q.fields.apply(n)
	}
	return data, included, nil
}

// writeErasure answers with er as a single-resource document shaped by q, with its ETag.
func (s *Server) writeErasure(w http.ResponseWriter, r *http.Request, status int, self string, er *erasured.ErasureRequest, q erasureQuery) error {
	data, included, err := s.erasureResources(r, er.StoreID, []*erasured.ErasureRequest{er}, q)
	if err != nil {
		return err
	}
	doc := s.resourceDocument(r, self, data[0])
	if included != nil {
		doc.Included = included
	}
	w.Header().Set("ETag", etag(er.Version))
	s.writeDocument(w, status, doc)
	return nil
}

// erasureSortable are the attributes sort= accepts: the filterable ones.
func erasureSortable() []string {
	out := make([]string, len(erasured.ErasureRequestAttributes))
	for i, a := range erasured.ErasureRequestAttributes {
		out[i] = a.Name
	}
	return out
}

func (s *Server) listErasureRequests(w http.ResponseWriter, r *http.Request) error {
	key, err := s.authorize(r, erasured.ScopeErasureRead)
	if err != nil {
		return err
	}
	q, err := parseErasureQuery(r, append([]string{"filter", "sort"}, pageParams...)...)
	if err != nil {
		return err
	}
	opts := erasured.ListOptions{StoreID: key.StoreID}
	if opts.Filter, err = filters.Parse(r.URL.Query().Get("filter"), erasured.ErasureRequestAttributes); err != nil {
		return err
	}
	if opts.Sort, err = parseSort(r, erasureSortable()); err != nil {
		return err
	}
	if err = readPage(r.URL.Query(), s.cfg.PageLength, &opts); err != nil {
		return err
	}
	page, err := s.db.ErasureRequestPage(r.Context(), opts)
	if err != nil {
		return err
	}
	data, included, err := s.erasureResources(r, key.StoreID, page.Items, q)
	if err != nil {
		return err
	}
	doc := listDocument(s, r, erasurePath, data, opts, page)
	if included != nil {
		doc.Included = included
	}
	s.writeDocument(w, http.StatusOK, doc)
	return nil
}

// pageDocument is a collection document with offset pagination links and meta.
func (s *Server) pageDocument(r *http.Request, path string, nodes []*jsonapi.Node, page pagination.Page, total int) *document {
	links := page.Links(s.baseURL(r)+path, r.URL.Query(), total)
	return &document{
		Data: nodes,
		Links: map[string]any{
			"self": links.Self, "first": links.First, "last": links.Last, "prev": links.Prev, "next": links.Next,
			"describedby": s.baseURL(r) + "/openapi.json",
		},
		Meta: map[string]any{"page": page.Meta(total), "results": map[string]int{"total": total}},
	}
}

// resourceDocument is a single-resource document.
func (s *Server) resourceDocument(r *http.Request, self string, node *jsonapi.Node) *document {
	return &document{Data: node, Links: map[string]any{"self": self, "describedby": s.baseURL(r) + "/openapi.json"}}
}

func (s *Server) createErasureRequest(w http.ResponseWriter, r *http.Request) error {
	key, err := s.authorize(r, erasured.ScopeErasureWrite)
	if err != nil {
		return err
	}
	q, err := parseErasureQuery(r)
	if err != nil {
		return err
	}
	idem, err := readIdempotencyKey(r)
	if err != nil {
		return err
	}
	in, err := decodeResource(r)
	if err != nil {
		return err
	}
	if err := checkType(in, erasureType); err != nil {
		return err
	}
	if in.ID != nil {
		return &apiError{status: http.StatusForbidden, code: "client_id_forbidden", pointer: "/data/id",
			detail: "erasured assigns ids; a new erasure request must not have one"}
	}
	// Elastic Path clients put the attributes directly under data.
	attrs, base := in.Attributes, "/data/attributes/"
	if attrs == nil && len(in.Other) > 0 {
		attrs, base = in.Other, "/data/"
	} else if len(in.Other) > 0 {
		for k := range in.Other {
			return bodyError("/data/"+k, "unknown member %q of a resource object", k)
		}
	}
	if err := onlyAttributes(attrs, base, "resource_type", "resource_id", "reason"); err != nil {
		return err
	}
	resourceType, err := requiredString(attrs, base, "resource_type")
	if err != nil {
		return err
	}
	resourceID, err := requiredString(attrs, base, "resource_id")
	if err != nil {
		return err
	}
	reason, err := attr[string](attrs, base, "reason", "a string or null")
	if err != nil {
		return err
	}
	var reasonPtr *string
	if reason.Present && !reason.Null {
		reasonPtr = &reason.Value
	}
	er, err := erasured.NewErasureRequest(key, resourceType, resourceID, reasonPtr, erasured.Now(), s.cfg.ErasureDue)
	if err != nil {
		return pointTo(err, base)
	}
	if idem == nil {
		err = s.db.CreateErasureRequest(r.Context(), er)
	} else {
		var (
			id       string
			replayed bool
		)
		id, replayed, err = idem.create(r.Context(), s.db, key.StoreID, erasureType, s.db.ErasureRequestCreator(er))
		if err == nil && replayed {
			// The answer to the first POST, with the request as it is now.
			er, err = s.db.ErasureRequest(r.Context(), key.StoreID, id)
		}
	}
	if err != nil {
		return err
	}
	self := s.baseURL(r) + erasurePath + "/" + er.ID
	w.Header().Set("Location", self)
	return s.writeErasure(w, r, http.StatusCreated, self, er, q)
}

func (s *Server) getErasureRequest(w http.ResponseWriter, r *http.Request) error {
	key, err := s.authorize(r, erasured.ScopeErasureRead)
	if err != nil {
		return err
	}
	q, err := parseErasureQuery(r)
	if err != nil {
		return err
	}
	er, err := s.db.ErasureRequest(r.Context(), key.StoreID, mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	return s.writeErasure(w, r, http.StatusOK, s.selfURL(r), er, q)
}

// patchErasureRequest takes a service's report as a JSON:API PATCH whose attributes are
// the members of the workflow endpoint's body, with its rules (decodeReport, and
// erasured.ErasureRequest.Apply). Every other attribute, the read-only ones included, is
// a 400 pointing at it. The event names the API key as the actor.
func (s *Server) patchErasureRequest(w http.ResponseWriter, r *http.Request) error {
	key, err := s.authorize(r, erasured.ScopeErasureWorkflow)
	if err != nil {
		return err
	}
	q, err := parseErasureQuery(r)
	if err != nil {
		return err
	}
	version, err := ifMatch(r)
	if err != nil {
		return err
	}
	in, err := decodeResource(r)
	if err != nil {
		return err
	}
	if err := checkType(in, erasureType); err != nil {
		return err
	}
	id := mux.Vars(r)["id"]
	if in.ID == nil {
		return bodyError("/data/id", "data.id must name the erasure request this PATCH changes")
	}
	if !sameID(*in.ID, id) {
		return &apiError{status: http.StatusConflict, code: "conflict", pointer: "/data/id",
			detail: fmt.Sprintf("data.id %q does not match the id %q in the URL", *in.ID, id)}
	}
	for k := range in.Other {
		return bodyError("/data/"+k, "unknown member %q of a resource object; attributes go in data.attributes", k)
	}
	rep, err := decodeReport(in.Attributes, "/data/attributes/")
	if err != nil {
		return err
	}
	er, err := s.db.UpdateErasureRequest(r.Context(), key.StoreID, id, key.Name, version, rep)
	if err != nil {
		return err
	}
	return s.writeErasure(w, r, http.StatusOK, s.selfURL(r), er, q)
}

// sameID reports whether a and b name one erasure request: its id is a uuid, and
// storage finds it by any spelling of that uuid (upper case, say).
func sameID(a, b string) bool {
	if a == b {
		return true
	}
	ua, errA := uuid.Parse(a)
	ub, errB := uuid.Parse(b)
	return errA == nil && errB == nil && ua == ub
}

// requiredString decodes a string attribute that must be present and not null.
func requiredString(attrs map[string]json.RawMessage, base, name string) (string, error) {
	a, err := attr[string](attrs, base, name, "a string")
	if err != nil {
		return "", err
	}
	if !a.Present || a.Null {
		return "", bodyError(base+name, "%s is required", name)
	}
	return a.Value, nil
}

// pointTo moves a domain error about an attribute to where the client wrote it.
func pointTo(err error, base string) error {
	var e *erasured.Error
	if errors.As(err, &e) && e.Field != "" && e.Code == erasured.EINVALID {
		return bodyError(base+e.Field, "%s", e.Message)
	}
	return err
}
