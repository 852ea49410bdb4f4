package storage

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/filters"
)

// column is the SQL behind one attribute a client may filter or sort on. Only names in
// these fixed lists ever reach SQL text; every value is a bound parameter.
type column struct {
	name     string
	nullable bool
	// kind reads a cursor's values for the column, which come from clients.
	kind erasured.Kind
	// cond, when set, builds the condition itself, for attributes whose client values
	// are not stored as they are written.
	cond *condition
}

// condition builds the SQL of a filter on an attribute whose client values are not
// stored as they are written. Its text and arguments must follow from op and values
// alone, for a list's SQL is kept by shape with those values in the shape (see
// listSQL), unless volatile says that they do not (overdue's read the clock): such a
// list's SQL is built every time.
type condition struct {
	where    func(op filters.Op, values []any) (sq.Sqlizer, error)
	volatile bool
}

// table describes a listable collection.
type table struct {
	name        string
	id          column // the tie-breaker of every sort
	columns     map[string]column
	defaultSort []erasured.Sort
}

// tableOf is the table name that holds the records of typ: each attribute the type's
// declaration makes filterable or sortable, by its column. conds build the conditions of
// the attributes whose filter values are not stored as they are written.
func tableOf[T any](name string, typ *erasured.Type[T], conds map[string]*condition) table {
	id := typ.ID()
	t := table{
		name:        name,
		id:          column{name: id.Column, kind: id.Kind},
		columns:     map[string]column{},
		defaultSort: typ.DefaultSort,
	}
	for _, a := range typ.Attributes() {
		if a.Can(erasured.Sortable) || len(a.Filter) > 0 {
			t.columns[a.Name] = column{name: a.Column, nullable: a.Nullable, kind: a.Kind, cond: conds[a.Name]}
		}
	}
	return t
}

// filterArgs returns the values of a filter on t as SQL arguments, condition by
// condition: times as the dialect stores them, and like values as LIKE patterns. It
// says which conditions are built from their values by a condition (literal: the
// values belong to the query's shape) and whether one of those is volatile.
func (db *DB) filterArgs(t table, expr filters.Expr) (args [][]any, literal []bool, volatile bool, err error) {
	args, literal = make([][]any, len(expr)), make([]bool, len(expr))
	for i, c := range expr {
		col, ok := t.columns[c.Attribute]
		if !ok {
			return nil, nil, false, fmt.Errorf("filter on %s.%s: no such column", t.name, c.Attribute)
		}
		values := make([]any, len(c.Values))
		for i, v := range c.Values {
			if tv, ok := v.(time.Time); ok {
				v = db.timeArg(tv)
			}
			values[i] = v
		}
		if col.cond != nil {
			literal[i] = true
			volatile = volatile || col.cond.volatile
		} else if c.Op == filters.Like {
			s, ok := values[0].(string)
			if !ok {
				return nil, nil, false, fmt.Errorf("like on %s: value is %T, not text", col.name, values[0])
			}
			values[0] = likePattern(s)
		}
		args[i] = values
	}
	return args, literal, volatile, nil
}

// conditions turns a filter on t, whose values are args (see filterArgs), into SQL
// conditions.
func conditions(t table, expr filters.Expr, args [][]any) (sq.And, error) {
	var and sq.And
	for i, c := range expr {
		col := t.columns[c.Attribute]
		var (
			s   sq.Sqlizer
			err error
		)
		if col.cond != nil {
			s, err = col.cond.where(c.Op, args[i])
		} else {
			s, err = compare(col.name, c.Op, args[i])
		}
		if err != nil {
			return nil, err
		}
		and = append(and, s)
	}
	return and, nil
}

// base is the SELECT, with no columns yet, of the rows of sc that match expr, whose
// values are a's.
func (db *DB) base(t table, sc scope, expr filters.Expr, a listArgs) (sq.SelectBuilder, error) {
	where, err := conditions(t, expr, a.filter)
	if err != nil {
		return sq.SelectBuilder{}, err
	}
	return db.sb.Select().From(sc.from).Where(sc.where, a.scope...).Where(where), nil
}

// listArgs gathers the values of a page of t in sc that opts asks for, but its cursors,
// and decides how the list gets its total (see totals).
func (db *DB) listArgs(ctx context.Context, t table, sc scope, opts ListOptions) (listArgs, error) {
	filter, literal, volatile, err := db.filterArgs(t, opts.Filter)
	if err != nil {
		return listArgs{}, err
	}
	a := listArgs{scope: sc.args, filter: filter, literal: literal, volatile: volatile}
	if err := db.totals(ctx, t, sc, opts, &a); err != nil {
		return listArgs{}, err
	}
	return a, nil
}

