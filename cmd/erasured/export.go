package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/filters"
	"github.com/erasured/erasured/pagination"
	"github.com/erasured/erasured/resources"
	"github.com/erasured/erasured/resources/jsonapi"
	"github.com/erasured/erasured/storage"
)

// erasured export streams every record of one type that matches a filter to stdout,
// one page at a time, so that its memory does not grow with the collection. It reads
// through a server's API (--server) or straight from the database.
//
// The order is (created_at, id), oldest first, by cursor: a record's created_at and id
// never change, so updates cannot move a record across the cursor, and records created
// meanwhile land after records that already existed. Every record that exists when the
// export starts and is not deleted before it is read is written exactly once. A record
// created during the export is written at most once: it is missed when its created_at
// is earlier than the cursor by the time it commits (a writer's clock behind the
// exporter's progress, or a transaction that commits long after it took its time).

// exportPageSize is the page size through the API: the largest it allows.
const exportPageSize = pagination.MaxSize

// exportDBPageSize is the page size straight from the database: a thousand rows cost
// little memory and a thousandth of the round trips of one-row pages.
const exportDBPageSize = 1000

// exportType is what export knows of one resource type: where the API serves it, the
// attributes of its representation in order, what --filter may name, and how to read
// its pages straight from the database, each record as the API represents it.
type exportType struct {
	path    string
	columns []string
	filters []filters.Attribute
	read    func(db *storage.DB) func(context.Context, storage.ListOptions) ([]record, storage.PageInfo, error)
}

var exportTypes = map[string]exportType{
	erasured.ErasureRequests.Name: exportOf(resources.ErasureRequestsPath, erasured.ErasureRequests, (*storage.DB).ErasureRequestPage),
	erasured.Requests.Name:        exportOf(resources.RequestsPath, erasured.Requests, (*storage.DB).RequestPage),
}

// exportOf is what export knows of typ, served at path and listed by list. Both modes
// write the same bytes: the attributes that typ.Read yields, encoded as the API encodes
// them (jsonapi.AppendValue).
func exportOf[T any](path string, typ *erasured.Type[T], list func(*storage.DB, context.Context, storage.ListOptions) (*storage.Page[*T], error)) exportType {
	columns := typ.Named(erasured.Read)
	return exportType{
		path:    path,
		columns: columns,
		filters: typ.Filters(),
		read: func(db *storage.DB) func(context.Context, storage.ListOptions) ([]record, storage.PageInfo, error) {
			return func(ctx context.Context, opts storage.ListOptions) ([]record, storage.PageInfo, error) {
				p, err := list(db, ctx, opts)
				if err != nil {
					return nil, storage.PageInfo{}, err
				}
				out := make([]record, len(p.Items))
				for i, item := range p.Items {
					out[i] = record{id: typ.IDOf(item), values: make([]json.RawMessage, 0, len(columns))}
					for _, v := range typ.Read(item) {
						b, err := jsonapi.AppendValue(nil, v)
						if err != nil {
							return nil, storage.PageInfo{}, fmt.Errorf("record %s: %w", out[i].id, err)
						}
						out[i].values = append(out[i].values, b)
					}
				}
				return out, p.PageInfo, nil
			}
		},
	}
}

// record is one exported resource: its id, and its attributes as JSON values in the
// order of its type's columns (nil for an attribute the source did not have).
type record struct {
	id     string
	values []json.RawMessage
}

// source yields the pages of an export. next returns the next page's records, and
// false once there are none left; total is the size of the export, once known.
type source interface {
	next(ctx context.Context) ([]record, bool, error)
	total() (n int, estimated bool)
}

func export(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	f := newFlags("export", getenv)
	typeName := f.String("type", "", "what to export: erasure_request or requests")
	filter := f.String("filter", "", "only the records that match, as the filter query parameter writes it")
	format := f.String("format", "ndjson", "ndjson (one JSON object per line: id and attributes) or csv (with a header row)")
	server := f.String("server", "", "read through the API of the server at this URL, e.g. https://erasure.example.com, "+
		"with the API key (the type's read scope) in the environment variable ERASURED_TOKEN or in --token-file")
	f.fromEnv("server", "ERASURED_SERVER")
	tokenFile := f.String("token-file", "", "read the API key for --server from this file, instead of ERASURED_TOKEN")
	f.fromEnv("token-file", "ERASURED_TOKEN_FILE")
	dbURL := f.databaseURL()
	store := f.String("store", "", "the store to export, when reading the database directly")
	f.fromEnv("store", "ERASURED_STORE")
	if err := f.parse(args); err != nil {
		return err
	}
	typ, ok := exportTypes[*typeName]
	if !ok {
		return fmt.Errorf("--type must be erasure_request or requests, got %q", *typeName)
	}
	if *format != "ndjson" && *format != "csv" {
		return fmt.Errorf("--format must be ndjson or csv, got %q", *format)
	}

	var src source
	if *server != "" {
		token, err := apiToken(*tokenFile, getenv)
		if err != nil {
			return err
		}
		s, err := newHTTPSource(*server, token, typ, *typeName, *filter)
		if err != nil {
			return err
		}
		src = s
	} else {
		if *store == "" {
			return errors.New("reading the database needs --store (or ERASURED_STORE); or give --server and --token")
		}
		expr, err := filters.Parse(*filter, typ.filters)
		if err != nil {
			return fmt.Errorf("--filter: %w", err)
		}
		db, err := storage.Open(ctx, *dbURL)
		if err != nil {
			return fmt.Errorf("database: %w", err)
		}
		defer db.Close()
		src = &dbSource{read: typ.read(db), opts: storage.ListOptions{
			StoreID: *store, Filter: expr, Sort: []erasured.Sort{{Attribute: "created_at"}},
			Cursor: &pagination.CursorPage{Size: exportDBPageSize},
		}}
	}
	return writeExport(ctx, src, typ, *format, stdout, stderr)
}

