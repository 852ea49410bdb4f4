package storage

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/erasured/erasured/filters"
)

// listTotal is what every list query adds to each of its rows: how many records the
// whole list holds, and whether that is an estimate.
type listTotal struct {
	Total     int  `db:"total"`
	Estimated bool `db:"estimated"`
}

func (t listTotal) totals() listTotal { return t }

// totaled is a list row type: a table's row with a listTotal embedded.
type totaled interface{ totals() listTotal }

// ExactTotalMax is the most a list's total counts: every page of every list counts its
// matches up to one more than ExactTotalMax, and a list with more has an estimate for
// its total, and says so (Estimated). On PostgreSQL the estimate is PostgreSQL's own: of
// the store's size (see storeEstimate) for an unfiltered list, which then is not counted
// at all, and the planner's for a filtered one (see listEstimate). SQLite has no
// estimate to give: its total is ExactTotalMax+1, a lower bound.
//
// Counting is a scan of every matching index entry, so an exact total would make every
// page of a list of millions cost as much as reading them all, and a client that walks
// a large list to its end (an export) pay that on every page.
const ExactTotalMax = 10_000

// estimateSQL estimates the records of one store in one table ($1 the store, $2 the
// table) the way PostgreSQL's planner estimates "store_id = $1": the table's size from
// the statistics of its last ANALYZE, scaled to its current number of pages, times the
// store's share: its frequency among the most common store_ids, or else an even share
// of what the most common values leave over. It is NULL when the table has never been
// analysed; its lists are then counted.
//
// The whole-table figure alone (pg_class.reltuples) would be wrong for every tenant:
// each list is one store's, and stores differ in size by orders of magnitude.
const estimateSQL = `SELECT CASE WHEN c.reltuples < 0 THEN NULL ELSE
		(CASE WHEN c.relpages > 0
			THEN c.reltuples / c.relpages * (pg_relation_size(c.oid) / current_setting('block_size')::float8)
			ELSE c.reltuples END)
		* COALESCE(
			s.most_common_freqs[array_position(s.most_common_vals::text::text[], $1)],
			(1 - s.null_frac - (SELECT COALESCE(sum(f), 0) FROM unnest(s.most_common_freqs) f))
				/ NULLIF((CASE WHEN s.n_distinct < 0 THEN -s.n_distinct * c.reltuples ELSE s.n_distinct END)
					- COALESCE(cardinality(s.most_common_freqs), 0), 0))
	END
	FROM pg_class c
	JOIN pg_namespace ns ON ns.oid = c.relnamespace
	LEFT JOIN pg_stats s ON s.schemaname = ns.nspname AND s.tablename = c.relname AND s.attname = 'store_id'
	WHERE c.oid = $2::regclass`

// estimateTTL is how long a process keeps an estimate. The statistics behind it change
// only when the table is analysed, so a minute adds little staleness, and it spares
// each page the planning of the pg_stats view or of an EXPLAIN, which costs more than
// the page.
const estimateTTL = time.Minute

// estimates caches storeEstimate and listEstimate per table and store or list. Each
// process keeps its own: an estimate needs no agreement between processes.
type estimates struct {
	mu sync.Mutex
	m  map[[2]string]estimate
	// past is when each table last had a list counted past ExactTotalMax: until
	// estimateTTL after it, totals looks for its lists among them (see pastKey).
	past map[string]time.Time
}

type estimate struct {
	n    float64 // NaN: no statistics
	made time.Time
}

// cached returns the estimate kept under k while it is recent enough, or else the one
// that fetch returns (NaN: none), which it keeps.
func (db *DB) cached(k [2]string, fetch func() (float64, error)) (float64, error) {
	if n, ok := db.est.get(k); ok {
		return n, nil
	}
	n, err := fetch()
	if err != nil {
		return 0, err
	}
	db.est.put(k, n)
	return n, nil
}

