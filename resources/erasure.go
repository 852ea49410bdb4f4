package resources

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/google/jsonapi"
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

func (s *Server) erasureNodes(r *http.Request, rs []*erasured.ErasureRequest, fields fieldset) ([]*jsonapi.Node, error) {
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
	nodes, err := marshalNodes(views)
	if err != nil {
		return nil, err
	}
	for i, n := range nodes {
		n.Relationships = map[string]any{
			"events": map[string]any{"links": map[string]any{"related": views[i].self + "/events"}},
		}
		fields.apply(n)
	}
	return nodes, nil
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
	if err := checkQuery(r, append([]string{"filter", "sort", "fields[" + erasureType + "]"}, pageParams...)...); err != nil {
		return err
	}
	q := r.URL.Query()
	opts := erasured.ListOptions{StoreID: key.StoreID}
	if opts.Filter, err = filters.Parse(q.Get("filter"), erasured.ErasureRequestAttributes); err != nil {
		return err
	}
	if opts.Sort, err = parseSort(r, erasureSortable()); err != nil {
		return err
	}
	if err = readPage(q, s.cfg.PageLength, &opts); err != nil {
		return err
	}
	fields, err := parseFields(r, erasureType, erasureFields)
	if err != nil {
		return err
	}
	page, err := s.db.ErasureRequestPage(r.Context(), opts)
	if err != nil {
		return err
	}
	nodes, err := s.erasureNodes(r, page.Items, fields)
	if err != nil {
		return err
	}
	s.writeDocument(w, http.StatusOK, listDocument(s, r, erasurePath, nodes, opts, page))
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
	if err := checkQuery(r, "fields["+erasureType+"]"); err != nil {
		return err
	}
	fields, err := parseFields(r, erasureType, erasureFields)
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
	if err := s.db.CreateErasureRequest(r.Context(), er); err != nil {
		return err
	}
	nodes, err := s.erasureNodes(r, []*erasured.ErasureRequest{er}, fields)
	if err != nil {
		return err
	}
	self := s.baseURL(r) + erasurePath + "/" + er.ID
	w.Header().Set("Location", self)
	w.Header().Set("ETag", etag(er.Version))
	s.writeDocument(w, http.StatusCreated, s.resourceDocument(r, self, nodes[0]))
	return nil
}

func (s *Server) getErasureRequest(w http.ResponseWriter, r *http.Request) error {
	key, err := s.authorize(r, erasured.ScopeErasureRead)
	if err != nil {
		return err
	}
	if err := checkQuery(r, "fields["+erasureType+"]"); err != nil {
		return err
	}
	fields, err := parseFields(r, erasureType, erasureFields)
	if err != nil {
		return err
	}
	er, err := s.db.ErasureRequest(r.Context(), key.StoreID, mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	nodes, err := s.erasureNodes(r, []*erasured.ErasureRequest{er}, fields)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(er.Version))
	s.writeDocument(w, http.StatusOK, s.resourceDocument(r, s.selfURL(r), nodes[0]))
	return nil
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

func etag(version int64) string { return fmt.Sprintf(`"%d"`, version) }
