package resources

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/gorilla/mux"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/filters"
	"github.com/erasured/erasured/pagination"
	"github.com/erasured/erasured/resources/jsonapi"
	"github.com/erasured/erasured/storage"
)

// This file is the one handler pipeline of every resource type: list, get, create (with
// Idempotency-Key), patch (with If-Match) and delete are each written once here, driven
// by the type's declaration (erasured.Type) and the storage calls a collection names.

// collection is one resource type as the HTTP layer serves it: its declaration, where it
// lives, the scope each operation needs, and the calls behind the operations. An
// operation whose call is nil is not routed.
type collection[T any] struct {
	typ  *erasured.Type[T]
	path string // of the collection; a resource is path/{param}
	// param names the route variable of a resource's id.
	param string
	// parent, for a related collection (path holds its owner's id, as in
	// /v2/webhooks/{id}/deliveries), names the route variable of the owner's id, which
	// list gets as ListOptions.Parent.
	parent string
	// The scopes that reading, creating (and deleting), and patching need.
	read, write, change string
	version             func(*T) int64 // the ETag

	list   func(ctx context.Context, opts storage.ListOptions) (*storage.Page[*T], error)
	get    func(ctx context.Context, storeID, id string) (*T, error)
	create func(ctx context.Context, key *erasured.Key, in erasured.Values, idem *storage.Idempotency) (*T, error)
	update func(ctx context.Context, key *erasured.Key, id string, match *erasured.Match, in erasured.Values) (*T, error)
	// remove deletes in the background and answers 202 with the deletion to follow;
	// destroy deletes at once and answers 204. A collection has one or neither.
	remove  func(ctx context.Context, key *erasured.Key, id string) (*erasured.Deletion, error)
	destroy func(ctx context.Context, storeID, id string) error

	// flat lets a POST put the attributes directly under data, as Elastic Path clients do.
	flat bool
	// elasticPath serves the collection in Elastic Path's representation too, as the
	// request or its key asks (see representation.go).
	elasticPath bool
	// related is the type's relationship, if it has one.
	related *relation[T]

	// The query parameters that the answers of a resource and of a list take: set by
	// prepare, so that no request builds them again.
	params, listParams []string
}

// relation is a relationship of a resource type: linked from every resource, and its
// resources included on include=.
type relation[T any] struct {
	name   string   // the relationship, as include= and fields[T] name it
	typ    string   // the related resources' type, for fields[typ]
	fields []string // their fields
	// load returns the related resources of items, by the items' ids.
	load func(ctx context.Context, storeID string, items []*T, fields jsonapi.Fieldset) (map[string][]*jsonapi.Object, error)
}

// pageParams are the page parameters of every list endpoint: offset pagination and
// cursor pagination.
var pageParams = []string{"page[offset]", "page[limit]", "page[size]", "page[after]", "page[before]"}

// register routes c's operations.
func register[T any](s *Server, c *collection[T]) {
	c.prepare()
	one := c.path + "/{" + c.param + "}"
	route := s.jsonapiRoute
	if c.elasticPath {
		route = s.negotiatedRoute
	}
	if c.list != nil {
		route(c.path, func(w http.ResponseWriter, r *http.Request) error { return c.listAll(s, w, r) }, http.MethodGet)
	}
	if c.create != nil {
		route(c.path, func(w http.ResponseWriter, r *http.Request) error { return c.createOne(s, w, r) }, http.MethodPost)
	}
	if c.get != nil {
		route(one, func(w http.ResponseWriter, r *http.Request) error { return c.getOne(s, w, r) }, http.MethodGet)
	}
	if c.update != nil {
		route(one, func(w http.ResponseWriter, r *http.Request) error { return c.patchOne(s, w, r) }, http.MethodPatch)
	}
	if c.remove != nil || c.destroy != nil {
		route(one, func(w http.ResponseWriter, r *http.Request) error { return c.deleteOne(s, w, r) }, http.MethodDelete)
	}
}

// prepare sets what c's requests share: the query parameters of its answers.
func (c *collection[T]) prepare() {
	c.params = c.allowed()
	c.listParams = c.allowed(append([]string{"filter", "sort"}, pageParams...)...)
}

