package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
)

// seedErasures writes n erasure requests of store straight into the table, a
// millisecond apart and an hour ago, a hundred rows per statement: enough records for
// several pages in either mode, fast on both stores. Their ids are returned.
func seedErasures(t *testing.T, dbURL, store string, n int) []string {
	t.Helper()
	raw := storagetest.SQL(t, dbURL)
	start := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	var ids []string
	for len(ids) < n {
		var (
			rows []string
			args []any
		)
		for i := len(ids); i < min(n, len(ids)+100); i++ {
			id := erasured.NewID()
			at := start.Add(time.Duration(i) * time.Millisecond).Format("2006-01-02T15:04:05.000000Z")
			rows = append(rows, "(?, ?, ?, ?, 'pending', ?, ?, ?, ?)")
			args = append(args, id, store, erasured.ResourceTypes[i%8], fmt.Sprintf("person-%04d", i),
				`{"access-token-name":"seed"}`, at, at, at)
			ids = append(ids, id)
		}
		_, err := raw.Exec(raw.Rebind(`INSERT INTO erasure_requests
			(id, store_id, resource_type, resource_id, status, initiator, created_at, updated_at, due_at) VALUES `+
			strings.Join(rows, ", ")), args...)
		if err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// churn creates and updates erasure requests of store until stop is closed, as busy
// clients would during an export, and reports what it created.
func churn(t *testing.T, db *storage.DB, store string, existing []string, stop <-chan struct{}) (created func() []string) {
	t.Helper()
	key, _, err := erasured.NewKey("churn", "churn@example.com", store, erasured.AllScopes, erasured.Now())
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu  sync.Mutex
		out []string
		wg  sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		ctx := context.Background()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			r := erasured.NewErasureRequest(key, erasured.Values{"resource_type": "user", "resource_id": fmt.Sprintf("new-%d", i)}, erasured.Now(), time.Hour)
			_, err := db.CreateErasureRequest(ctx, r, nil)
			if err == nil {
				mu.Lock()
				out = append(out, r.ID)
				mu.Unlock()
				// Updates change updated_at and the status, never created_at: they must
				// not move a record across the cursor.
				_, err = db.UpdateErasureRequest(ctx, store, existing[(i*37)%len(existing)], "churn", nil,
					erasured.Report{ServicesErased: []string{fmt.Sprintf("svc-%d", i%5)}})
			}
			if err != nil {
				t.Error(err)
				return
			}
		}
	}()
	return func() []string {
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return out
	}
}

// exportedIDs reads the ids an export wrote, in order.
func exportedIDs(t *testing.T, format string, out []byte) []string {
	t.Helper()
	var ids []string
	switch format {
	case "ndjson":
		for line := range bytes.Lines(out) {
			var rec map[string]any
			if err := json.Unmarshal(line, &rec); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			ids = append(ids, rec["id"].(string))
		}
	case "csv":
		rows, err := csv.NewReader(bytes.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) == 0 || strings.Join(rows[0], ",") != "id,"+strings.Join(exportTypes["erasure_request"].columns, ",") {
			t.Fatalf("csv header %v", rows[:min(1, len(rows))])
		}
		for _, row := range rows[1:] {
			ids = append(ids, row[0])
		}
	}
	return ids
}

