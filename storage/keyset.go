package storage

import (
	"context"
	"database/sql"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/pagination"
)

// This file is keyset pagination: a cursor page is the rows that come after (or before)
// the cursor's position in the list's total order, found by a condition on the sort
// keys and the id rather than by skipping rows, so that the indexes that lead with
// (store_id, key, id) seek straight to it and a page a million rows deep costs what the
// first one does.

// key is one key of a keyset order.
type key struct {
	column
	desc bool
}

// keyset is the total order of a list: its sort keys, then the table's id in the
// direction of the last of them, exactly as orderBy writes it.
type keyset struct {
	sort string // the sort as the sort parameter writes it; cursors carry it
	keys []key
}

func newKeyset(t table, sorts []erasured.Sort) (keyset, error) {
	if len(sorts) == 0 {
		sorts = t.defaultSort
	}
	var (
		ks    keyset
		names []string
		desc  bool
	)
	for _, s := range sorts {
		col, ok := t.columns[s.Attribute]
		if !ok {
			return keyset{}, fmt.Errorf("sort on %s.%s: no such column", t.name, s.Attribute)
		}
		ks.keys = append(ks.keys, key{column: col, desc: s.Desc})
		name := s.Attribute
		if s.Desc {
			name = "-" + name
		}
		names = append(names, name)
		desc = s.Desc
	}
	ks.keys = append(ks.keys, key{column: t.id, desc: desc})
	ks.sort = strings.Join(names, ",")
	return ks, nil
}

// reversed is the same order read backwards. NULL counts as greater than every value in
// both directions (see orderTerm), so reversing flips each key and nothing else.
func (ks keyset) reversed() keyset {
	r := keyset{sort: ks.sort, keys: slices.Clone(ks.keys)}
	for i := range r.keys {
		r.keys[i].desc = !r.keys[i].desc
	}
	return r
}

func (ks keyset) orderBy() []string {
	terms := make([]string, len(ks.keys))
	for i, k := range ks.keys {
		terms[i] = orderTerm(k.name, k.desc, k.nullable)
	}
	return terms
}

// after is the condition "comes after the position at in this order", spelled out key
// by key as (k1 after a1) OR (k1 = a1 AND k2 after a2) OR ... so that it works in both
// dialects, for mixed directions and for NULLs, which a row comparison
// (k1, k2) > (a1, a2) handles in neither.
//
// It comes as one condition per range of an index on (store_id, k1, ...), in list
// order, each led by a plain bound on k1 that adds nothing logically but is what lets
// the index start the scan at the cursor instead of filtering every row before it.
// There are two ranges when k1 is nullable and the rows after at lie on both sides of
// the border between its values and its NULLs: an ascending k1's NULLs come after a
// value, a descending k1's values after a NULL. As one condition, "k1 >= a1 OR k1 IS
// NULL" is no range of the index, and a deep page would filter every row before it.
func (ks keyset) after(at []any) []sq.Sqlizer {
	var or sq.Or
	for i, k := range ks.keys {
		later := k.later(at[i])
		if i > 0 {
			later = anyOf(later, k.laterRegion(at[i]))
		}
		if later == nil {
			continue
		}
		and := make(sq.And, 0, i+1)
		for j := range i {
			and = append(and, ks.keys[j].equal(at[j]))
		}
		or = append(or, append(and, later))
	}
	k := ks.keys[0]
	ranges := []sq.Sqlizer{sq.And{k.bound(at[0]), or}}
	if other := k.laterRegion(at[0]); other != nil {
		ranges = append(ranges, other)
	}
	return ranges
}

// anyOf is the OR of the conditions that are not nil, or nil when none is.
func anyOf(conds ...sq.Sqlizer) sq.Sqlizer {
	var or sq.Or
	for _, c := range conds {
		if c != nil {
			or = append(or, c)
		}
	}
	switch len(or) {
	case 0:
		return nil
	case 1:
		return or[0]
	}
	return or
}

