package storage_test

import (
	"context"
	"testing"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/pagination"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
)

// The total of one entry's logs is its own count, never PostgreSQL's estimate of the
// whole store, however large the store (an unfiltered list of more than ExactTotalMax
// records is estimated).
func TestLogTotalsAreCounts(t *testing.T) {
	t.Parallel()
	storagetest.EachURL(t, func(t *testing.T, url string) {
		db := storagetest.OpenURL(t, url)
		seedLogs(t, storagetest.SQL(t, url), kindOf(url), 3*storage.ExactTotalMax, 0)
		for _, c := range []struct {
			typ, id string
			total   int
		}{{erasured.ResourceRequests, "r-7", 10}, {erasured.ResourceUser, "person-7", 100}, {"customer", "r-7", 0}} {
			p, err := db.LogEntryPage(context.Background(), storage.ListOptions{StoreID: "bench", Page: pagination.Page{Limit: 5}}, c.typ, c.id)
			if err != nil {
				t.Fatal(err)
			}
			if p.Total != c.total || p.Estimated || len(p.Items) != min(5, c.total) {
				t.Errorf("%s %s: total %d (estimated %v), %d items; want %d", c.typ, c.id, p.Total, p.Estimated, len(p.Items), c.total)
			}
		}
	})
}

func kindOf(url string) string {
	if len(url) > 7 && url[:7] == "sqlite:" {
		return "sqlite"
	}
	return "postgres"
}