func TestExportWhileOthersWrite(t *testing.T) {
	t.Parallel()
	for _, kind := range storagetest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			dbURL := storagetest.URL(t, kind)
			// With no other services the erasure worker would complete the seeded
			// requests, and a completed request refuses the churn's reports: a service
			// that never reports keeps them open, while the worker still works on them.
			m, out := start(t, []string{"--erasure-services", "never-reports"}, map[string]string{"DATABASE_URL": dbURL})
			token := tokenRE.FindString(out.String())
			existing := seedErasures(t, dbURL, "default", 1234)

			for _, mode := range []struct {
				name string
				args []string
			}{
				{"server", []string{"--server", "http://" + m.Addr()}},
				{"database", []string{"--database-url", dbURL, "--store", "default"}},
			} {
				for _, format := range []string{"ndjson", "csv"} {
					stop := make(chan struct{})
					created := churn(t, m.db, "default", existing, stop)
					var stdout, stderr bytes.Buffer
					err := run(context.Background(), append([]string{"export", "--type", "erasure_request", "--format", format}, mode.args...),
						&stdout, &stderr, env(map[string]string{"ERASURED_TOKEN": token}))
					close(stop)
					if err != nil {
						t.Fatalf("%s %s: %v: %s", mode.name, format, err, stderr.String())
					}
					if stderr.Len() > 0 {
						t.Errorf("%s %s: stderr is not a terminal, yet export wrote to it: %q", mode.name, format, stderr.String())
					}
					seen := map[string]int{}
					for _, id := range exportedIDs(t, format, stdout.Bytes()) {
						seen[id]++
					}
					for _, id := range existing {
						if seen[id] != 1 {
							t.Errorf("%s %s: record %s written %d times", mode.name, format, id, seen[id])
						}
					}
					newOnes := created()
					for _, id := range newOnes {
						if seen[id] > 1 {
							t.Errorf("%s %s: new record %s written %d times", mode.name, format, id, seen[id])
						}
					}
					if len(seen) > len(existing)+len(newOnes) {
						t.Errorf("%s %s: %d records written; %d existed and %d were added", mode.name, format, len(seen), len(existing), len(newOnes))
					}
					t.Logf("%s %s: %d records, %d created during the export", mode.name, format, len(seen), len(newOnes))
					existing = append(existing, newOnes...) // they exist when the next export starts
				}
			}
		})
	}
}

// TestExportModesAgree: what the API shows and what the database holds, written the
// same way, are the same bytes.
func TestExportModesAgree(t *testing.T) {
	t.Parallel()
	dbURL := storagetest.URL(t, "postgres")
	m, out := start(t, nil, map[string]string{"DATABASE_URL": dbURL})
	token := tokenRE.FindString(out.String())
	seedErasures(t, dbURL, "default", 150)
	key, _, err := erasured.NewKey("ops <&>", "ops@example.com", "default", erasured.AllScopes, erasured.Now())
	if err != nil {
		t.Fatal(err)
	}
	reason := `she said "<erase> & forget"`
	r := erasured.NewErasureRequest(key, erasured.Values{"resource_type": "account", "resource_id": "a,b\nc", "reason": reason}, erasured.Now(), time.Hour)
	if _, err := m.db.CreateErasureRequest(context.Background(), r, nil); err != nil {
		t.Fatal(err)
	}
	completed := erasured.StatusCompleted
	if _, err := m.db.UpdateErasureRequest(context.Background(), "default", r.ID, "ops", nil, erasured.Report{
		Status: &completed, PartialFailures: []erasured.PartialFailure{{Service: "crm", Message: "timeout"}}}); err != nil {
		t.Fatal(err)
	}
	// The server's erasure worker changes each request once, when it erases what the
	// server holds; once it has done all of them, nothing changes the requests between
	// the two exports.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		b, err := m.db.Backlog(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if b.Erasures.Pending == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the erasure worker left %d requests to do", b.Erasures.Pending)
		}
	}
	for _, format := range []string{"ndjson", "csv"} {
		var viaAPI, viaDB, stderr bytes.Buffer
		for _, c := range []struct {
			out  *bytes.Buffer
			args []string
		}{
			{&viaAPI, []string{"--server", "http://" + m.Addr()}},
			{&viaDB, []string{"--database-url", dbURL, "--store", "default"}},
		} {
			args := append([]string{"export", "--type", "erasure_request", "--format", format, "--filter", "ge(created_at,2000-01-01T00:00:00Z)"}, c.args...)
			if err := run(context.Background(), args, c.out, &stderr, env(map[string]string{"ERASURED_TOKEN": token})); err != nil {
				t.Fatalf("%v: %v", c.args, err)
			}
		}
		if viaAPI.String() != viaDB.String() {
			t.Errorf("%s: the modes differ:\nAPI: %.600s\n DB: %.600s", format, viaAPI.String(), viaDB.String())
		}
		if n := strings.Count(viaAPI.String(), "\n"); n < 151 {
			t.Errorf("%s: %d lines", format, n)
		}
		if !strings.Contains(viaAPI.String(), r.ID) || !strings.Contains(viaAPI.String(), "FAILURE") {
			t.Errorf("%s: the completed request is missing", format)
		}
	}
}