func compare(name string, op filters.Op, values []any) (sq.Sqlizer, error) {
	switch op {
	case filters.Eq:
		return sq.Eq{name: values[0]}, nil
	case filters.In:
		return sq.Eq{name: values}, nil
	case filters.Like:
		return sq.Expr(name+` LIKE ? ESCAPE '\'`, values[0]), nil
	case filters.Gt:
		return sq.Gt{name: values[0]}, nil
	case filters.Ge:
		return sq.GtOrEq{name: values[0]}, nil
	case filters.Lt:
		return sq.Lt{name: values[0]}, nil
	case filters.Le:
		return sq.LtOrEq{name: values[0]}, nil
	}
	return nil, fmt.Errorf("filter operator %q has no SQL", op)
}

// likePattern turns a like value, where * is the wildcard, into a LIKE pattern with
// backslash as the escape character: %, _ and \ in the value match themselves.
func likePattern(v string) string {
	var b strings.Builder
	b.Grow(len(v) + 2)
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '*':
			b.WriteByte('%')
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// orderBy returns the ORDER BY terms for sorts (t's default when empty), then t.id in
// the direction of the last key, which makes the order total and lets an index on
// (..., key, id) serve it in either direction. Both dialects put NULLs last in ascending
// order and first in descending order.
func orderBy(t table, sorts []erasured.Sort) ([]string, error) {
	if len(sorts) == 0 {
		sorts = t.defaultSort
	}
	terms := make([]string, 0, len(sorts)+1)
	desc := false
	for _, s := range sorts {
		col, ok := t.columns[s.Attribute]
		if !ok {
			return nil, fmt.Errorf("sort on %s.%s: no such column", t.name, s.Attribute)
		}
		terms = append(terms, orderTerm(col.name, s.Desc, col.nullable))
		desc = s.Desc
	}
	return append(terms, orderTerm(t.id.name, desc, false)), nil
}

// orderTerm is one ORDER BY term. NULLs sort as if greater than every value, in both
// directions: PostgreSQL's default, which the explicit NULLS LAST and NULLS FIRST make
// SQLite's too (its default is the opposite).
func orderTerm(name string, desc, nullable bool) string {
	switch {
	case desc && nullable:
		return name + " DESC NULLS FIRST"
	case desc:
		return name + " DESC"
	case nullable:
		return name + " ASC NULLS LAST"
	}
	return name
}

// selectPage runs one offset page of sc into rows of type R, which carry the list's
// total (see totals) so that the page and the total come back in one round trip. A page
// past the end has no row to carry the total, so then it is counted on its own.
func selectPage[R totaled](ctx context.Context, db *DB, t table, sc scope, opts ListOptions) ([]R, listTotal, error) {
	order, err := orderBy(t, opts.Sort)
	if err != nil {
		return nil, listTotal{}, err
	}
	a, err := db.listArgs(ctx, t, sc, opts)
	if err != nil {
		return nil, listTotal{}, err
	}
	key := shapeOf(t, sc, opts.Filter, a, "offset "+strings.Join(order, ",")+" "+
		strconv.Itoa(opts.Page.Limit)+" "+strconv.Itoa(opts.Page.Offset))
	query, args, err := db.listSQL(key, a, func(a listArgs) (sq.Sqlizer, error) {
		base, err := db.base(t, sc, opts.Filter, a)
		if err != nil {
			return nil, err
		}
		page := totalColumns(base.Columns(sc.columns), base, a).
			OrderBy(order...).
			Limit(uint64(opts.Page.Limit))
		if opts.Page.Offset > 0 {
			// An offset walks past Offset rows before the page. Walking ids alone, which
			// an index on the sort keys can serve without touching the table, and reading
			// whole rows for the page only, keeps a deep offset from fetching every row it
			// skips. The inner SELECT keeps "?" placeholders; the outer one numbers them.
			ids := base.PlaceholderFormat(sq.Question).Column(t.id.name).OrderBy(order...).
				Limit(uint64(opts.Page.Limit)).
				Offset(uint64(opts.Page.Offset))
			page = page.Where(sq.Expr(t.id.name+" IN (?)", ids))
		}
		return page, nil
	})
	if err != nil {
		return nil, listTotal{}, err
	}
	rows, err := selectList[R](ctx, db, query, args)
	if err != nil {
		return nil, listTotal{}, fmt.Errorf("list %s: %w", t.name, err)
	}
	if len(rows) > 0 {
		total, err := db.settle(ctx, t, sc, opts, a, rows[0].totals())
		return rows, total, err
	}
	if opts.Page.Offset == 0 {
		return rows, listTotal{}, nil
	}
	total, err := db.total(ctx, t, sc, opts, a, key)
	return rows, total, err
}