// later is "the key's value comes after v" among the values of v's region (NULL or
// not NULL), or nil when none does.
func (k key) later(v any) sq.Sqlizer {
	switch {
	case v == nil:
		return nil
	case k.desc:
		return sq.Expr(k.name+" < ?", v)
	}
	return sq.Expr(k.name+" > ?", v)
}

// laterRegion is "the key's value is in the region (NULL or not NULL) that comes after
// v's", or nil when that region comes before v's or the key is never NULL.
func (k key) laterRegion(v any) sq.Sqlizer {
	switch {
	case k.desc && v == nil:
		return sq.Expr(k.name + " IS NOT NULL")
	case !k.desc && v != nil && k.nullable:
		return sq.Expr(k.name + " IS NULL")
	}
	return nil
}

func (k key) equal(v any) sq.Sqlizer {
	if v == nil {
		return sq.Expr(k.name + " IS NULL")
	}
	return sq.Expr(k.name+" = ?", v)
}

// bound is "the key's value is v or comes after it, in v's region": one range of an
// index on the key.
func (k key) bound(v any) sq.Sqlizer {
	switch {
	case v == nil:
		return sq.Expr(k.name + " IS NULL")
	case k.desc:
		return sq.Expr(k.name+" <= ?", v)
	}
	return sq.Expr(k.name+" >= ?", v)
}

// cursorArgs checks that c is a position in the order ks (its sort, and a value of the
// right type for every key) and returns its values as SQL arguments. The cursor came
// from a client: a value that does not fit must be a 400 here, never a database error.
func (db *DB) cursorArgs(ks keyset, c *pagination.Cursor) ([]any, error) {
	if c.Sort != ks.sort {
		return nil, c.Invalid("it was made for sort %q, and this request sorts by %q", c.Sort, ks.sort)
	}
	if len(c.Keys) != len(ks.keys) {
		return nil, c.Invalid("it has %d keys, and sort %q needs %d", len(c.Keys), ks.sort, len(ks.keys))
	}
	args := make([]any, len(ks.keys))
	for i, k := range ks.keys {
		if c.Keys[i] == nil {
			if !k.nullable {
				return nil, c.Invalid("key %d is null", i+1)
			}
			continue
		}
		// A cursor that storage made and a caller handed back (as erasured export
		// does) still holds its times as times.
		v := c.Keys[i]
		if s, ok := v.(string); ok {
			var err error
			if v, err = k.kind.Parse(s); err != nil {
				return nil, c.Invalid("key %d %v", i+1, err)
			}
		}
		switch v := v.(type) {
		case time.Time:
			args[i] = db.timeArg(v)
		case string:
			args[i] = v
		default:
			return nil, c.Invalid("key %d is not text", i+1)
		}
	}
	return args, nil
}

// cursorAt is the cursor on row (a pointer to a table's row struct): the values of ks's
// columns, read through the db tags that sqlx scanned them by, so that one function
// serves every table.
func (db *DB) cursorAt(ks keyset, row any) (*pagination.Cursor, error) {
	v := reflect.Indirect(reflect.ValueOf(row))
	keys := make([]any, len(ks.keys))
	for i, k := range ks.keys {
		switch f := db.db.Mapper.FieldByName(v, k.name).Interface().(type) {
		case string:
			keys[i] = f
		case sql.NullString:
			if f.Valid {
				keys[i] = f.String
			}
		case timeColumn:
			keys[i] = f.Time
		case nullTimeColumn:
			if f.Time != nil {
				keys[i] = *f.Time
			}
		default:
			return nil, fmt.Errorf("cursor: column %s of %T is a %T", k.name, row, f)
		}
	}
	return &pagination.Cursor{Sort: ks.sort, Keys: keys}, nil
}

