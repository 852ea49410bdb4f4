package storage_test

import (
	"context"
	"testing"

	"github.com/erasured/erasured/pagination"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
)

// BenchmarkReads times the storage side of the two requests that bench/run.sh finds
// furthest from its reference server (the filtered page and GET one), one at a time,
// with their allocations: what erasured adds to the database's own work is building
// the SQL, running it through database/sql and reading the rows.
//
//	go test ./storage -run '^$' -bench Reads -benchmem
func BenchmarkReads(b *testing.B) {
	for _, kind := range storagetest.Kinds {
		b.Run(kind, func(b *testing.B) {
			u := storagetest.URL(b, kind)
			db, raw := storagetest.OpenURL(b, u), storagetest.SQL(b, u)
			if kind == "sqlite" {
				seedSQLite(b, raw, "s", 1000)
			} else {
				seedMany(b, raw, "s", 1000)
			}
			ctx := context.Background()
			first, err := db.ErasureRequestPage(ctx, storage.ListOptions{StoreID: "s", Cursor: &pagination.CursorPage{Size: 1}})
			if err != nil || len(first.Items) != 1 {
				b.Fatal(first, err)
			}
			filter := mustFilter(b, "eq(resource_type,account):eq(resource_id,p-500)")
			b.Run("filtered", func(b *testing.B) {
				for b.Loop() {
					p, err := db.ErasureRequestPage(ctx, storage.ListOptions{StoreID: "s", Filter: filter, Page: pagination.Page{Limit: 25}})
					if err != nil || len(p.Items) != 1 {
						b.Fatal(p, err)
					}
				}
			})
			b.Run("get", func(b *testing.B) {
				for b.Loop() {
					if _, err := db.ErasureRequest(ctx, "s", first.Items[0].ID); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
