package storage

import (
	"context"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/filters"
	"github.com/erasured/erasured/pagination"
)

// ListOptions selects one page of a collection within a store: the offset page Page,
// or the cursor page Cursor when it is set.
type ListOptions struct {
	StoreID string
	// Parent is the id of the record whose related collection is listed (the webhook
	// of a list of deliveries); empty for a collection of its own.
	Parent string
	Filter filters.Expr
	Sort   []erasured.Sort
	Page   pagination.Page
	Cursor *pagination.CursorPage
	// narrowed says that the storage method narrowed the list beyond the store with
	// conditions of its own, as a filter does: its total is then counted as a filtered
	// list's, never the store's estimate.
	narrowed bool
}

// Page is one page of a list, offset or cursor, and what is known of the whole list.
type Page[T any] struct {
	Items []T
	PageInfo
}

// PageInfo is what a page knows of the list around it.
type PageInfo struct {
	// Total is how many records match. Estimated says it is PostgreSQL's estimate,
	// not a count (see ExactTotalMax).
	Total     int
	Estimated bool
	// Cursor pages only: the cursors on the first and last items, nil when the page
	// is empty, and whether more items follow the page in the direction it was read
	// (see pagination.CursorPage.Links).
	First, Last *pagination.Cursor
	More        bool
}

// list reads the page of t's rows in sc that opts asks for, a cursor page when
// opts.Cursor is set and an offset page otherwise, into rows of type R, and turns each
// into a T.
func list[R totaled, T any](ctx context.Context, db *DB, t table, sc scope, opts ListOptions, item func(*R) (T, error)) (*Page[T], error) {
	var (
		rows []R
		p    Page[T]
		err  error
	)
	if opts.Cursor != nil {
		rows, p.PageInfo, err = selectCursorPage[R](ctx, db, t, sc, opts)
	} else {
		var n listTotal
		rows, n, err = selectPage[R](ctx, db, t, sc, opts)
		p.Total, p.Estimated = n.Total, n.Estimated
	}
	if err != nil {
		return nil, err
	}
	p.Items = make([]T, len(rows))
	for i := range rows {
		if p.Items[i], err = item(&rows[i]); err != nil {
			return nil, err
		}
	}
	return &p, nil
}
