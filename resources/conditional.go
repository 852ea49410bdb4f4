package resources

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/erasured/erasured"
)

// This file holds conditional requests. A record's ETag is its version, a strong
// entity-tag such as "3"; storage compares the versions an If-Match names under the
// record's lock, so a change made meanwhile is never overwritten.

func etag(version int64) string { return `"` + strconv.FormatInt(version, 10) + `"` }

// ifMatch returns the precondition of r's If-Match: nil when any version will do (no
// If-Match, or If-Match: *), and otherwise the versions its entity-tags name, any one of
// which the record must be at (RFC 9110 §13.1.1). Entity-tags compare strongly, so a
// weak or foreign tag names no version, and a list of only such tags matches nothing:
// the change then answers 412 (or 404 or 410 first, when the record is not there).
func ifMatch(r *http.Request) *erasured.Match {
	values := r.Header.Values("If-Match")
	if len(values) == 0 {
		return nil
	}
	m := &erasured.Match{}
	for _, v := range values {
		for tag := range strings.SplitSeq(v, ",") {
			tag = strings.TrimSpace(tag)
			if tag == "*" {
				return nil
			}
			if n, err := strconv.ParseInt(strings.Trim(tag, `"`), 10, 64); err == nil && n > 0 && tag == etag(n) {
				m.Versions = append(m.Versions, n)
			}
		}
	}
	return m
}