// get returns the estimate kept under k, if it is recent enough.
func (e *estimates) get(k [2]string) (float64, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	v, ok := e.m[k]
	return v.n, ok && time.Since(v.made) <= estimateTTL
}

func (e *estimates) put(k [2]string, n float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.m == nil || len(e.m) >= 10_000 {
		// Many stores or filters: start over rather than let the cache grow without bound.
		e.m = map[[2]string]estimate{}
	}
	e.m[k] = estimate{n: n, made: time.Now()}
}

// pastKey is where settle keeps the total of the list of t in sc that a's scope and
// filter select when its count went past ExactTotalMax.
func pastKey(t table, sc scope, expr filters.Expr, a listArgs) [2]string {
	list := listArgs{scope: a.scope, filter: a.filter, literal: a.literal}
	return [2]string{t.name, fmt.Sprintf("past %s %q", shapeOf(t, sc, expr, list, ""), list.flatten())}
}

// pastFor returns the total kept for a list (see pastKey), if there is one. Only while
// t has such totals does it build the key.
func (db *DB) pastFor(t table, sc scope, expr filters.Expr, a listArgs) (float64, bool) {
	db.est.mu.Lock()
	at, ok := db.est.past[t.name]
	db.est.mu.Unlock()
	if !ok || time.Since(at) > estimateTTL {
		return 0, false
	}
	return db.est.get(pastKey(t, sc, expr, a))
}

// keepPast keeps total as a list's (see pastFor).
func (db *DB) keepPast(t table, sc scope, expr filters.Expr, a listArgs, total int) {
	db.est.put(pastKey(t, sc, expr, a), float64(total))
	db.est.mu.Lock()
	defer db.est.mu.Unlock()
	if db.est.past == nil {
		db.est.past = map[string]time.Time{}
	}
	db.est.past[t.name] = time.Now()
}

// storeEstimate returns PostgreSQL's estimate of the records of storeID in t, and false
// when the table has no statistics yet, from the cache when it is recent enough.
func (db *DB) storeEstimate(ctx context.Context, t table, storeID string) (float64, bool, error) {
	n, err := db.cached([2]string{t.name, "store " + storeID}, func() (float64, error) {
		var n sql.NullFloat64
		db.observe(estimateSQL, []any{storeID, t.name})
		if err := db.db.GetContext(ctx, &n, estimateSQL, storeID, t.name); err != nil {
			return 0, fmt.Errorf("estimate %s: %w", t.name, db.wrap(err))
		}
		if !n.Valid {
			return math.NaN(), nil
		}
		return n.Float64, nil
	})
	return n, err == nil && !math.IsNaN(n), err
}

// listEstimate returns the planner's estimate of the rows that list (a SELECT) reads,
// from the cache when it is recent enough.
func (db *DB) listEstimate(ctx context.Context, t table, list sq.SelectBuilder) (float64, error) {
	query, args, err := list.PlaceholderFormat(sq.Dollar).ToSql()
	if err != nil {
		return 0, fmt.Errorf("build query: %w", err)
	}
	return db.cached([2]string{t.name, fmt.Sprintf("list %s %q", query, args)}, func() (float64, error) {
		var out []byte
		db.observe("EXPLAIN (FORMAT JSON) "+query, args)
		if err := db.db.GetContext(ctx, &out, "EXPLAIN (FORMAT JSON) "+query, args...); err != nil {
			return 0, fmt.Errorf("estimate %s: %w", t.name, db.wrap(err))
		}
		var plans []struct {
			Plan struct {
				Rows float64 `json:"Plan Rows"`
			}
		}
		if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
			return 0, fmt.Errorf("estimate %s: EXPLAIN answered %q: %v", t.name, out, err)
		}
		return plans[0].Plan.Rows, nil
	})
}

