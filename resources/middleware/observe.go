// Package middleware is what wraps erasured's handlers, apart from them: request ids,
// access logs and request metrics (Observe), CORS, and the per-key rate limits and key
// cache that authentication consults. It knows nothing of resources, documents or
// storage: what it must write (the answer to a panic) it is handed.
package middleware

import (
	"cmp"
	"context"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"regexp"
	"time"
)

type ctxKey int

const requestInfoKey ctxKey = 0

// requestInfo is what Observe knows of a request: its id, and the route template that
// the router fills in, which names the endpoint without the ids in its path.
type requestInfo struct{ id, route string }

// Routed records the route template of the request r is serving, for the log and the
// metrics.
func Routed(r *http.Request, template string) {
	if info, ok := r.Context().Value(requestInfoKey).(*requestInfo); ok {
		info.route = template
	}
}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	if info, ok := ctx.Value(requestInfoKey).(*requestInfo); ok {
		return info.id
	}
	return ""
}

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// statusRecorder remembers what a handler wrote, for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusRecorder) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Observe gives each request an id (the client's X-Request-Id when it is sane), a
// deadline for its work (timeout), a body limit (maxBody bytes), one access log line,
// and its place in the request metrics. Nothing from the body or the query string is
// logged: both may hold personal data. A panic in next is logged, and answered with
// onPanic when nothing was written yet.
func Observe(next http.Handler, log *slog.Logger, m *Metrics, timeout time.Duration, maxBody int64,
	onPanic func(w http.ResponseWriter, r *http.Request, err error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID.MatchString(id) {
			id = newRequestID()
		}
		w.Header().Set("X-Request-Id", id)
		// One allocation for what Observe keeps of the request and of its answer.
		seen := &struct {
			info requestInfo
			rec  statusRecorder
		}{info: requestInfo{id: id, route: "unmatched"}, rec: statusRecorder{ResponseWriter: w}}
		info, rec := &seen.info, &seen.rec
		ctx := context.WithValue(r.Context(), requestInfoKey, info)
		ctx, cancel := context.WithDeadline(ctx, start.Add(timeout))
		defer cancel()
		r = r.WithContext(ctx)
		if r.Body != http.NoBody {
			r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(ctx, "panic", "panic", fmt.Sprint(v))
				if rec.status == 0 {
					onPanic(rec, r, fmt.Errorf("panic: %v", v))
				}
			}
			end := time.Now()
			took := end.Sub(start)
			m.observe(info.route, r.Method, cmp.Or(rec.status, http.StatusOK), took)
			// The record is made here, not by log.LogAttrs: that would read the clock again
			// and the caller's program counter, which an access log line has no use for.
			// The duration is whole microseconds: slog's JSON handler writes an integer
			// itself, and a float through encoding/json, at several times the cost.
			if log.Enabled(ctx, slog.LevelInfo) {
				line := slog.NewRecord(end, slog.LevelInfo, "request", 0)
				line.AddAttrs(slog.String("method", r.Method), slog.String("route", info.route),
					slog.Int("status", rec.status), slog.Int("bytes", rec.bytes),
					slog.Int64("duration_us", took.Microseconds()))
				_ = log.Handler().Handle(ctx, line)
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

// newRequestID is 16 hex digits. A request id only has to tell requests apart in the
// logs, so it comes from math/rand/v2, which the runtime seeds randomly, without a
// system call or an allocation besides the string.
func newRequestID() string {
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], rand.Uint64())
	var out [16]byte
	hex.Encode(out[:], b[:])
	return string(out[:])
}

// LogHandler adds the request id to every log record made with a request's context.
func LogHandler(h slog.Handler) slog.Handler { return logHandler{h} }

type logHandler struct{ slog.Handler }

func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{h.Handler.WithAttrs(attrs)}
}

func (h logHandler) WithGroup(name string) slog.Handler { return logHandler{h.Handler.WithGroup(name)} }
