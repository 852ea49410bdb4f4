// Command capture writes, for each request that bench/run.sh measures, the SQL that
// erasured runs for it, as a pgbench script and its variables: so that pgbench measures
// the database doing exactly the server's work, and nothing else.
//
// It makes the same storage calls as the handlers, in the same order, through a
// storage.DB whose statement hook records each statement with its arguments. Each call
// is made once beforehand so that what it caches (a store's estimated size) is cached,
// as in a running server. The key look-up of authentication is not recorded: the server
// caches keys (--key-cache-ttl), so a request under load does not look its key up.
//
//	go run ./bench/capture --database-url URL --token T --out DIR \
//	    --filter F --after CURSOR --after-completed CURSOR --id ID
//
// For each name (filtered, offset, first, deep, completed, get, post) it writes NAME.sql, with the
// statements' placeholders $n turned into pgbench variables :pn (NULLs written inline),
// each statement ending in ";" and a newline, and NAME.args, one -Dpn=value per line for
// pgbench. The POST script mints its uuid with one more statement (pgbench cannot make
// one), which the server does in Go. bench/reference reads the same files.
package main

import (
	"context"
	"database/sql/driver"
	"flag"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/filters"
	"github.com/erasured/erasured/pagination"
	"github.com/erasured/erasured/storage"
)

type statement struct {
	query string
	args  []any
}

func main() {
	dbURL := flag.String("database-url", "", "the benchmark's PostgreSQL database")
	token := flag.String("token", "", "the API key the load tool uses")
	out := flag.String("out", ".", "directory for the scripts")
	filter := flag.String("filter", "", "the filter of the filtered list page")
	after := flag.String("after", "", "the cursor of the deep cursor page")
	afterCompleted := flag.String("after-completed", "", "the cursor of the deep cursor page sorted by completed_at")
	id := flag.String("id", "", "the erasure request of the single GET")
	flag.Parse()
	if err := capture(context.Background(), *dbURL, *token, *out, *filter, *after, *afterCompleted, *id); err != nil {
		fmt.Fprintln(os.Stderr, "capture:", err)
		os.Exit(1)
	}
}

func capture(ctx context.Context, dbURL, token, out, filter, after, afterCompleted, id string) error {
	var recorded []statement
	db, err := storage.Open(ctx, dbURL, storage.WithStatementHook(func(q string, args []any) {
		recorded = append(recorded, statement{q, append([]any(nil), args...)})
	}))
	if err != nil {
		return err
	}
	defer db.Close()

	expr, err := filters.Parse(filter, erasured.ErasureRequests.Filters())
	if err != nil {
		return err
	}
	// The handlers read page parameters with package pagination; so does this.
	deep, err := pagination.ParseCursor(url.Values{"page[size]": {"25"}, "page[after]": {after}}, 25)
	if err != nil {
		return err
	}
	deepCompleted, err := pagination.ParseCursor(url.Values{"page[size]": {"25"}, "page[after]": {afterCompleted}}, 25)
	if err != nil {
		return err
	}
	key, err := db.KeyByToken(ctx, erasured.HashToken(token), erasured.Now())
	if err != nil {
		return err
	}
	list := func(opts storage.ListOptions) func() (string, error) {
		return func() (string, error) {
			opts.StoreID = key.StoreID
			_, err := db.ErasureRequestPage(ctx, opts)
			return "", err
		}
	}
	requests := []struct {
		name string
		run  func() (newID string, err error)
	}{
		{"filtered", list(storage.ListOptions{Filter: expr, Page: pagination.Page{Limit: 25}})},
		{"offset", list(storage.ListOptions{Page: pagination.Page{Offset: 10000, Limit: 25}})},
		{"first", list(storage.ListOptions{Cursor: &pagination.CursorPage{Size: 25}})},
		{"deep", list(storage.ListOptions{Cursor: deep})},
		{"completed", list(storage.ListOptions{Sort: []erasured.Sort{{Attribute: "completed_at"}}, Cursor: deepCompleted})},
		{"get", func() (string, error) {
			_, err := db.ErasureRequest(ctx, key.StoreID, id)
			return "", err
		}},
		{"post", func() (string, error) {
			r := erasured.NewErasureRequest(key, erasured.Values{"resource_type": "account", "resource_id": "bench-capture"}, erasured.Now(), 720*time.Hour)
			_, err := db.CreateErasureRequest(ctx, r, nil)
			return r.ID, err
		}},
	}
	for _, req := range requests {
		if _, err := req.run(); err != nil { // warm what the server would have cached
			return fmt.Errorf("%s: %w", req.name, err)
		}
		recorded = nil
		newID, err := req.run()
		if err != nil {
			return fmt.Errorf("%s: %w", req.name, err)
		}
		if err := write(filepath.Join(out, req.name), recorded, newID); err != nil {
			return err
		}
	}
	return nil
}

var placeholder = regexp.MustCompile(`\$([0-9]+)`)

// write saves stmts as NAME.sql and NAME.args. When newID is set, the request created
// a row: an argument equal to it becomes :id, minted per run of the script, and the
// statements run in one transaction, as the server's create does.
func write(name string, stmts []statement, newID string) error {
	var script strings.Builder
	var vars []string
	if newID != "" {
		script.WriteString("SELECT gen_random_uuid() AS id \\gset\nBEGIN;\n")
	}
	n := 0
	for _, st := range stmts {
		names := make([]string, len(st.args))
		for i, a := range st.args {
			v, null, err := text(a)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			switch {
			case null:
				names[i] = "NULL"
			case newID != "" && v == newID:
				names[i] = ":id"
			default:
				n++
				names[i] = ":p" + strconv.Itoa(n)
				vars = append(vars, fmt.Sprintf("-Dp%d=%s", n, v))
			}
		}
		q := placeholder.ReplaceAllStringFunc(st.query, func(m string) string {
			i, _ := strconv.Atoi(m[1:])
			return names[i-1]
		})
		script.WriteString(q + ";\n")
	}
	if newID != "" {
		script.WriteString("COMMIT;\n")
	}
	if err := os.WriteFile(name+".sql", []byte(script.String()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(name+".args", []byte(strings.Join(vars, "\n")+"\n"), 0o644)
}

// text is an argument as PostgreSQL receives it from lib/pq: text.
func text(a any) (string, bool, error) {
	if v, ok := a.(driver.Valuer); ok {
		var err error
		if a, err = v.Value(); err != nil {
			return "", false, err
		}
	}
	switch v := a.(type) {
	case nil:
		return "", true, nil
	case *string:
		if v == nil {
			return "", true, nil
		}
		return *v, false, nil
	case string:
		return v, false, nil
	case []byte:
		return string(v), false, nil
	case time.Time:
		return v.Format(time.RFC3339Nano), false, nil
	case int, int64, bool, float64:
		return fmt.Sprint(v), false, nil
	}
	return "", false, fmt.Errorf("argument of type %T", a)
}