// totals decides how the list of t in sc that opts asks for gets its total: counted,
// by a COUNT(*) of at most ExactTotalMax+1 rows in a scalar subquery (see
// totalColumns and settle), or not, when a.total is set to an estimate: for a large
// unfiltered list on PostgreSQL, storeEstimate's, and for a list whose count went past
// ExactTotalMax within estimateTTL, what settle made of that count.
//
// Skipping the count of a list known to be long is what keeps a page of a filter that
// matches millions about as cheap as one that matches a few: the capped count alone
// reads ExactTotalMax index entries, many times the page, and on SQLite, which has no
// estimate, it is the whole cost of the page. A list that shrinks back under the cap
// meanwhile keeps an estimated total for at most estimateTTL.
func (db *DB) totals(ctx context.Context, t table, sc scope, opts ListOptions, a *listArgs) error {
	if db.dialect == postgres && len(opts.Filter) == 0 && !opts.narrowed {
		n, ok, err := db.storeEstimate(ctx, t, opts.StoreID)
		if err != nil {
			return err
		}
		if ok && n > ExactTotalMax {
			a.total = int64(math.Round(n))
			return nil
		}
	}
	if n, ok := db.pastFor(t, sc, opts.Filter, *a); ok {
		a.total = int64(math.Round(n))
	}
	return nil
}

// totalColumns adds to b the columns total and estimated of the list that base (FROM
// and WHERE, filter included) selects: a's estimate, or the capped count. With them
// added to the list's own query, the page and its total come back in one round trip.
//
// The count is a subquery rather than COUNT(*) OVER (): a window over the list must
// read every matching row in full before the first one is returned, where the
// subquery lets the page stop at its LIMIT and counts from an index alone.
func totalColumns(b, base sq.SelectBuilder, a listArgs) sq.SelectBuilder {
	if a.total != nil {
		return b.Column(sq.Expr("CAST(? AS bigint) AS total", a.total)).Column("(1=1) AS estimated")
	}
	// Nested builders must leave their placeholders as "?": the outer query numbers them.
	list := base.Column("1").PlaceholderFormat(sq.Question).Limit(ExactTotalMax + 1)
	return b.Column(sq.Alias(sq.Select("COUNT(*)").FromSelect(list, "list"), "total")).Column("(1=0) AS estimated")
}

// total runs the total alone, for a page with no row to carry it; key is the page's
// shape.
func (db *DB) total(ctx context.Context, t table, sc scope, opts ListOptions, a listArgs, key string) (listTotal, error) {
	query, args, err := db.listSQL(key+"|total", a, func(a listArgs) (sq.Sqlizer, error) {
		base, err := db.base(t, sc, opts.Filter, a)
		if err != nil {
			return nil, err
		}
		return totalColumns(db.sb.Select(), base, a), nil
	})
	if err != nil {
		return listTotal{}, err
	}
	var n listTotal
	if err := db.getSQL(ctx, db.db, &n, query, args); err != nil {
		return listTotal{}, fmt.Errorf("count %s: %w", t.name, err)
	}
	return db.settle(ctx, t, sc, opts, a, n)
}

// settle turns n, the total that a list's totalColumns gave, into the list's: a count
// that went past ExactTotalMax becomes PostgreSQL's estimate of the list, never less
// than the count, or on SQLite the count itself, a lower bound; either is Estimated,
// and kept for the list's next pages (see totals).
func (db *DB) settle(ctx context.Context, t table, sc scope, opts ListOptions, a listArgs, n listTotal) (listTotal, error) {
	if a.total != nil || n.Total <= ExactTotalMax {
		return n, nil
	}
	total := n.Total
	if db.dialect == postgres {
		base, err := db.base(t, sc, opts.Filter, a)
		if err != nil {
			return listTotal{}, err
		}
		est, err := db.listEstimate(ctx, t, base.Column("1"))
		if err != nil {
			return listTotal{}, err
		}
		total = max(int(math.Round(est)), n.Total)
	}
	db.keepPast(t, sc, opts.Filter, a, total)
	return listTotal{Total: total, Estimated: true}, nil
}