// selectCursorPage runs the cursor page opts.Cursor of sc into rows of type R, with the
// list's total (see totals) in the same round trip.
//
// It reads one row more than the page holds, to learn whether more follow: forwards
// from page[after] (or the start), or backwards from page[before] alone, in which case
// the rows are put back in list order. A range request reads forwards between both.
func selectCursorPage[R totaled](ctx context.Context, db *DB, t table, sc scope, opts ListOptions) ([]R, PageInfo, error) {
	cp := opts.Cursor
	ks, err := newKeyset(t, opts.Sort)
	if err != nil {
		return nil, PageInfo{}, err
	}
	// The total is the whole list's: the cursors only place the page.
	a, err := db.listArgs(ctx, t, sc, opts)
	if err != nil {
		return nil, PageInfo{}, err
	}
	if cp.After != nil {
		if a.after, err = db.cursorArgs(ks, cp.After); err != nil {
			return nil, PageInfo{}, err
		}
	}
	if cp.Before != nil {
		if a.before, err = db.cursorArgs(ks, cp.Before); err != nil {
			return nil, PageInfo{}, err
		}
	}
	key := shapeOf(t, sc, opts.Filter, a, fmt.Sprintf("cursor %s %d %v", ks.sort, cp.Size, cp.Backward()))
	limit := uint64(cp.Size) + 1
	query, args, err := db.listSQL(key, a, func(a listArgs) (sq.Sqlizer, error) {
		base, err := db.base(t, sc, opts.Filter, a)
		if err != nil {
			return nil, err
		}
		// ranges are the index ranges that the page is read from, in the order it is
		// read (see after); a second cursor only ends the page.
		page, order, ranges := base, ks, []sq.Sqlizer{nil}
		if a.after != nil {
			ranges = ks.after(a.after)
		}
		if a.before != nil {
			before := ks.reversed().after(a.before)
			if cp.Backward() {
				order, ranges = ks.reversed(), before
			} else {
				page = page.Where(anyOf(before...))
			}
		}
		read := func(r sq.Sqlizer) sq.SelectBuilder {
			return page.Where(r).Columns(sc.columns).OrderBy(order.orderBy()...).Limit(limit)
		}
		if len(ranges) == 1 {
			return totalColumns(read(ranges[0]), base, a), nil
		}
		// Each range is read as far as the page could go and the two are merged, which
		// PostgreSQL does by seeking in both; their union is the page's rows.
		both := sq.Select("*").FromSelect(read(ranges[0]), "a").
			SuffixExpr(sq.Expr("UNION ALL SELECT * FROM (?) AS b", read(ranges[1]).PlaceholderFormat(sq.Question)))
		return totalColumns(db.sb.Select("*").FromSelect(both, "page"), base, a).OrderBy(order.orderBy()...).Limit(limit), nil
	})
	if err != nil {
		return nil, PageInfo{}, err
	}
	rows, err := selectList[R](ctx, db, query, args)
	if err != nil {
		return nil, PageInfo{}, fmt.Errorf("list %s: %w", t.name, err)
	}
	var info PageInfo
	if len(rows) > cp.Size {
		rows, info.More = rows[:cp.Size], true
	}
	if cp.Backward() {
		slices.Reverse(rows)
	}
	if len(rows) == 0 {
		if cp.After == nil && cp.Before == nil {
			return rows, info, nil // the list is empty
		}
		n, err := db.total(ctx, t, sc, opts, a, key)
		info.Total, info.Estimated = n.Total, n.Estimated
		return rows, info, err
	}
	n, err := db.settle(ctx, t, sc, opts, a, rows[0].totals())
	if err != nil {
		return nil, PageInfo{}, err
	}
	info.Total, info.Estimated = n.Total, n.Estimated
	if info.First, err = db.cursorAt(ks, &rows[0]); err != nil {
		return nil, PageInfo{}, err
	}
	if info.Last, err = db.cursorAt(ks, &rows[len(rows)-1]); err != nil {
		return nil, PageInfo{}, err
	}
	return rows, info, nil
}
