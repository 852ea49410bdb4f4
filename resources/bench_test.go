package resources

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/pagination"
	"github.com/erasured/erasured/resources/jsonapi"
	"github.com/erasured/erasured/storage"
)

// BenchmarkListDocument measures what the server adds to a list's query: turning a page
// of 25 erasure requests into the JSON:API document on the wire, links and all.
//
//	go test ./resources -run '^$' -bench ListDocument -benchmem
func BenchmarkListDocument(b *testing.B) {
	s := New(Config{}, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	key, _, err := erasured.NewKey("crm", "crm@example.com", "eu", erasured.AllScopes, erasured.Now())
	if err != nil {
		b.Fatal(err)
	}
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	page := &storage.Page[*erasured.ErasureRequest]{PageInfo: storage.PageInfo{Total: 1_000_000, Estimated: true, More: true}}
	reason := "customer asked to be forgotten"
	for i := range 25 {
		r := erasured.NewErasureRequest(key, erasured.Values{"resource_type": erasured.ResourceTypes[i%8], "resource_id": fmt.Sprintf("0f850c15-d643-480a-a2b4-%012d", i), "reason": reason}, at.Add(time.Duration(i)*time.Second), 720*time.Hour)
		if i%3 == 0 {
			done := at.Add(time.Hour)
			r.Status, r.CompletedAt = erasured.StatusCompleted, &done
			r.ServicesErased = []string{"requests", "billing", "crm"}
			r.PartialFailures = []erasured.PartialFailure{{Service: "search", Message: "index timeout"}}
		}
		page.Items = append(page.Items, r)
	}
	page.First = &pagination.Cursor{Sort: "created_at", Keys: []any{page.Items[0].CreatedAt, page.Items[0].ID}}
	page.Last = &pagination.Cursor{Sort: "created_at", Keys: []any{page.Items[24].CreatedAt, page.Items[24].ID}}

	for _, c := range []struct {
		name string
		url  string
		opts storage.ListOptions
	}{
		{"offset", ErasureRequestsPath + "?filter=eq(resource_type,account)&page[offset]=50&page[limit]=25", storage.ListOptions{Page: pagination.Page{Offset: 50, Limit: 25}}},
		{"cursor", ErasureRequestsPath + "?page[size]=25&page[after]=" + page.First.String(), storage.ListOptions{Cursor: &pagination.CursorPage{Size: 25, After: page.First}}},
	} {
		b.Run(c.name, func(b *testing.B) {
			r := httptest.NewRequest(http.MethodGet, c.url, nil)
			erasures := s.erasureRequests()
			erasures.prepare()
			b.ReportAllocs()
			for b.Loop() {
				q, sh, err := erasures.query(r, erasures.listParams)
				if err != nil {
					b.Fatal(err)
				}
				nodes, _, err := erasures.nodes(s, r, "bench", page.Items, sh)
				if err != nil {
					b.Fatal(err)
				}
				w := httptest.NewRecorder()
				if err := jsonapi.Write(w, http.StatusOK, listDocument(s.baseURL(r), ErasureRequestsPath, q, nodes, c.opts, page.PageInfo)); err != nil || w.Code != http.StatusOK {
					b.Fatal(err, w.Body.String())
				}
			}
		})
	}
}
