package resources

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/erasured/erasured"
)

// This file holds conditional requests. A record's ETag is its version, a strong
// entity-tag such as "3"; storage compares the version an If-Match asks for under the
// record's lock, so a change made meanwhile is never overwritten.

func etag(version int64) string { return fmt.Sprintf(`"%d"`, version) }

var versionTag = regexp.MustCompile(`^"([0-9]{1,18})"$`)

// ifMatch returns the version r's If-Match requires, or nil when any will do: no
// If-Match, or If-Match: *. A value that no ETag of erasured can match (a weak or
// malformed entity-tag, a version that is no number) fails the precondition at once,
// with EPRECONDITION, as it would under the lock.
//
// A list of several entity-tags is refused the same way, although one of them might
// match: storage compares one version, and a client that read the record has one
// current ETag to send.
func ifMatch(r *http.Request) (*int64, error) {
	values := r.Header.Values("If-Match")
	if len(values) == 0 {
		return nil, nil
	}
	v := strings.TrimSpace(strings.Join(values, ","))
	if v == "*" {
		return nil, nil
	}
	m := versionTag.FindStringSubmatch(v)
	if m == nil {
		return nil, erasured.Errorf(erasured.EPRECONDITION,
			"If-Match %q cannot match: send * or the one ETag a read returned, such as \"3\"", v)
	}
	version, _ := strconv.ParseInt(m[1], 10, 64) // at most 18 digits: it always fits
	return &version, nil
}
