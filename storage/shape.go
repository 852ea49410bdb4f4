package storage

import (
	"fmt"
	"strings"
	"sync"

	sq "github.com/Masterminds/squirrel"

	"github.com/erasured/erasured/filters"
)

// A list query's SQL text follows from a few things (the list's scope, which operators
// the filter applies to which attributes, the sort, the kind and size of the page, and
// whether the total is counted), and its arguments from the rest. Building the text
// with squirrel, which copies its builders by reflection at every step, cost a
// filtered page about a third of the CPU that storage spends on it besides the round
// trip (BenchmarkReads with -cpuprofile). So each shape is built once, with a slot in
// place of every value, and kept with its arguments as a template; a request then only
// gathers its values and puts each in its slot.

// scope is what every page of one list reads from: its FROM clause (with any join) and
// the conditions of its store (and of its parent, or of the storage method), as text
// that the code writes, never a request; args are the values of where's placeholders.
type scope struct {
	from, where string
	args        []any
	// columns are the list's columns, joined: squirrel adds each column it is given
	// separately, by reflection.
	columns string
}

// slot stands for the value at its index in listArgs.flatten while a shape is built.
type slot int

// listArgs are the values of one list query, each where its build reads it.
type listArgs struct {
	scope  []any
	filter [][]any // per condition of the filter, its values as SQL arguments
	// literal says, per condition, that a condition builds it from its values, which
	// then belong to the shape rather than to the arguments (see column.cond).
	literal []bool
	// after and before are the cursor positions, nil where a key is NULL.
	after, before []any
	// total is the total when it is not counted (estimated), and nil when it is.
	total any
	// volatile says that a condition of the filter reads more than its values (see
	// condition), so that its text or arguments may differ from one request to the next
	// in ways that the shape does not show: such a query is built every time.
	volatile bool
}

// each calls fn on every value of a, in the order of flatten.
func (a *listArgs) each(fn func(*any)) {
	for i := range a.scope {
		fn(&a.scope[i])
	}
	for _, f := range a.filter {
		for i := range f {
			fn(&f[i])
		}
	}
	for i := range a.after {
		fn(&a.after[i])
	}
	for i := range a.before {
		fn(&a.before[i])
	}
	fn(&a.total)
}

func (a listArgs) flatten() []any {
	var out []any
	a.each(func(v *any) { out = append(out, *v) })
	return out
}

// slotted is a with each value that is not nil replaced by its slot. NULLs stay: they
// change the text (IS NULL), and the shape says where they are.
func (a listArgs) slotted() listArgs {
	s := listArgs{scope: cloneArgs(a.scope), after: cloneArgs(a.after), before: cloneArgs(a.before), total: a.total,
		literal: a.literal}
	s.filter = make([][]any, len(a.filter))
	for i, f := range a.filter {
		s.filter[i] = cloneArgs(f)
	}
	n := 0
	s.each(func(v *any) {
		if *v != nil {
			*v = slot(n)
		}
		n++
	})
	// A condition's own values stay what they are: it reads them.
	for i, lit := range a.literal {
		if lit {
			copy(s.filter[i], a.filter[i])
		}
	}
	return s
}

func cloneArgs(a []any) []any {
	if a == nil {
		return nil
	}
	return append([]any(nil), a...)
}

// nulls writes where a's values are NULL, for a shape.
func nulls(b *strings.Builder, values []any) {
	for _, v := range values {
		if v == nil {
			b.WriteByte('n')
		} else {
			b.WriteByte('v')
		}
	}
	b.WriteByte(';')
}