// apiToken returns the API key for --server: the contents of tokenFile when there is
// one, else ERASURED_TOKEN. There is no flag that takes the key itself: every user of
// the machine can read a command line (ps, /proc), and shells keep it in their history.
func apiToken(tokenFile string, getenv func(string) string) (string, error) {
	fromEnv := getenv("ERASURED_TOKEN")
	if tokenFile == "" {
		if fromEnv == "" {
			return "", errors.New("--server needs an API key: set ERASURED_TOKEN, or give --token-file")
		}
		return fromEnv, nil
	}
	if fromEnv != "" {
		return "", errors.New("ERASURED_TOKEN and --token-file both give an API key: give one")
	}
	b, err := os.ReadFile(tokenFile)
	if err != nil {
		return "", fmt.Errorf("--token-file: %w", err)
	}
	token := strings.TrimSpace(string(b))
	if token == "" {
		return "", fmt.Errorf("--token-file: %s is empty", tokenFile)
	}
	return token, nil
}

// runExport writes every record of src to stdout, flushing after each page, with a
// progress bar on stderr when stderr is a terminal.
func writeExport(ctx context.Context, src source, typ exportType, format string, stdout, stderr io.Writer) error {
	out := bufio.NewWriter(stdout)
	var w recordWriter = &ndjsonWriter{out: out, columns: typ.columns}
	if format == "csv" {
		cw := &csvWriter{w: csv.NewWriter(out), columns: typ.columns}
		if err := cw.header(); err != nil {
			return err
		}
		w = cw
	}
	bar := startProgress(stderr)
	for {
		page, more, err := src.next(ctx)
		if err != nil {
			return err
		}
		for _, r := range page {
			if err := w.write(r); err != nil {
				return fmt.Errorf("write: %w", err)
			}
		}
		if err := w.flush(); err != nil {
			return fmt.Errorf("write: %w", err)
		}
		n, estimated := src.total()
		bar.page(len(page), n, estimated)
		if !more {
			break
		}
	}
	bar.finish()
	return nil
}

type recordWriter interface {
	write(record) error
	flush() error
}

// ndjsonWriter writes {"id":…,"attribute":…,…} lines, attributes in column order.
type ndjsonWriter struct {
	out     *bufio.Writer
	columns []string
}

func (w *ndjsonWriter) write(r record) error {
	id, err := json.Marshal(r.id)
	if err != nil {
		return err
	}
	w.out.WriteString(`{"id":`)
	w.out.Write(id)
	for i, c := range w.columns {
		w.out.WriteString(`,"` + c + `":`) // column names are fixed identifiers
		if v := r.values[i]; v != nil {
			w.out.Write(v)
		} else {
			w.out.WriteString("null")
		}
	}
	_, err = w.out.WriteString("}\n")
	return err
}

func (w *ndjsonWriter) flush() error { return w.out.Flush() }

// csvWriter writes a header row, then one row per record: text as it is, null as an
// empty cell, and numbers, objects and arrays as their JSON.
type csvWriter struct {
	w       *csv.Writer
	columns []string
	row     []string
}

func (w *csvWriter) header() error { return w.w.Write(append([]string{"id"}, w.columns...)) }

func (w *csvWriter) write(r record) error {
	w.row = append(w.row[:0], r.id)
	for _, v := range r.values {
		cell, err := csvCell(v)
		if err != nil {
			return err
		}
		w.row = append(w.row, cell)
	}
	return w.w.Write(w.row)
}

func (w *csvWriter) flush() error {
	w.w.Flush()
	return w.w.Error()
}

func csvCell(v json.RawMessage) (string, error) {
	switch {
	case v == nil || string(v) == "null":
		return "", nil
	case v[0] == '"':
		var s string
		err := json.Unmarshal(v, &s)
		return s, err
	}
	return string(v), nil
}

