package storage

import (
	lru "container/list"
	"context"
	"sync"

	"github.com/jmoiron/sqlx"
)

// maxStatements bounds the statements a DB keeps prepared. The statements the server
// runs are a few dozen shapes (a filter's operators and the length of an in() list make
// more); past the bound, the least recently used is closed.
const maxStatements = 500

// statements keeps the statements a DB has run prepared, by SQL text, so that the
// database parses and plans each once per connection rather than once per run: on
// PostgreSQL, planning cost a filtered page more than executing it. A prepared statement
// of the pool is prepared on each connection the first time it runs there, and inside a
// transaction on the transaction's connection (database/sql keeps both).
type statements struct {
	mu      sync.Mutex
	byQuery map[string]*lru.Element // of *statement
	order   lru.List                // most recently used first
	// preparing counts the statements prepared for a transaction's next run, which
	// outlive the run that asked for them: close waits for them, for one that opens a
	// connection after the pool is closed would open the database again (on SQLite,
	// creating files beside it).
	preparing sync.WaitGroup
}

type statement struct {
	query string
	stmt  *sqlx.Stmt
	// uses counts the runs under way; an evicted statement is closed by the last of them,
	// so that no run finds its statement closed under it.
	uses    int
	evicted bool
}

// run runs fn with query prepared, on q: the pool, or a transaction of it.
//
// A statement is prepared on the pool, which takes a connection of its own. A
// transaction already holds one, and when every connection is held by a transaction
// that waits for another, none is left: a transaction never waits for one. It runs a
// statement not prepared yet as it is (on its own connection: fn gets a statement of
// the transaction), and leaves the pool to prepare it for the next run.
func (db *DB) run(ctx context.Context, q any, query string, fn func(*sqlx.Stmt) error) error {
	tx, inTx := q.(*sqlx.Tx)
	s := db.stmts.cached(query)
	if s == nil && inTx {
		db.stmts.preparing.Go(func() {
			if s, err := db.stmts.prepare(context.WithoutCancel(ctx), db.db, query); err == nil {
				db.stmts.release(s)
			}
		})
		stmt, err := tx.PreparexContext(ctx, query)
		if err != nil {
			return err
		}
		defer stmt.Close()
		return fn(stmt)
	}
	if s == nil {
		var err error
		if s, err = db.stmts.prepare(ctx, db.db, query); err != nil {
			return err
		}
	}
	defer db.stmts.release(s)
	if inTx {
		// Closed with the transaction; the statement prepared on its connection stays.
		return fn(tx.StmtxContext(ctx, s.stmt))
	}
	return fn(s.stmt)
}

// cached returns the statement prepared for query, for a run, or nil.
func (c *statements) cached(query string) *statement {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byQuery[query]
	if !ok {
		return nil
	}
	c.order.MoveToFront(e)
	s := e.Value.(*statement)
	s.uses++
	return s
}

// prepare prepares query on the pool and keeps it, for a run.
func (c *statements) prepare(ctx context.Context, db *sqlx.DB, query string) (*statement, error) {
	// Prepared outside the lock, which every statement takes: two runs that miss at once
	// both prepare, and the later one keeps its own for this run only.
	stmt, err := db.PreparexContext(ctx, query)
	if err != nil {
		return nil, err
	}
	s := &statement{query: query, stmt: stmt, uses: 1}
	var unused *statement
	c.mu.Lock()
	if _, ok := c.byQuery[query]; ok {
		s.evicted = true // kept by the other; this one serves this run only
	} else {
		if c.byQuery == nil {
			c.byQuery = map[string]*lru.Element{}
		}
		c.byQuery[query] = c.order.PushFront(s)
		if c.order.Len() > maxStatements {
			unused = c.evict(c.order.Back())
		}
	}
	c.mu.Unlock()
	// Closing waits for the connections it was prepared on: never under the lock.
	if unused != nil {
		unused.stmt.Close()
	}
	return s, nil
}

// evict takes e out of the cache, and returns its statement when no run uses it, for the
// caller to close.
func (c *statements) evict(e *lru.Element) *statement {
	s := e.Value.(*statement)
	c.order.Remove(e)
	delete(c.byQuery, s.query)
	s.evicted = true
	if s.uses == 0 {
		return s
	}
	return nil
}

func (c *statements) release(s *statement) {
	c.mu.Lock()
	s.uses--
	done := s.evicted && s.uses == 0
	c.mu.Unlock()
	if done {
		s.stmt.Close()
	}
}

// close waits for the statements being prepared in the background, then closes every
// statement, with the pool.
func (c *statements) close() {
	c.preparing.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.byQuery {
		e.Value.(*statement).stmt.Close()
	}
	c.byQuery = nil
	c.order.Init()
}