// allowed lists the query parameters of an answer of c: fields[T], extra, and include
// and the related type's fields when c has a relationship.
func (c *collection[T]) allowed(extra ...string) []string {
	allowed := append([]string{"fields[" + c.typ.Name + "]"}, extra...)
	if c.related != nil {
		allowed = append(allowed, "include", "fields["+c.related.typ+"]")
	}
	return allowed
}

// pathID returns the id of typ that route variable param of r holds. An id that no record
// of typ can have, as typ's id kind reads it (one that is not text, say), is a 404.
func pathID[T any](r *http.Request, param string, typ *erasured.Type[T]) (string, error) {
	id := mux.Vars(r)[param]
	if _, err := typ.ID().Kind.Parse(id); err != nil {
		return "", erasured.Errorf(erasured.ENOTFOUND, "no %s %q", typ.Name, id)
	}
	return id, nil
}

// url is the absolute URL of the resource id. The id is escaped as one path segment:
// a request_id may hold spaces, "%", "?" and any other printable character but "/".
// It is empty for the resources of a collection that serves none one by one (deliveries
// are read through their webhook, as events are through their erasure request).
func (c *collection[T]) url(s *Server, r *http.Request, id string) string {
	return c.urlUnder(s.baseURL(r), id)
}

// urlUnder is url for the base URL base, which a list computes once for its page.
func (c *collection[T]) urlUnder(base, id string) string {
	if c.get == nil {
		return ""
	}
	return base + c.path + "/" + url.PathEscape(id)
}

// shape is what a query string asks of a response that holds resources of a collection.
type shape struct {
	fields        jsonapi.Fieldset // fields[T]
	relatedFields jsonapi.Fieldset // fields[related type], for the included resources
	// include is nil without include=; with it, the response carries the related
	// resources in included and links them from the relationship.
	include map[string]bool
}

// query reads r's query string for a response of c, which takes the parameters allowed
// (c.params or c.listParams). Anything else is a 400.
func (c *collection[T]) query(r *http.Request, allowed []string) (jsonapi.Query, shape, error) {
	var sh shape
	q, err := query(r, allowed...)
	if err != nil {
		return q, sh, err
	}
	if sh.fields, err = q.Fields(c.typ.Name, c.typ.FieldNames()); err != nil {
		return q, sh, err
	}
	if c.related != nil {
		if sh.relatedFields, err = q.Fields(c.related.typ, c.related.fields); err != nil {
			return q, sh, err
		}
		sh.include, err = q.Include(c.related.name)
	}
	return q, sh, err
}

// onlyFields is for endpoints whose one query parameter is fields[typ]: it refuses any
// other, and reads that one.
func onlyFields(r *http.Request, typ string, fields []string) (jsonapi.Fieldset, error) {
	q, err := query(r, "fields["+typ+"]")
	if err != nil {
		return nil, err
	}
	return q.Fields(typ, fields)
}

// query reads r's query string strictly (jsonapi.ParseQuery) and refuses any parameter
// outside allowed, and any given twice.
func query(r *http.Request, allowed ...string) (jsonapi.Query, error) {
	q, err := jsonapi.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return q, err
	}
	return q, q.Check(allowed...)
}

// nodes are the resource objects of items as sh asks for them, and the related resources
// to include (nil when sh asks for none).
func (c *collection[T]) nodes(s *Server, r *http.Request, storeID string, items []*T, sh shape) (data, included []*jsonapi.Object, err error) {
	var related map[string][]*jsonapi.Object
	if sh.include != nil {
		included = []*jsonapi.Object{}
		if sh.include[c.related.name] {
			if related, err = c.related.load(r.Context(), storeID, items, sh.relatedFields); err != nil {
				return nil, nil, err
			}
		}
	}
	data = make([]*jsonapi.Object, len(items))
	base := s.baseURL(r)
	for i, item := range items {
		id := c.typ.IDOf(item)
		// A resource that cannot be read on its own (a log entry) has no links.self.
		self := c.urlUnder(base, id)
		n := jsonapi.NewObject(c.typ.Name, id, c.typ.Read(item), sh.fields, self)
		if rel := c.related; rel != nil {
			r := jsonapi.Relationship{Name: rel.name, Related: self + "/" + rel.name}
			if related != nil {
				nodes := related[id]
				r.Data = make([]jsonapi.Identifier, len(nodes))
				for j, rn := range nodes {
					r.Data[j] = jsonapi.Identifier{Type: rn.Type, ID: rn.ID}
				}
				included = append(included, nodes...)
			}
			if sh.fields.Has(rel.name) {
				n.Relationships = []jsonapi.Relationship{r}
			}
		}
		data[i] = n
	}
	return data, included, nil
}