// shapeOf is the shape of a list query of t in sc: everything but a's values that its
// text follows from. page says the rest: the kind and size of page and the sort.
func shapeOf(t table, sc scope, expr filters.Expr, a listArgs, page string) string {
	var b strings.Builder
	b.Grow(len(sc.from) + len(sc.where) + len(sc.columns) + len(page) + 64)
	b.WriteString(t.name)
	b.WriteByte('|')
	b.WriteString(sc.from)
	b.WriteByte('|')
	b.WriteString(sc.where)
	b.WriteByte('|')
	b.WriteString(sc.columns)
	b.WriteByte('|')
	nulls(&b, a.scope)
	for i, c := range expr {
		b.WriteString(c.Attribute)
		b.WriteByte(' ')
		b.WriteString(string(c.Op))
		b.WriteByte(' ')
		if a.literal[i] {
			fmt.Fprintf(&b, "%q;", a.filter[i])
		} else {
			nulls(&b, a.filter[i])
		}
	}
	b.WriteByte('|')
	nulls(&b, a.after)
	nulls(&b, a.before)
	if a.total != nil {
		b.WriteString("estimated|")
	}
	b.WriteString(page)
	return b.String()
}

// maxShapes bounds the shapes a DB keeps: as for maxStatements, a few dozen serve the
// server, and filters and page sizes make more.
const maxShapes = 1000

// shapes keeps the text of each list query shape built so far, and where its
// arguments come from.
type shapes struct {
	mu sync.RWMutex
	m  map[string]*shape
}

type shape struct {
	query string
	// args are query's arguments: a slot for each value of the request, at its index in
	// listArgs.flatten, and the shape's own constants (of the code, or of the literal
	// values of a condition) as they are.
	args []any
}

// listSQL returns the SQL text and arguments that build makes of a, from the shape's
// text when it has been built before. A volatile filter's is built every time.
func (db *DB) listSQL(key string, a listArgs, build func(listArgs) (sq.Sqlizer, error)) (string, []any, error) {
	if a.volatile {
		return buildSQL(a, build)
	}
	s, ok := db.shapes.get(key)
	if !ok {
		var err error
		if s, err = db.buildShape(a, build); err != nil {
			return "", nil, err
		}
		db.shapes.keep(key, s)
	}
	values := a.flatten()
	args := make([]any, len(s.args))
	for i, arg := range s.args {
		if at, ok := arg.(slot); ok {
			arg = values[at]
		}
		args[i] = arg
	}
	return s.query, args, nil
}

func buildSQL(a listArgs, build func(listArgs) (sq.Sqlizer, error)) (string, []any, error) {
	b, err := build(a)
	if err != nil {
		return "", nil, err
	}
	query, args, err := b.ToSql()
	if err != nil {
		return "", nil, fmt.Errorf("build query: %w", err)
	}
	return query, args, nil
}

// fixedSQL returns the text of a statement that never changes, built once per DB under
// name; the caller binds the values of its placeholders.
func (db *DB) fixedSQL(name string, build func(sq.StatementBuilderType) sq.Sqlizer) (string, error) {
	key := "fixed|" + name
	if s, ok := db.shapes.get(key); ok {
		return s.query, nil
	}
	query, args, err := build(db.sb).ToSql()
	if err != nil {
		return "", fmt.Errorf("build %s: %w", name, err)
	}
	if len(args) > 0 {
		return "", fmt.Errorf("build %s: %d values in a fixed statement", name, len(args))
	}
	db.shapes.keep(key, &shape{query: query})
	return query, nil
}

// placeholders are n placeholders, for the values of a fixed statement's INSERT.
func placeholders(n int) []any {
	p := make([]any, n)
	for i := range p {
		p[i] = sq.Expr("?")
	}
	return p
}

func (c *shapes) get(key string) (*shape, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	s, ok := c.m[key]
	return s, ok
}

// keep keeps s under key.
func (c *shapes) keep(key string, s *shape) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxShapes {
		c.m = map[string]*shape{}
	}
	c.m[key] = s
}

// buildShape builds a's shape with slots.
func (db *DB) buildShape(a listArgs, build func(listArgs) (sq.Sqlizer, error)) (*shape, error) {
	query, args, err := buildSQL(a.slotted(), build)
	if err != nil {
		return nil, err
	}
	return &shape{query: query, args: args}, nil
}