// httpSource follows links.next through a server's API, from the first page of the
// collection sorted by created_at.
type httpSource struct {
	client    *http.Client
	token     string
	typeName  string
	columns   []string
	nextURL   string
	n         int
	estimated bool
}

func newHTTPSource(server, token string, typ exportType, typeName, filter string) (*httpSource, error) {
	base, err := url.Parse(strings.TrimRight(server, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("--server must be an http:// or https:// URL, got %q", server)
	}
	q := url.Values{"sort": {"created_at"}, "page[size]": {strconv.Itoa(exportPageSize)}}
	if filter != "" {
		q.Set("filter", filter)
	}
	return &httpSource{
		client:   &http.Client{Timeout: time.Minute},
		token:    token,
		typeName: typeName,
		columns:  typ.columns,
		nextURL:  base.String() + typ.path + "?" + q.Encode(),
	}, nil
}

func (s *httpSource) total() (int, bool) { return s.n, s.estimated }

// listDoc is what export reads of a collection document.
type listDoc struct {
	Data []struct {
		Type       string                     `json:"type"`
		ID         string                     `json:"id"`
		Attributes map[string]json.RawMessage `json:"attributes"`
	} `json:"data"`
	Links struct {
		Next *string `json:"next"`
	} `json:"links"`
	Meta struct {
		Results struct {
			Total     int  `json:"total"`
			Estimated bool `json:"estimated"`
		} `json:"results"`
	} `json:"meta"`
}

func (s *httpSource) next(ctx context.Context) ([]record, bool, error) {
	body, err := s.get(ctx, s.nextURL)
	if err != nil {
		return nil, false, err
	}
	var doc listDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, false, fmt.Errorf("GET %s: the answer is not a JSON:API document: %w", s.nextURL, err)
	}
	s.n, s.estimated = doc.Meta.Results.Total, doc.Meta.Results.Estimated
	page := make([]record, len(doc.Data))
	for i, res := range doc.Data {
		if res.Type != s.typeName {
			return nil, false, fmt.Errorf("GET %s: the server sent a resource of type %q, not %q", s.nextURL, res.Type, s.typeName)
		}
		page[i] = record{id: res.ID, values: make([]json.RawMessage, len(s.columns))}
		for j, c := range s.columns {
			page[i].values[j] = res.Attributes[c]
		}
	}
	if doc.Links.Next == nil {
		return page, false, nil
	}
	s.nextURL = *doc.Links.Next
	return page, true, nil
}

// get fetches one page. A 429 or 503 is retried a few times, after the Retry-After the
// server asks for: a long export should outlast a rate limit or a database failover.
// Any other failure is final, and its error says what the server said.
func (s *httpSource) get(ctx context.Context, u string) ([]byte, error) {
	const attempts = 5
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", u, err)
		}
		req.Header.Set("Authorization", "Bearer "+s.token)
		req.Header.Set("Accept", "application/vnd.api+json")
		resp, err := s.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("GET %s: %w", u, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("GET %s: reading the answer: %w", u, err)
		}
		if resp.StatusCode == http.StatusOK {
			return body, nil
		}
		retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable
		if !retry || attempt == attempts {
			return nil, fmt.Errorf("GET %s: the server answered %s%s", u, resp.Status, errorDetails(body))
		}
		wait := 5 * time.Second
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs >= 0 && secs <= 60 {
			wait = time.Duration(secs) * time.Second
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// errorDetails is what a JSON:API error document says, for an error message.
func errorDetails(body []byte) string {
	var doc struct {
		Errors []struct {
			Detail string `json:"detail"`
			Source struct {
				Parameter string `json:"parameter"`
			} `json:"source"`
		} `json:"errors"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Errors) == 0 {
		if s := strings.TrimSpace(string(body)); s != "" {
			return ": " + strings.Join(strings.Fields(s[:min(len(s), 200)]), " ")
		}
		return ""
	}
	var parts []string
	for _, e := range doc.Errors {
		p := e.Detail
		if e.Source.Parameter != "" {
			p += " (" + e.Source.Parameter + ")"
		}
		parts = append(parts, p)
	}
	return ": " + strings.Join(parts, "; ")
}

// dbSource reads keyset pages straight from storage.
type dbSource struct {
	read func(context.Context, storage.ListOptions) ([]record, storage.PageInfo, error)
	opts storage.ListOptions
	info storage.PageInfo
}

func (s *dbSource) total() (int, bool) { return s.info.Total, s.info.Estimated }

func (s *dbSource) next(ctx context.Context) ([]record, bool, error) {
	page, info, err := s.read(ctx, s.opts)
	if err != nil {
		return nil, false, err
	}
	s.info = info
	s.opts.Cursor = &pagination.CursorPage{Size: s.opts.Cursor.Size, After: info.Last}
	return page, info.More, nil
}