func (c *collection[T]) listAll(s *Server, w http.ResponseWriter, r *http.Request) error {
	key, err := s.authorize(r, c.read)
	if err != nil {
		return err
	}
	q, sh, err := c.query(r, c.listParams)
	if err != nil {
		return err
	}
	opts := storage.ListOptions{StoreID: key.StoreID}
	if c.parent != "" {
		opts.Parent = mux.Vars(r)[c.parent]
	}
	if opts.Filter, err = filters.Parse(q.Get("filter"), c.typ.Filters()); err != nil {
		return err
	}
	sorts, err := q.Sort(c.typ.Named(erasured.Sortable))
	if err != nil {
		return err
	}
	for _, f := range sorts {
		opts.Sort = append(opts.Sort, erasured.Sort{Attribute: f.Name, Desc: f.Desc})
	}
	if pagination.IsCursor(q.Values) {
		opts.Cursor, err = pagination.ParseCursor(q.Values, s.cfg.PageLength)
	} else {
		opts.Page, err = pagination.Parse(q.Values, s.cfg.PageLength)
	}
	if err != nil {
		return err
	}
	page, err := c.list(r.Context(), opts)
	if err != nil {
		return err
	}
	data, included, err := c.nodes(s, r, key.StoreID, page.Items, sh)
	if err != nil {
		return err
	}
	// The path as asked for: a related collection's holds its owner's id.
	doc := listDocument(s.baseURL(r), r.URL.EscapedPath(), q, data, opts, page.PageInfo)
	if included != nil {
		doc.Included = included
	}
	return s.write(w, r, http.StatusOK, doc)
}

// listDocument is the collection document of a page read for opts, whose query was q:
// offset links and meta.page, or, for a cursor page, the links and meta.page of the
// cursor pagination profile. meta.results.total is the list's total, with
// "estimated": true when it is an estimate rather than a count.
func listDocument(base, path string, q jsonapi.Query, data []*jsonapi.Object, opts storage.ListOptions, p storage.PageInfo) *jsonapi.Document {
	results := map[string]any{"total": p.Total}
	if p.Estimated {
		results["estimated"] = true
	}
	doc := &jsonapi.Document{Data: data, Meta: map[string]any{"results": results}}
	if opts.Cursor == nil {
		l := opts.Page.Links(base+path, q.Values, p.Total)
		doc.Links = jsonapi.Links{Base: base, Self: l.Self, First: l.First, Last: l.Last, Prev: l.Prev, Next: l.Next, Paged: true}
		doc.Meta["page"] = opts.Page.Meta(p.Total)
		return doc
	}
	l := opts.Cursor.Links(base+path, q.Values, p.First, p.Last, p.More)
	doc.Links = jsonapi.Links{Base: base, Self: l.Self, First: l.First, Prev: l.Prev, Next: l.Next, Paged: true}
	doc.Meta["page"] = opts.Cursor.Meta(p.More)
	return doc
}

func (c *collection[T]) getOne(s *Server, w http.ResponseWriter, r *http.Request) error {
	key, err := s.authorize(r, c.read)
	if err != nil {
		return err
	}
	_, sh, err := c.query(r, c.params)
	if err != nil {
		return err
	}
	id, err := pathID(r, c.param, c.typ)
	if err != nil {
		return err
	}
	item, err := c.get(r.Context(), key.StoreID, id)
	if err != nil {
		return err
	}
	return c.writeOne(s, w, r, key, http.StatusOK, s.selfURL(r), item, sh)
}

// writeOne answers status with item as a single-resource document shaped by sh, with its
// ETag.
func (c *collection[T]) writeOne(s *Server, w http.ResponseWriter, r *http.Request, key *erasured.Key, status int, self string, item *T, sh shape) error {
	data, included, err := c.nodes(s, r, key.StoreID, []*T{item}, sh)
	if err != nil {
		return err
	}
	doc := &jsonapi.Document{Data: data[0], Links: jsonapi.Links{Base: s.baseURL(r), Self: self}}
	if included != nil {
		doc.Included = included
	}
	w.Header().Set("ETag", etag(c.version(item)))
	return s.write(w, r, status, doc)
}

