// Command reference is bench/run.sh's yardstick: about the least that a Go server must
// do to answer the requests the bench sends to erasured. It runs the statements that
// bench/capture recorded from erasured's own storage package, the files that pgbench
// runs, with their recorded arguments, and writes with encoding/json a document with
// the members erasured's has: data (type, id, attributes, relationships, links), links,
// and for a list meta.page and meta.results.
//
//	reference --driver pq|pgx --database-url URL --statements DIR --addr HOST:PORT
//
// Driver pq is lib/pq behind database/sql with each statement prepared once
// (sql.DB.Prepare, which prepares it on each connection the first time it runs there);
// pgx is github.com/jackc/pgx/v5's pool with its per-connection statement cache. Both
// pools hold up to 20 connections, as erasured's does.
//
// What it leaves out is its advantage over erasured, and the bench says so: it
// authenticates nothing (erasured checks a bearer key against its key cache); it reads
// no filter, cursor or id from the URL, since each request maps by the shape of its
// query to a captured statement and its captured arguments; it validates next to
// nothing; it keeps no logs or metrics and runs no background workers.
//
// It is a module of its own so that pgx stays out of erasured's go.mod.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/lib/pq"
)

func main() {
	driver := flag.String("driver", "pq", "pq (lib/pq, prepared statements) or pgx (pgx/v5 with its statement cache)")
	dbURL := flag.String("database-url", "", "the bench's PostgreSQL database")
	dir := flag.String("statements", "", "the directory where bench/capture wrote NAME.sql and NAME.args")
	addr := flag.String("addr", "127.0.0.1:0", "address to listen on")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *driver, *dbURL, *dir, *addr); err != nil {
		fmt.Fprintln(os.Stderr, "reference:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, driver, dbURL, dir, addr string) error {
	reqs, err := load(dir)
	if err != nil {
		return err
	}
	var db database
	switch driver {
	case "pq":
		db, err = openPQ(ctx, dbURL, reqs)
	case "pgx":
		db, err = openPGX(ctx, dbURL)
	default:
		err = fmt.Errorf("--driver %q: want pq or pgx", driver)
	}
	if err != nil {
		return err
	}
	defer db.close()

	s := &server{db: db, reqs: reqs}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {})
	mux.HandleFunc("GET /v2/personal-data/erasure-requests", s.list)
	mux.HandleFunc("GET /v2/personal-data/erasure-requests/{id}", s.get)
	mux.HandleFunc("POST /v2/personal-data/erasure-requests", s.create)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Printf("reference: %s listening on %s", driver, ln.Addr())
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// A request is what erasured ran for one of the bench's requests: its statements, in
// order, each with $n placeholders and its arguments.
type request struct {
	stmts []statement
	// initiator is, for a create, the initiator the INSERT stores, for the response.
	initiator json.RawMessage
}

type statement struct {
	sql  string
	args []any // the recorded values as text, and newID where the new record's id goes
	pq   *sql.Stmt
}

// newID marks the argument that is a created record's id: pgbench's variable :id.
type newIDMarker struct{}

var newID newIDMarker

// The names bench/capture writes, and which of them the reference serves.
var names = []string{"filtered", "offset", "first", "deep", "completed", "get", "post"}

var variable = regexp.MustCompile(`:(p[0-9]+|id)\b`)

// load reads each NAME.sql and NAME.args that bench/capture wrote in dir: the pgbench
// script's statements, where :pN is the argument -DpN=VALUE of NAME.args and :id is the
// id that the script mints with \gset. Its BEGIN and COMMIT are left out: the reference
// runs the statements of a create in a transaction of its own.
func load(dir string) (map[string]*request, error) {
	reqs := map[string]*request{}
	for _, name := range names {
		script, err := os.ReadFile(filepath.Join(dir, name+".sql"))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		argv, err := os.ReadFile(filepath.Join(dir, name+".args"))
		if err != nil {
			return nil, err
		}
		vars := map[string]string{}
		for _, line := range strings.Split(strings.TrimSpace(string(argv)), "\n") {
			if k, v, ok := strings.Cut(strings.TrimPrefix(line, "-D"), "="); ok {
				vars[k] = v
			}
		}
		req := &request{}
		for _, text := range strings.SplitAfter(string(script), ";\n") {
			text = strings.TrimSpace(text)
			if lines := strings.Split(text, "\n"); strings.HasSuffix(lines[0], `\gset`) {
				text = strings.TrimSpace(strings.Join(lines[1:], "\n")) // the id pgbench mints
			}
			text = strings.TrimSuffix(text, ";")
			if text == "" || text == "BEGIN" || text == "COMMIT" {
				continue
			}
			st := statement{}
			var missing error
			st.sql = variable.ReplaceAllStringFunc(text, func(v string) string {
				switch value, ok := vars[v[1:]]; {
				case v == ":id":
					st.args = append(st.args, newID)
				case ok:
					st.args = append(st.args, value)
				default:
					missing = fmt.Errorf("%s.sql: %s is not in %s.args", name, v, name)
				}
				return "$" + strconv.Itoa(len(st.args))
			})
			if missing != nil {
				return nil, missing
			}
			req.stmts = append(req.stmts, st)
		}
		if len(req.stmts) == 0 {
			return nil, fmt.Errorf("%s.sql: no statement", name)
		}
		if name == "post" {
			if req.initiator, err = initiatorOf(req.stmts); err != nil {
				return nil, err
			}
		}
		reqs[name] = req
	}
	return reqs, nil
}

var insert = regexp.MustCompile(`^INSERT INTO erasure_requests \(([^)]*)\) VALUES \(([^)]*)\)`)

// initiatorOf returns the initiator that the INSERT among stmts stores.
func initiatorOf(stmts []statement) (json.RawMessage, error) {
	for _, st := range stmts {
		m := insert.FindStringSubmatch(st.sql)
		if m == nil {
			continue
		}
		cols, vals := strings.Split(m[1], ","), strings.Split(m[2], ",")
		for i, c := range cols {
			if strings.TrimSpace(c) != "initiator" || i >= len(vals) {
				continue
			}
			n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(vals[i]), "$"))
			if err != nil || n < 1 || n > len(st.args) {
				break
			}
			if s, ok := st.args[n-1].(string); ok && json.Valid([]byte(s)) {
				return json.RawMessage(s), nil
			}
		}
	}
	return nil, errors.New("post.sql: no INSERT INTO erasure_requests with an initiator")
}

