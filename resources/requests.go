package resources

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/jsonapi"
	"github.com/gorilla/mux"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/filters"
)

const (
	requestType = "requests"
	requestPath = "/api/public/v1/requests"
)

// requestFields are the attributes of a requests resource, for fields[requests].
var requestFields = []string{
	"request_id", "requested_by", "status", "note_id", "community_server_id", "requested_at",
	"created_at", "updated_at", "content", "platform_message_id", "platform_channel_id",
	"metadata", "similarity_score", "dataset_name", "dataset_item_id",
}

// requestCreatable are the attributes a POST may send: every one but the timestamps
// the server keeps.
var requestCreatable = slices.DeleteFunc(slices.Clone(requestFields), func(f string) bool {
	return f == "created_at" || f == "updated_at"
})

// requestView is an Open Notes request as the public API shows it. Nil pointers and
// the nil map are JSON null.
type requestView struct {
	ID                string         `jsonapi:"primary,requests"`
	RequestID         string         `jsonapi:"attr,request_id"`
	RequestedBy       *string        `jsonapi:"attr,requested_by"`
	Status            string         `jsonapi:"attr,status"`
	NoteID            *string        `jsonapi:"attr,note_id"`
	CommunityServerID *string        `jsonapi:"attr,community_server_id"`
	RequestedAt       string         `jsonapi:"attr,requested_at"`
	CreatedAt         string         `jsonapi:"attr,created_at"`
	UpdatedAt         string         `jsonapi:"attr,updated_at"`
	Content           *string        `jsonapi:"attr,content"`
	PlatformMessageID *string        `jsonapi:"attr,platform_message_id"`
	PlatformChannelID *string        `jsonapi:"attr,platform_channel_id"`
	Metadata          map[string]any `jsonapi:"attr,metadata"`
	SimilarityScore   *float64       `jsonapi:"attr,similarity_score"`
	DatasetName       *string        `jsonapi:"attr,dataset_name"`
	DatasetItemID     *string        `jsonapi:"attr,dataset_item_id"`
	self              string
}

// JSONAPILinks gives each request its links.self.
func (v *requestView) JSONAPILinks() *jsonapi.Links { return &jsonapi.Links{"self": v.self} }

// requestURL is the absolute URL of request id. The id is escaped as one path segment:
// request ids may hold spaces, "%", "?" and any other printable character but "/".
func (s *Server) requestURL(r *http.Request, id string) string {
	return s.baseURL(r) + requestPath + "/" + url.PathEscape(id)
}