// receive reads what a POST or a PATCH of c brings, once its key holds scope: the shape
// the answer takes, the raw body, and the resource object, which must be of c's type.
func (c *collection[T]) receive(s *Server, r *http.Request, scope string) (*erasured.Key, shape, []byte, *jsonapi.Resource, error) {
	key, err := s.authorize(r, scope)
	if err != nil {
		return nil, shape{}, nil, nil, err
	}
	_, sh, err := c.query(r, c.params)
	if err != nil {
		return nil, sh, nil, nil, err
	}
	body, err := jsonapi.ReadBody(r)
	if err != nil {
		return nil, sh, nil, nil, err
	}
	in, err := jsonapi.DecodeResource(body)
	if err != nil {
		return nil, sh, nil, nil, err
	}
	return key, sh, body, in, in.CheckType(c.typ.Name)
}

// values decodes the attributes of in for op (see erasured.Type.Decode), and returns
// where they sit in the body, for the pointers of later errors.
func (c *collection[T]) values(in *jsonapi.Resource, flat bool, op erasured.Access) (erasured.Values, string, error) {
	members, base, err := in.Members(flat)
	if err != nil {
		return nil, "", err
	}
	values, err := c.typ.Decode(members, op)
	return values, base, pointTo(err, base)
}

func (c *collection[T]) createOne(s *Server, w http.ResponseWriter, r *http.Request) error {
	key, sh, body, in, err := c.receive(s, r, c.write)
	if err != nil {
		return err
	}
	idem, err := idempotency(r, body)
	if err != nil {
		return err
	}
	// Some clients always send an id, empty on a new resource: that is no id.
	if in.ID != nil && *in.ID != "" {
		return &jsonapi.Error{Status: http.StatusForbidden, Code: "client_id_forbidden", Pointer: "/data/id",
			Detail: fmt.Sprintf("erasured does not take client-generated ids: a new %s must not have data.id", c.typ.Name)}
	}
	values, base, err := c.values(in, c.flat, erasured.Create)
	if err != nil {
		return err
	}
	item, err := c.create(r.Context(), key, values, idem)
	if err != nil {
		return pointTo(err, base)
	}
	self := c.url(s, r, c.typ.IDOf(item))
	w.Header().Set("Location", self)
	return c.writeOne(s, w, r, key, http.StatusCreated, self, item, sh)
}

func (c *collection[T]) patchOne(s *Server, w http.ResponseWriter, r *http.Request) error {
	key, sh, _, in, err := c.receive(s, r, c.change)
	if err != nil {
		return err
	}
	id, err := pathID(r, c.param, c.typ)
	if err != nil {
		return err
	}
	if in.ID == nil {
		return jsonapi.BodyError("/data/id", "a PATCH must name the resource it changes in data.id")
	}
	if !c.typ.SameID(*in.ID, id) {
		return &jsonapi.Error{Status: http.StatusConflict, Code: "conflict", Pointer: "/data/id",
			Detail: fmt.Sprintf("data.id %q does not match the id %q in the URL", *in.ID, id)}
	}
	values, base, err := c.values(in, false, erasured.Patch)
	if err != nil {
		return err
	}
	item, err := c.update(r.Context(), key, id, ifMatch(r), values)
	if err != nil {
		return pointTo(err, base)
	}
	return c.writeOne(s, w, r, key, http.StatusOK, s.selfURL(r), item, sh)
}

func (c *collection[T]) deleteOne(s *Server, w http.ResponseWriter, r *http.Request) error {
	key, err := s.authorize(r, c.write)
	if err != nil {
		return err
	}
	if _, err := query(r); err != nil {
		return err
	}
	id, err := pathID(r, c.param, c.typ)
	if err != nil {
		return err
	}
	if c.destroy != nil {
		if err := c.destroy(r.Context(), key.StoreID, id); err != nil {
			return err
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	d, err := c.remove(r.Context(), key, id)
	if err != nil {
		return err
	}
	w.Header().Set("Location", s.deletionURL(r, d.ID))
	return s.write(w, r, http.StatusAccepted, &jsonapi.Document{
		Links: jsonapi.Links{Base: s.baseURL(r), Self: s.selfURL(r)},
		Meta:  map[string]any{"deletion_id": d.ID, "status": d.Status, "message": d.Message},
	})
}
