package storage

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"sync"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/erasured/erasured"
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

// ExactTotalMax is the size above which the total of an unfiltered list on PostgreSQL
// is PostgreSQL's own estimate rather than a count (and says so: Estimated).
//
// Counting is a scan of every matching index entry, so an exact total would make every
// page of a store with millions of records cost as much as reading them all; the
// estimate costs nothing per page (see storeEstimate). Filtered lists are always
// counted: a filter is how a client asks exactly how many, and it usually matches few
// records. SQLite, the embedded store for small deployments, always counts.
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

// estimateTTL is how long a process keeps a store's estimate. The statistics behind it
// change only when the table is analysed, so a minute adds little staleness, and it
// spares each page the planning of the pg_stats view, which costs more than the page.
const estimateTTL = time.Minute

// estimates caches storeEstimate per table and store. Each process keeps its own: an
// estimate needs no agreement between processes.
type estimates struct {
	mu sync.Mutex
	m  map[[2]string]estimate
}

type estimate struct {
	n    float64 // NaN: no statistics
	made time.Time
}

// storeEstimate returns PostgreSQL's estimate of the records of storeID in t, and false
// when the table has no statistics yet, from the cache when it is recent enough.
func (db *DB) storeEstimate(ctx context.Context, t table, storeID string) (float64, bool, error) {
	k, now := [2]string{t.name, storeID}, time.Now()
	db.est.mu.Lock()
	e, ok := db.est.m[k]
	db.est.mu.Unlock()
	if !ok || now.Sub(e.made) > estimateTTL {
		var n sql.NullFloat64
		db.observe(estimateSQL, []any{storeID, t.name})
		if err := db.db.GetContext(ctx, &n, estimateSQL, storeID, t.name); err != nil {
			return 0, false, fmt.Errorf("estimate %s: %w", t.name, db.wrap(err))
		}
		e = estimate{n: math.NaN(), made: now}
		if n.Valid {
			e.n = n.Float64
		}
		db.est.mu.Lock()
		if db.est.m == nil || len(db.est.m) >= 10_000 {
			// Many stores: start over rather than let the cache grow without bound.
			db.est.m = map[[2]string]estimate{}
		}
		db.est.m[k] = e
		db.est.mu.Unlock()
	}
	return e.n, !math.IsNaN(e.n), nil
}

// totalQuery is the total of one list as the columns total and estimated of a SELECT:
// added to the list's own query, so that the page and its total come back in one
// round trip, or run alone.
type totalQuery struct{ total, estimated sq.Sqlizer }

// totals is the total of the list that base (FROM and WHERE, filter included) selects
// for opts: an exact COUNT(*) in a scalar subquery or, for a large unfiltered list on
// PostgreSQL, the estimate of storeEstimate.
//
// The count is a subquery rather than COUNT(*) OVER (): a window over the list must
// read every matching row in full before the first one is returned, where the
// subquery lets the page stop at its LIMIT and counts from an index alone.
func (db *DB) totals(ctx context.Context, t table, base sq.SelectBuilder, opts erasured.ListOptions) (totalQuery, error) {
	// Nested builders must leave their placeholders as "?": the outer query numbers them.
	exact := totalQuery{
		total:     sq.Alias(base.Column("COUNT(*)").PlaceholderFormat(sq.Question), "total"),
		estimated: sq.Expr("(1=0) AS estimated"),
	}
	if db.dialect != postgres || len(opts.Filter) > 0 {
		return exact, nil
	}
	n, ok, err := db.storeEstimate(ctx, t, opts.StoreID)
	if err != nil || !ok || n <= ExactTotalMax {
		return exact, err
	}
	return totalQuery{
		total:     sq.Expr("CAST(? AS bigint) AS total", int64(math.Round(n))),
		estimated: sq.Expr("(1=1) AS estimated"),
	}, nil
}

// columns adds the total's columns to b.
func (q totalQuery) columns(b sq.SelectBuilder) sq.SelectBuilder {
	return b.Column(q.total).Column(q.estimated)
}

// total runs q alone: for a page with no row to carry the total.
func (db *DB) total(ctx context.Context, t table, q totalQuery) (listTotal, error) {
	var n listTotal
	if err := db.getRow(ctx, db.db, &n, q.columns(db.sb.Select())); err != nil {
		return listTotal{}, fmt.Errorf("count %s: %w", t.name, err)
	}
	return n, nil
}
