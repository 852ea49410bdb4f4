package resources

import (
	"context"
	"net/http"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/pagination"
	"github.com/erasured/erasured/resources/jsonapi"
	"github.com/erasured/erasured/storage"
)

// Where Elastic Path's Personal Data API has its logs, related data entries and logs
// time to live. All answer in both representations (see representation.go).
const (
	LogsPath               = "/v2/personal-data/logs"
	RelatedDataEntriesPath = "/v2/personal-data/related-data-entries"
	LogsTTLPath            = "/v2/settings/logs-ttl"
)

// logEntries serves the personal data logs: a list, for one entry of a set that the
// filter names (erasured.SetEntry); a user names their whole set.
func (s *Server) logEntries() *collection[erasured.LogEntry] {
	return &collection[erasured.LogEntry]{
		typ: erasured.LogEntries, path: LogsPath, param: "id",
		read: erasured.ScopeErasureRead, elasticPath: true,
		list: func(ctx context.Context, opts storage.ListOptions) (*storage.Page[*erasured.LogEntry], error) {
			typ, id, err := erasured.SetEntry(opts.Filter)
			if err != nil {
				return nil, err
			}
			opts.Filter = nil
			return s.db.LogEntryPage(ctx, opts, typ, id)
		},
	}
}

// relatedDataEntries serves the entries of the personal data set that the filter's
// entry belongs to. A set is a person and their requests, which offset pages cover
// (page[offset] goes to 10,000), so it has no cursor pages.
func (s *Server) relatedDataEntries() *collection[erasured.RelatedDataEntry] {
	return &collection[erasured.RelatedDataEntry]{
		typ: erasured.RelatedDataEntries, path: RelatedDataEntriesPath, param: "id",
		read: erasured.ScopeErasureRead, elasticPath: true,
		list: func(ctx context.Context, opts storage.ListOptions) (*storage.Page[*erasured.RelatedDataEntry], error) {
			if opts.Cursor != nil {
				return nil, &pagination.Error{Parameter: "page[size]", Detail: "related data entries are paged by page[offset] and page[limit] only"}
			}
			typ, id, err := erasured.SetEntry(opts.Filter)
			if err != nil {
				return nil, err
			}
			return s.db.RelatedDataEntryPage(ctx, opts.StoreID, typ, id, opts.Page)
		},
	}
}

// getLogsTTL answers the key's store's logs time to live.
func (s *Server) getLogsTTL(w http.ResponseWriter, r *http.Request) error {
	key, err := s.authorize(r, erasured.ScopeErasureRead)
	if err != nil {
		return err
	}
	fields, err := onlyFields(r, erasured.TimesToLive.Name, erasured.TimesToLive.FieldNames())
	if err != nil {
		return err
	}
	ttl, err := s.db.LogsTTL(r.Context(), key.StoreID)
	if err != nil {
		return err
	}
	return s.writeTTL(w, r, ttl, fields)
}

// putLogsTTL sets the key's store's logs time to live: {"data":{"type":"time_to_live",
// "days":N}}, Elastic Path's form, or with days under data.attributes.
func (s *Server) putLogsTTL(w http.ResponseWriter, r *http.Request) error {
	key, err := s.authorize(r, erasured.ScopeErasureWorkflow)
	if err != nil {
		return err
	}
	fields, err := onlyFields(r, erasured.TimesToLive.Name, erasured.TimesToLive.FieldNames())
	if err != nil {
		return err
	}
	body, err := jsonapi.ReadBody(r)
	if err != nil {
		return err
	}
	in, err := jsonapi.DecodeResource(body)
	if err != nil {
		return err
	}
	if err := in.CheckType(erasured.TimesToLive.Name); err != nil {
		return err
	}
	members, base, err := in.Members(true)
	if err != nil {
		return err
	}
	values, err := erasured.TimesToLive.Decode(members, erasured.Create)
	if err != nil {
		return pointTo(err, base)
	}
	ttl := &erasured.TimeToLive{StoreID: key.StoreID}
	erasured.TimesToLive.Set(ttl, values)
	if ttl, err = s.db.SetLogsTTL(r.Context(), ttl, erasured.Now()); err != nil {
		return err
	}
	return s.writeTTL(w, r, ttl, fields)
}

func (s *Server) writeTTL(w http.ResponseWriter, r *http.Request, ttl *erasured.TimeToLive, fields jsonapi.Fieldset) error {
	self := s.baseURL(r) + LogsTTLPath
	node := jsonapi.NewObject(erasured.TimesToLive.Name, erasured.TimesToLive.IDOf(ttl), erasured.TimesToLive.Read(ttl), fields, self)
	return s.write(w, r, http.StatusOK, &jsonapi.Document{Data: node, Links: jsonapi.Links{Base: s.baseURL(r), Self: self}})
}