// database runs a request's statements with one driver.
type database interface {
	// query runs st, and for each row it returns calls each with the row's columns
	// and a function that scans them.
	query(ctx context.Context, st *statement, each func(cols []string, scan func(...any) error) error) error
	// exec runs stmts in one transaction, with id as the new record's id.
	exec(ctx context.Context, stmts []statement, id string) error
	close()
}

type pqDB struct{ db *sql.DB }

// openPQ opens a lib/pq pool and prepares every statement of reqs once.
func openPQ(ctx context.Context, dbURL string, reqs map[string]*request) (*pqDB, error) {
	db, err := sql.Open("postgres", dbURL)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(20)
	for _, req := range reqs {
		for i := range req.stmts {
			if req.stmts[i].pq, err = db.PrepareContext(ctx, req.stmts[i].sql); err != nil {
				db.Close()
				return nil, fmt.Errorf("prepare %s: %w", req.stmts[i].sql, err)
			}
		}
	}
	return &pqDB{db}, nil
}

func (p *pqDB) query(ctx context.Context, st *statement, each func([]string, func(...any) error) error) error {
	rows, err := st.pq.QueryContext(ctx, st.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	for rows.Next() {
		if err := each(cols, rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (p *pqDB) exec(ctx context.Context, stmts []statement, id string) error {
	tx, err := p.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, st := range stmts {
		if _, err := tx.StmtContext(ctx, st.pq).ExecContext(ctx, withID(st.args, id)...); err != nil {
			return err
		}
	}
	return tx.Commit()
}

func (p *pqDB) close() { p.db.Close() }

type pgxDB struct{ pool *pgxpool.Pool }

func openPGX(ctx context.Context, dbURL string) (*pgxDB, error) {
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		return nil, err
	}
	cfg.MaxConns = 20
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return &pgxDB{pool}, pool.Ping(ctx)
}

func (p *pgxDB) query(ctx context.Context, st *statement, each func([]string, func(...any) error) error) error {
	rows, err := p.pool.Query(ctx, st.sql, st.args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	fields := rows.FieldDescriptions()
	cols := make([]string, len(fields))
	for i, f := range fields {
		cols[i] = f.Name
	}
	for rows.Next() {
		if err := each(cols, rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (p *pgxDB) exec(ctx context.Context, stmts []statement, id string) error {
	tx, err := p.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for _, st := range stmts {
		if _, err := tx.Exec(ctx, st.sql, withID(st.args, id)...); err != nil {
			return err
		}
	}
	return tx.Commit(ctx)
}

func (p *pgxDB) close() { p.pool.Close() }

// withID returns args with id in place of newID.
func withID(args []any, id string) []any {
	out := make([]any, len(args))
	for i, a := range args {
		if a == newID {
			a = id
		}
		out[i] = a
	}
	return out
}

// row is an erasure request as the statements return it: jsonb columns stay raw JSON,
// passed through to the response.
type row struct {
	ID, StoreID, ResourceType, ResourceID string
	Reason                                *string
	Status                                string
	ServicesErased, PartialFailures       []byte
	Initiator                             []byte
	CreatedAt, UpdatedAt, DueAt           time.Time
	CompletedAt                           *time.Time
	Version                               int64
}

// total is the columns total and estimated of a list's statement.
type total struct {
	N         int64
	Estimated bool
}

// dests returns where each of cols goes: into r, into t, or nowhere.
func dests(cols []string, r *row, t *total) []any {
	d := make([]any, len(cols))
	for i, c := range cols {
		switch c {
		case "id":
			d[i] = &r.ID
		case "store_id":
			d[i] = &r.StoreID
		case "resource_type":
			d[i] = &r.ResourceType
		case "resource_id":
			d[i] = &r.ResourceID
		case "reason":
			d[i] = &r.Reason
		case "status":
			d[i] = &r.Status
		case "services_erased":
			d[i] = &r.ServicesErased
		case "partial_failures":
			d[i] = &r.PartialFailures
		case "initiator":
			d[i] = &r.Initiator
		case "created_at":
			d[i] = &r.CreatedAt
		case "updated_at":
			d[i] = &r.UpdatedAt
		case "completed_at":
			d[i] = &r.CompletedAt
		case "due_at":
			d[i] = &r.DueAt
		case "version":
			d[i] = &r.Version
		case "total":
			d[i] = &t.N
		case "estimated":
			d[i] = &t.Estimated
		default:
			d[i] = new(any)
		}
	}
	return d
}

// read runs req's statements and returns the records they read and the list's total.
func (s *server) read(ctx context.Context, req *request) ([]row, total, error) {
	var rows []row
	var t total
	for i := range req.stmts {
		err := s.db.query(ctx, &req.stmts[i], func(cols []string, scan func(...any) error) error {
			var r row
			if err := scan(dests(cols, &r, &t)...); err != nil {
				return err
			}
			if r.ID != "" {
				rows = append(rows, r)
			}
			return nil
		})
		if err != nil {
			return nil, t, err
		}
	}
	return rows, t, nil
}

type server struct {
	db   database
	reqs map[string]*request
}

// The document, as erasured writes it.
type (
	document struct {
		JSONAPI struct {
			Version string `json:"version"`
		} `json:"jsonapi"`
		Data  any   `json:"data"`
		Meta  *meta `json:"meta,omitempty"`
		Links links `json:"links"`
	}
	links struct {
		DescribedBy string  `json:"describedby"`
		First       *string `json:"first,omitempty"`
		Last        *string `json:"last,omitempty"`
		Next        *string `json:"next"`
		Prev        *string `json:"prev"`
		Self        string  `json:"self"`
	}
	oneLinks struct {
		DescribedBy string `json:"describedby"`
		Self        string `json:"self"`
	}
	meta struct {
		Page    any `json:"page"`
		Results struct {
			Estimated bool  `json:"estimated,omitempty"`
			Total     int64 `json:"total"`
		} `json:"results"`
	}
	offsetPage struct {
		Limit   int   `json:"limit"`
		Offset  int   `json:"offset"`
		Current int   `json:"current"`
		Total   int64 `json:"total"`
	}
	cursorPage struct {
		Size int `json:"size"`
	}
	resource struct {
		Type          string     `json:"type"`
		ID            string     `json:"id"`
		Attributes    attributes `json:"attributes"`
		Relationships struct {
			Events struct {
				Links struct {
					Related string `json:"related"`
				} `json:"links"`
			} `json:"events"`
		} `json:"relationships"`
		Links struct {
			Self string `json:"self"`
		} `json:"links"`
	}
	attributes struct {
		CompletedAt       *time.Time      `json:"completed_at"`
		CreatedAt         time.Time       `json:"created_at"`
		DueAt             time.Time       `json:"due_at"`
		Initiator         json.RawMessage `json:"initiator"`
		PartialFailures   json.RawMessage `json:"partial_failures"`
		Reason            *string         `json:"reason"`
		ResourceID        string          `json:"resource_id"`
		ResourceType      string          `json:"resource_type"`
		ServicesErased    json.RawMessage `json:"services_erased"`
		Status            string          `json:"status"`
		StatusDescription string          `json:"status_description"`
		UpdatedAt         time.Time       `json:"updated_at"`
	}
)

const collection = "/v2/personal-data/erasure-requests"

func base(r *http.Request) string { return "http://" + r.Host }

// resourceOf is r as erasured represents it, with its status in Elastic Path's view.
func resourceOf(b string, r *row) resource {
	var out resource
	out.Type, out.ID = "erasure_request", r.ID
	self := b + collection + "/" + r.ID
	out.Links.Self = self
	out.Relationships.Events.Links.Related = self + "/events"
	a := &out.Attributes
	a.CreatedAt, a.UpdatedAt, a.DueAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC(), r.DueAt.UTC()
	if r.CompletedAt != nil {
		t := r.CompletedAt.UTC()
		a.CompletedAt = &t
	}
	a.Initiator, a.PartialFailures, a.ServicesErased = r.Initiator, r.PartialFailures, r.ServicesErased
	a.Reason, a.ResourceID, a.ResourceType = r.Reason, r.ResourceID, r.ResourceType
	switch {
	case r.Status == "pending":
		a.Status, a.StatusDescription = "CREATED", "The erasure request successfully created"
	case r.Status == "in_progress":
		a.Status, a.StatusDescription = "IN_PROGRESS", "The erasure request is being processed"
	case bytes.Equal(bytes.TrimSpace(r.PartialFailures), []byte("[]")):
		a.Status, a.StatusDescription = "SUCCESS", "The erasure request is successfully processed"
	default:
		a.Status, a.StatusDescription = "FAILURE", "There was an error processing your request, you can retry it or report it using the id"
	}
	return out
}

// list answers a list request with the captured statement its query's shape names.
func (s *server) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	name := "first"
	switch {
	case q.Has("filter"):
		name = "filtered"
	case q.Has("page[after]") && q.Get("sort") == "completed_at":
		name = "completed"
	case q.Has("page[after]"):
		name = "deep"
	case q.Has("page[offset]"):
		name = "offset"
	}
	req, ok := s.reqs[name]
	if !ok {
		http.Error(w, "no captured statement for this request", http.StatusNotFound)
		return
	}
	rows, t, err := s.read(r.Context(), req)
	if err != nil {
		s.fail(w, err)
		return
	}
	b := base(r)
	link := func(v url.Values) *string {
		u := b + collection + "?" + v.Encode()
		return &u
	}
	var doc document
	doc.JSONAPI.Version = "1.1"
	doc.Meta = &meta{}
	doc.Meta.Results.Total, doc.Meta.Results.Estimated = t.N, t.Estimated
	doc.Links.Self = *link(q)
	doc.Links.DescribedBy = b + "/openapi.json"
	if name == "first" || name == "deep" || name == "completed" {
		size := intParam(q, "page[size]", 25)
		more := len(rows) > size
		rows = rows[:min(len(rows), size)]
		doc.Meta.Page = cursorPage{Size: size}
		first := without(q, "page[after]", "page[before]")
		doc.Links.First = link(first)
		sort := q.Get("sort")
		if sort == "" {
			sort = "created_at"
		}
		if more {
			next := without(q, "page[after]", "page[before]")
			next.Set("page[after]", cursor(sort, &rows[len(rows)-1]))
			doc.Links.Next = link(next)
		}
		if q.Has("page[after]") && len(rows) > 0 {
			prev := without(q, "page[after]", "page[before]")
			prev.Set("page[before]", cursor(sort, &rows[0]))
			doc.Links.Prev = link(prev)
		}
	} else {
		limit, offset := intParam(q, "page[limit]", 25), intParam(q, "page[offset]", 0)
		pages := (t.N + int64(limit) - 1) / int64(limit)
		doc.Meta.Page = offsetPage{Limit: limit, Offset: offset, Current: offset/limit + 1, Total: pages}
		at := func(o int) *string {
			v := without(q)
			v.Set("page[limit]", strconv.Itoa(limit))
			v.Set("page[offset]", strconv.Itoa(o))
			return link(v)
		}
		doc.Links.First = at(0)
		doc.Links.Last = at(int(max(pages-1, 0)) * limit)
		if offset > 0 {
			doc.Links.Prev = at(max(offset-limit, 0))
		}
		if int64(offset+limit) < t.N {
			doc.Links.Next = at(offset + limit)
		}
	}
	data := make([]resource, len(rows))
	for i := range rows {
		data[i] = resourceOf(b, &rows[i])
	}
	doc.Data = data
	write(w, http.StatusOK, &doc)
}

// get answers GET one with the captured statement.
func (s *server) get(w http.ResponseWriter, r *http.Request) {
	req, ok := s.reqs["get"]
	if !ok {
		http.Error(w, "no captured statement for this request", http.StatusNotFound)
		return
	}
	rows, _, err := s.read(r.Context(), req)
	if err != nil {
		s.fail(w, err)
		return
	}
	if len(rows) == 0 {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	s.one(w, r, http.StatusOK, &rows[0])
}

// create decodes the body, runs the captured statements of a create in a transaction
// with a new id, and answers with the record.
func (s *server) create(w http.ResponseWriter, r *http.Request) {
	req, ok := s.reqs["post"]
	if !ok {
		http.Error(w, "no captured statement for this request", http.StatusNotFound)
		return
	}
	var in struct {
		Data struct {
			Type       string `json:"type"`
			Attributes struct {
				ResourceType string  `json:"resource_type"`
				ResourceID   string  `json:"resource_id"`
				Reason       *string `json:"reason"`
			} `json:"attributes"`
		} `json:"data"`
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(body, &in)
	}
	a := in.Data.Attributes
	if err != nil || in.Data.Type != "erasure_request" || a.ResourceType == "" || a.ResourceID == "" {
		http.Error(w, "a body with type erasure_request, resource_type and resource_id", http.StatusBadRequest)
		return
	}
	id := uuid()
	if err := s.db.exec(r.Context(), req.stmts, id); err != nil {
		s.fail(w, err)
		return
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	rec := row{ID: id, ResourceType: a.ResourceType, ResourceID: a.ResourceID, Reason: a.Reason, Status: "pending",
		ServicesErased: []byte("[]"), PartialFailures: []byte("[]"), Initiator: req.initiator,
		CreatedAt: now, UpdatedAt: now, DueAt: now.Add(720 * time.Hour), Version: 1}
	w.Header().Set("Location", base(r)+collection+"/"+id)
	s.one(w, r, http.StatusCreated, &rec)
}

func (s *server) one(w http.ResponseWriter, r *http.Request, status int, rec *row) {
	res := resourceOf(base(r), rec)
	doc := struct {
		JSONAPI struct {
			Version string `json:"version"`
		} `json:"jsonapi"`
		Data  resource `json:"data"`
		Links oneLinks `json:"links"`
	}{Data: res, Links: oneLinks{DescribedBy: base(r) + "/openapi.json", Self: res.Links.Self}}
	doc.JSONAPI.Version = "1.1"
	w.Header().Set("ETag", `"`+strconv.FormatInt(rec.Version, 10)+`"`)
	write(w, status, &doc)
}

func (s *server) fail(w http.ResponseWriter, err error) {
	log.Printf("reference: %v", err)
	http.Error(w, "database error", http.StatusInternalServerError)
}

func write(w http.ResponseWriter, status int, doc any) {
	b, err := json.Marshal(doc)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/vnd.api+json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func intParam(q url.Values, name string, def int) int {
	if n, err := strconv.Atoi(q.Get(name)); err == nil && n > 0 {
		return n
	}
	return def
}

// without returns a copy of q less the names.
func without(q url.Values, names ...string) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = v
	}
	for _, n := range names {
		delete(out, n)
	}
	return out
}

// cursor encodes the position after r in a list sorted by sort as erasured does: the
// base64url of {"v":1,"s":SORT,"k":[KEY,ID]}.
func cursor(sort string, r *row) string {
	var key *string
	switch sort {
	case "completed_at":
		if r.CompletedAt != nil {
			k := r.CompletedAt.UTC().Format(time.RFC3339Nano)
			key = &k
		}
	default:
		k := r.CreatedAt.UTC().Format(time.RFC3339Nano)
		key = &k
	}
	b, _ := json.Marshal(struct {
		V int       `json:"v"`
		S string    `json:"s"`
		K []*string `json:"k"`
	}{1, sort, []*string{key, &r.ID}})
	return base64.RawURLEncoding.EncodeToString(b)
}

// uuid returns a random (version 4) UUID.
func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
