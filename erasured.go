// Package erasured holds the domain of the erasure server: the records it keeps
// (erasure requests, Open Notes requests, deletions, API keys, audit events), the
// declaration of each resource type (one attribute table per type: see Type), the rules
// that belong to them (the erasure state machine, report merging, the kinds of values)
// and the small vocabulary of error kinds that every other package speaks.
//
// It knows nothing of HTTP or SQL: resources turns its errors into status codes and its
// tables into documents, storage persists its types. Everything here is testable without
// a database.
package erasured

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Error kinds. Anything that is not an *Error is internal: logged, and shown to the
// client only as "internal error".
const (
	EINVALID       = "invalid"             // the input breaks a rule
	EUNAUTHORIZED  = "unauthorized"        // no or unknown credentials
	EFORBIDDEN     = "forbidden"           // credentials without the needed scope
	ENOTFOUND      = "not_found"           // no such record in the caller's store
	ECONFLICT      = "conflict"            // the record's state forbids the change
	EGONE          = "gone"                // the record existed and was deleted
	EPRECONDITION  = "precondition_failed" // If-Match no longer matches
	EUNPROCESSABLE = "unprocessable"       // well-formed, but cannot be honoured (idempotency key reuse)
	EUNAVAILABLE   = "unavailable"         // the database cannot be reached in time
	ETOOMANY       = "rate_limited"        // the API key sent more requests than its rate allows
	EINTERNAL      = "internal"
)

// Error is a failure the client may be told about. Field names the attribute at fault
// (an attribute name as the client sent it), when there is one.
type Error struct {
	Code    string
	Message string
	Field   string
}

func (e *Error) Error() string { return fmt.Sprintf("%s: %s", e.Code, e.Message) }

// Errorf returns an *Error of the given kind.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf returns an EINVALID *Error about one attribute.
func FieldErrorf(field, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Message: fmt.Sprintf(format, args...), Field: field}
}

// ErrorCode returns the kind of err, EINTERNAL for anything outside the vocabulary.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// Sort is one key of a sort=a,-b parameter.
type Sort struct {
	Attribute string
	Desc      bool
}

// Match is the precondition of an If-Match header: the versions (ETags) of a record that
// a change may apply to, which are compared under the record's lock. A nil *Match is no
// precondition; an empty one matches no version.
type Match struct{ Versions []int64 }

// Allows reports whether a change may apply to a record at version.
func (m *Match) Allows(version int64) bool { return m == nil || slices.Contains(m.Versions, version) }

// Now returns the current time in UTC, truncated to the microsecond: the precision both
// stores hold, so that a record reads back exactly as it was written.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