func TestExportRequestsFromTheDatabase(t *testing.T) {
	t.Parallel()
	dbURL := storagetest.URL(t, "sqlite")
	storagetest.OpenURL(t, dbURL) // migrated
	raw := storagetest.SQL(t, dbURL)
	for i := range 3 {
		storagetest.InsertRequest(t, raw, "s1", fmt.Sprintf("r-%d", i), "alice")
	}
	storagetest.InsertRequest(t, raw, "s2", "other", "bob")
	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), []string{"export", "--type", "requests", "--database-url", dbURL, "--store", "s1",
		"--filter", "eq(requested_by,alice)"}, &stdout, &stderr, env(nil)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var first map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if len(lines) != 3 || first["id"] != "r-0" || first["request_id"] != "r-0" || first["requested_by"] != "alice" ||
		fmt.Sprint(first["metadata"]) != "map[author:alice]" || first["note_id"] != nil {
		t.Errorf("requests export:\n%s", stdout.String())
	}
}

func TestExportErrors(t *testing.T) {
	t.Parallel()
	dbURL := storagetest.URL(t, "sqlite")
	m, out := start(t, nil, map[string]string{"DATABASE_URL": dbURL})
	token := tokenRE.FindString(out.String())
	server := "http://" + m.Addr()
	withToken := map[string]string{"ERASURED_TOKEN": token}
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyFile := filepath.Join(t.TempDir(), "empty")
	if err := os.WriteFile(emptyFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		env  map[string]string
		want string
	}{
		{[]string{"--type", "people", "--server", server}, withToken, "--type must be"},
		{[]string{"--type", "erasure_request", "--format", "xml", "--server", server}, withToken, "--format must be"},
		{[]string{"--type", "erasure_request", "--server", server}, nil, "set ERASURED_TOKEN, or give --token-file"},
		// A key on the command line would show in ps: there is no flag for it.
		{[]string{"--type", "erasure_request", "--server", server, "--token", token}, nil, "flag provided but not defined: -token"},
		{[]string{"--type", "erasure_request", "--server", server, "--token-file", tokenFile}, withToken, "give one"},
		{[]string{"--type", "erasure_request", "--server", server, "--token-file", emptyFile}, nil, "is empty"},
		{[]string{"--type", "erasure_request", "--server", server, "--token-file", emptyFile + ".missing"}, nil, "no such file"},
		{[]string{"--type", "erasure_request", "--server", "ftp://x"}, withToken, "--server must be"},
		{[]string{"--type", "erasure_request", "--database-url", dbURL}, nil, "--store"},
		{[]string{"--type", "erasure_request", "--database-url", dbURL, "--store", "s", "--filter", "eq(colour,red)"}, nil, "unknown attribute"},
		// The server's own words reach the user.
		{[]string{"--type", "erasure_request", "--server", server, "--filter", "eq(colour,red)"}, withToken,
			`400 Bad Request: unknown attribute "colour"`},
		{[]string{"--type", "erasure_request", "--server", server}, map[string]string{"ERASURED_TOKEN": "erd_wrong"}, "401 Unauthorized"},
		{[]string{"--type", "erasure_request", "--server", "http://127.0.0.1:1"}, withToken, "connect"},
	} {
		var stdout, stderr bytes.Buffer
		err := run(context.Background(), append([]string{"export"}, c.args...), &stdout, &stderr, env(c.env))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v %v: got %v, want an error saying %q", c.args, c.env, err, c.want)
		}
	}
}

// The API key may come from a file (--token-file or ERASURED_TOKEN_FILE), such as a
// mounted secret, trailing newline and all.
func TestExportTokenFile(t *testing.T) {
	t.Parallel()
	dbURL := storagetest.URL(t, "sqlite")
	m, out := start(t, nil, map[string]string{"DATABASE_URL": dbURL})
	seedErasures(t, dbURL, "default", 3)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(tokenRE.FindString(out.String())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		env  map[string]string
	}{
		{[]string{"--token-file", tokenFile}, nil},
		{nil, map[string]string{"ERASURED_TOKEN_FILE": tokenFile}},
	} {
		var stdout, stderr bytes.Buffer
		args := append([]string{"export", "--type", "erasure_request", "--server", "http://" + m.Addr()}, c.args...)
		if err := run(context.Background(), args, &stdout, &stderr, env(c.env)); err != nil {
			t.Fatalf("%v %v: %v", c.args, c.env, err)
		}
		if n := strings.Count(stdout.String(), "\n"); n != 3 {
			t.Errorf("%v %v: %d records exported, want 3", c.args, c.env, n)
		}
	}
}