func (s *Server) requestNodes(r *http.Request, rs []*erasured.Request, fields fieldset) ([]*jsonapi.Node, error) {
	views := make([]*requestView, len(rs))
	for i, q := range rs {
		views[i] = &requestView{
			ID: q.RequestID, RequestID: q.RequestID, RequestedBy: q.RequestedBy, Status: string(q.Status),
			NoteID: q.NoteID, CommunityServerID: q.CommunityServerID, RequestedAt: timestamp(q.RequestedAt),
			CreatedAt: timestamp(q.CreatedAt), UpdatedAt: timestamp(q.UpdatedAt), Content: q.Content,
			PlatformMessageID: q.PlatformMessageID, PlatformChannelID: q.PlatformChannelID,
			Metadata: q.Metadata, SimilarityScore: q.SimilarityScore, DatasetName: q.DatasetName,
			DatasetItemID: q.DatasetItemID,
			self:          s.requestURL(r, q.RequestID),
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

// requestSortable are the attributes sort= accepts: the filterable ones.
func requestSortable() []string {
	out := make([]string, len(erasured.RequestAttributes))
	for i, a := range erasured.RequestAttributes {
		out[i] = a.Name
	}
	return out
}

func (s *Server) listRequests(w http.ResponseWriter, r *http.Request) error {
	key, err := s.authorize(r, erasured.ScopeRequestsRead)
	if err != nil {
		return err
	}
	if err := checkQuery(r, append([]string{"filter", "sort", "fields[" + requestType + "]"}, pageParams...)...); err != nil {
		return err
	}
	q := r.URL.Query()
	opts := erasured.ListOptions{StoreID: key.StoreID}
	if opts.Filter, err = filters.Parse(q.Get("filter"), erasured.RequestAttributes); err != nil {
		return err
	}
	if opts.Sort, err = parseSort(r, requestSortable()); err != nil {
		return err
	}
	if err = readPage(q, s.cfg.PageLength, &opts); err != nil {
		return err
	}
	fields, err := parseFields(r, requestType, requestFields)
	if err != nil {
		return err
	}
	page, err := s.db.RequestPage(r.Context(), opts)
	if err != nil {
		return err
	}
	nodes, err := s.requestNodes(r, page.Items, fields)
	if err != nil {
		return err
	}
	s.writeDocument(w, http.StatusOK, listDocument(s, r, requestPath, nodes, opts, page))
	return nil
}

func (s *Server) createRequest(w http.ResponseWriter, r *http.Request) error {
	key, err := s.authorize(r, erasured.ScopeRequestsWrite)
	if err != nil {
		return err
	}
	fields, err := onlyFields(r, requestType, requestFields)
	if err != nil {
		return err
	}
	idem, err := readIdempotencyKey(r)
	if err != nil {
		return err
	}
	in, err := decodeRequestDocument(r)
	if err != nil {
		return err
	}
	if in.ID != nil {
		// The client does choose the id, but as the request_id attribute: the contract
		// forbids data.id on POST, so there is one way to say it, not two that may differ.
		return &apiError{status: http.StatusForbidden, code: "client_id_forbidden", pointer: "/data/id",
			detail: "a new request must not have data.id; its id is its request_id attribute"}
	}
	input, err := requestInput(in.Attributes)
	if err != nil {
		return err
	}
	req, err := erasured.NewRequest(key.StoreID, input, erasured.Now())
	if err != nil {
		return pointTo(err, "/data/attributes/")
	}
	if idem == nil {
		err = s.db.CreateRequest(r.Context(), req)
	} else {
		var (
			id       string
			replayed bool
		)
		id, replayed, err = idem.create(r.Context(), s.db, key.StoreID, requestType, s.db.RequestCreator(req))
		if err == nil && replayed {
			// The answer to the first POST, with the request as it is now.
			req, err = s.db.Request(r.Context(), key.StoreID, id)
		}
	}
	if err != nil {
		return err
	}
	nodes, err := s.requestNodes(r, []*erasured.Request{req}, fields)
	if err != nil {
		return err
	}
	self := s.requestURL(r, req.RequestID)
	w.Header().Set("Location", self)
	w.Header().Set("ETag", etag(req.Version))
	s.writeDocument(w, http.StatusCreated, s.resourceDocument(r, self, nodes[0]))
	return nil
}

// decodeRequestDocument reads a requests document: the type must be the endpoint's,
// and the attributes must be under data.attributes (requests have no Elastic Path form).
func decodeRequestDocument(r *http.Request) (*resourceIn, error) {
	in, err := decodeResource(r)
	if err != nil {
		return nil, err
	}
	if err := checkType(in, requestType); err != nil {
		return nil, err
	}
	if len(in.Other) > 0 {
		// The first in order, so that the same body always draws the same error.
		k := slices.Sorted(maps.Keys(in.Other))[0]
		return nil, bodyError("/data/"+k, "unknown member %q of a resource object; attributes go under data.attributes", k)
	}
	return in, nil
}

// requestInput decodes a POST's attributes. Each type error names its attribute; the
// rules on values are erasured.NewRequest's.
func requestInput(attrs map[string]json.RawMessage) (erasured.RequestInput, error) {
	const base = "/data/attributes/"
	var in erasured.RequestInput
	if err := onlyAttributes(attrs, base, requestCreatable...); err != nil {
		return in, err
	}
	var err error
	if in.RequestID, err = requiredString(attrs, base, "request_id"); err != nil {
		return in, err
	}
	if in.RequestedBy, err = requiredString(attrs, base, "requested_by"); err != nil {
		return in, err
	}
	if in.Status, err = defaulted[string](attrs, "status", "one of "+strings.Join(erasured.RequestStatuses, ", ")); err != nil {
		return in, err
	}
	requestedAt, err := defaulted[string](attrs, "requested_at", "an RFC 3339 timestamp")
	if err != nil {
		return in, err
	}
	if requestedAt != nil {
		t, err := time.Parse(time.RFC3339Nano, *requestedAt)
		if err != nil {
			return in, bodyError(base+"requested_at", "requested_at must be an RFC 3339 timestamp, such as 2026-01-02T15:04:05Z")
		}
		in.RequestedAt = &t
	}
	for _, f := range []struct {
		name string
		dst  **string
	}{
		{"note_id", &in.NoteID},
		{"community_server_id", &in.CommunityServerID},
		{"content", &in.Content},
		{"platform_message_id", &in.PlatformMessageID},
		{"platform_channel_id", &in.PlatformChannelID},
		{"dataset_name", &in.DatasetName},
		{"dataset_item_id", &in.DatasetItemID},
	} {
		if *f.dst, err = optional[string](attrs, f.name, "a string or null"); err != nil {
			return in, err
		}
	}
	if in.SimilarityScore, err = optional[float64](attrs, "similarity_score", "a number or null"); err != nil {
		return in, err
	}
	// Passed on raw, null included: erasured.NewRequest checks that it is an object and
	// keeps its numbers exactly as written.
	in.Metadata = attrs["metadata"]
	return in, nil
}

// optional decodes an attribute that may be absent or null, both meaning "none".
func optional[T any](attrs map[string]json.RawMessage, name, want string) (*T, error) {
	a, err := attr[T](attrs, "/data/attributes/", name, want)
	if err != nil || !a.Present || a.Null {
		return nil, err
	}
	return &a.Value, nil
}

// defaulted decodes an attribute that the server fills in when it is absent. Null is
// refused rather than taken as absent: the attribute always has a value, and a client
// that sends null most likely meant something else.
func defaulted[T any](attrs map[string]json.RawMessage, name, want string) (*T, error) {
	a, err := attr[T](attrs, "/data/attributes/", name, want)
	if err != nil || !a.Present {
		return nil, err
	}
	if a.Null {
		return nil, bodyError("/data/attributes/"+name, "%s may not be null; leave it out for the default", name)
	}
	return &a.Value, nil
}

func (s *Server) getRequest(w http.ResponseWriter, r *http.Request) error {
	key, err := s.authorize(r, erasured.ScopeRequestsRead)
	if err != nil {
		return err
	}
	fields, err := onlyFields(r, requestType, requestFields)
	if err != nil {
		return err
	}
	req, err := s.db.Request(r.Context(), key.StoreID, mux.Vars(r)["request_id"])
	if err != nil {
		return err
	}
	return s.writeRequest(w, r, req, fields)
}

// writeRequest answers 200 with req and its ETag.
func (s *Server) writeRequest(w http.ResponseWriter, r *http.Request, req *erasured.Request, fields fieldset) error {
	nodes, err := s.requestNodes(r, []*erasured.Request{req}, fields)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(req.Version))
	s.writeDocument(w, http.StatusOK, s.resourceDocument(r, s.selfURL(r), nodes[0]))
	return nil
}

func (s *Server) patchRequest(w http.ResponseWriter, r *http.Request) error {
	key, err := s.authorize(r, erasured.ScopeRequestsWrite)
	if err != nil {
		return err
	}
	fields, err := onlyFields(r, requestType, requestFields)
	if err != nil {
		return err
	}
	id := mux.Vars(r)["request_id"]
	in, err := decodeRequestDocument(r)
	if err != nil {
		return err
	}
	if in.ID == nil {
		return bodyError("/data/id", "a PATCH must name the resource it changes in data.id")
	}
	if *in.ID != id {
		return &apiError{status: http.StatusConflict, code: "conflict", pointer: "/data/id",
			detail: fmt.Sprintf("data.id %q does not match the request %q of the URL", *in.ID, id)}
	}
	patch, err := requestPatch(in.Attributes)
	if err != nil {
		return err
	}
	ifMatch, err := s.ifMatch(r, key.StoreID, id)
	if err != nil {
		return err
	}
	req, err := s.db.UpdateRequest(r.Context(), key.StoreID, id, ifMatch, patch)
	if err != nil {
		return pointTo(err, "/data/attributes/")
	}
	return s.writeRequest(w, r, req, fields)
}

// requestPatch decodes a PATCH's attributes: absent members stay as they are, null
// ones are cleared (which erasured.Request.ApplyPatch refuses for status).
func requestPatch(attrs map[string]json.RawMessage) (erasured.RequestPatch, error) {
	const base = "/data/attributes/"
	var p erasured.RequestPatch
	for _, k := range slices.Sorted(maps.Keys(attrs)) {
		if k == "status" || k == "note_id" {
			continue
		}
		if slices.Contains(requestFields, k) {
			return p, bodyError(base+k, "%s may not be changed; a PATCH may change only status and note_id", k)
		}
		return p, bodyError(base+k, "requests have no attribute %q; a PATCH may change only status and note_id", k)
	}
	status, err := attr[string](attrs, base, "status", "one of "+strings.Join(erasured.RequestStatuses, ", "))
	if err != nil {
		return p, err
	}
	noteID, err := attr[string](attrs, base, "note_id", "a UUID or null")
	if err != nil {
		return p, err
	}
	p.Status = patchField(status)
	p.NoteID = patchField(noteID)
	return p, nil
}

func patchField[T any](a attribute[T]) erasured.PatchField[T] {
	f := erasured.PatchField[T]{Set: a.Present}
	if a.Present && !a.Null {
		f.Value = &a.Value
	}
	return f
}

// ifMatch turns r's If-Match into the version storage.DB.UpdateRequest must find: nil
// when there is no If-Match or it is "*" (any current version; a missing request is
// still 404 or 410). ETags compare strongly (RFC 9110 §13.1.1), so a weak or foreign
// tag matches nothing, and then the version is 0, which no request has: the update
// answers 412, or 404 or 410 first when the request is not there.
//
// For a list of several tags the current version is read first and, when the list
// holds it, required: a change in between makes the update answer 412, which is right
// unless the new version is in the list too, a race a client resolves by retrying.
func (s *Server) ifMatch(r *http.Request, storeID, id string) (*int64, error) {
	values := r.Header.Values("If-Match")
	if len(values) == 0 {
		return nil, nil
	}
	var versions []int64
	for _, v := range values {
		for _, tag := range strings.Split(v, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" {
				return nil, nil
			}
			if n, err := strconv.ParseInt(strings.Trim(tag, `"`), 10, 64); err == nil && n > 0 && tag == etag(n) {
				versions = append(versions, n)
			}
		}
	}
	none := int64(0)
	switch len(versions) {
	case 0:
		return &none, nil
	case 1:
		return &versions[0], nil
	}
	cur, err := s.db.Request(r.Context(), storeID, id)
	if err != nil {
		return nil, err
	}
	if slices.Contains(versions, cur.Version) {
		return &cur.Version, nil
	}
	return &none, nil
}

func (s *Server) deleteRequest(w http.ResponseWriter, r *http.Request) error {
	key, err := s.authorize(r, erasured.ScopeRequestsWrite)
	if err != nil {
		return err
	}
	if err := checkQuery(r); err != nil {
		return err
	}
	d, err := s.db.RequestDeletion(r.Context(), key.StoreID, mux.Vars(r)["request_id"])
	if err != nil {
		return err
	}
	w.Header().Set("Location", s.deletionURL(r, d.ID))
	s.writeDocument(w, http.StatusAccepted, &document{
		Links: map[string]any{"self": s.selfURL(r), "describedby": s.baseURL(r) + "/openapi.json"},
		Meta:  map[string]any{"deletion_id": d.ID, "status": d.Status, "message": d.Message},
	})
	return nil
}
