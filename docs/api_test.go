// Package docs_test holds docs/API.md, the HTTP contract in words, to /openapi.json, the
// same contract as the server serves it.
package docs_test

import (
	"bufio"
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/erasured/erasured/openapi"
)

// endpoint is one operation: "GET /healthz".
type endpoint string

// documented reads API.md's endpoint sections: a heading "### METHOD /path" and, in the
// section, one line "Answers: 200, 400, …". Every level-three heading must be one.
func documented(t *testing.T) map[endpoint][]int {
	t.Helper()
	f, err := os.Open("API.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	heading := regexp.MustCompile(`^### (GET|POST|PUT|PATCH|DELETE) (/\S*)$`)
	// A heading that merely looks like an endpoint's must not be skipped in silence.
	loose := regexp.MustCompile(`^#+ *\x60?(GET|POST|PUT|PATCH|DELETE) /`)
	docs := map[endpoint][]int{}
	var current endpoint
	answered := false
	closeSection := func() {
		if current != "" && !answered {
			t.Errorf("API.md: the section %q has no Answers: line", current)
		}
		current, answered = "", false
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
			closeSection()
			if !strings.HasPrefix(line, "### ") {
				if loose.MatchString(line) {
					t.Errorf("API.md:%d: %q: an endpoint's heading is of level three, ### METHOD /path", n, line)
				}
				continue
			}
			m := heading.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("API.md:%d: %q: a level-three heading must be an endpoint, ### METHOD /path", n, line)
				continue
			}
			current = endpoint(m[1] + " " + m[2])
			if _, dup := docs[current]; dup {
				t.Errorf("API.md:%d: %s has two sections", n, current)
			}
			docs[current] = nil
		case strings.HasPrefix(line, "Answers:"):
			if current == "" || answered {
				t.Errorf("API.md:%d: an Answers: line outside an endpoint's section, or a second one", n)
				continue
			}
			answered = true
			for s := range strings.SplitSeq(strings.TrimPrefix(line, "Answers:"), ",") {
				code, err := strconv.Atoi(strings.TrimSpace(s))
				if err != nil || code < 100 || code > 599 {
					t.Errorf("API.md:%d: %q is not a status code", n, s)
					continue
				}
				docs[current] = append(docs[current], code)
			}
		}
	}
	closeSection()
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return docs
}

// served reads every operation of /openapi.json and the status codes it may answer.
func served(t *testing.T) map[endpoint][]int {
	t.Helper()
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openapi.Document(), &doc); err != nil {
		t.Fatal(err)
	}
	ops := map[endpoint][]int{}
	for path, item := range doc.Paths {
		for method, raw := range item {
			if !slices.Contains([]string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}, method) {
				continue // parameters, summary: not an operation
			}
			var op struct {
				Responses map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			e := endpoint(strings.ToUpper(method) + " " + path)
			for status := range op.Responses {
				code, err := strconv.Atoi(status)
				if err != nil {
					t.Errorf("/openapi.json: %s answers %q, which this test cannot compare", e, status)
					continue
				}
				ops[e] = append(ops[e], code)
			}
		}
	}
	return ops
}

// TestAPIMatchesOpenAPI: docs/API.md describes exactly the endpoints that /openapi.json
// does, each with the same status codes.
func TestAPIMatchesOpenAPI(t *testing.T) {
	docs, ops := documented(t), served(t)
	if len(docs) == 0 {
		t.Fatal("API.md has no endpoint sections")
	}
	for e, codes := range docs {
		want, ok := ops[e]
		if !ok {
			t.Errorf("API.md describes %s, which /openapi.json does not have", e)
			continue
		}
		slices.Sort(codes)
		slices.Sort(want)
		if !slices.Equal(codes, want) {
			t.Errorf("%s: API.md says it answers %v; /openapi.json says %v", e, codes, want)
		}
	}
	var missing []string
	for e := range ops {
		if _, ok := docs[e]; !ok {
			missing = append(missing, string(e))
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 {
		t.Errorf("API.md has no section for %s", strings.Join(missing, ", "))
	}
	t.Logf("%d endpoints documented", len(docs))
}
