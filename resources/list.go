package resources

import (
	"net/http"
	"net/url"

	"github.com/google/jsonapi"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/pagination"
	"github.com/erasured/erasured/storage"
)

// pageParams are the page parameters of every list endpoint, for checkQuery: offset
// pagination, cursor pagination, and page[number], which is refused with a reason.
var pageParams = []string{"page[offset]", "page[limit]", "page[number]", "page[size]", "page[after]", "page[before]"}

// readPage sets opts.Cursor from the cursor parameters of q when it has any, and
// opts.Page from the offset ones otherwise. Mixing the two is a 400.
func readPage(q url.Values, defaultLength int, opts *erasured.ListOptions) error {
	if pagination.IsCursor(q) {
		cp, err := pagination.ParseCursor(q, defaultLength)
		opts.Cursor = cp
		return err
	}
	var err error
	opts.Page, err = pagination.Parse(q, defaultLength)
	return err
}

// listDocument is the collection document of a page that storage read for opts: offset
// links and meta.page, or, for a cursor page, the links and meta.page of the cursor
// pagination profile. meta.results.total is the list's total, with "estimated": true
// when it is an estimate rather than a count.
func listDocument[T any](s *Server, r *http.Request, path string, nodes []*jsonapi.Node, opts erasured.ListOptions, p *storage.Page[T]) *document {
	results := map[string]any{"total": p.Total}
	if p.Estimated {
		results["estimated"] = true
	}
	if opts.Cursor == nil {
		doc := s.pageDocument(r, path, nodes, opts.Page, p.Total)
		doc.Meta["results"] = results
		return doc
	}
	links := opts.Cursor.Links(s.baseURL(r)+path, r.URL.Query(), p.First, p.Last, p.More)
	return &document{
		Data: nodes,
		Links: map[string]any{
			"self": links.Self, "first": links.First, "prev": links.Prev, "next": links.Next,
			"describedby": s.baseURL(r) + "/openapi.json",
		},
		Meta: map[string]any{"page": opts.Cursor.Meta(p.More), "results": results},
	}
}
