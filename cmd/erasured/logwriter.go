package main

import (
	"io"
	"sync"
	"time"
)

const (
	// logDelay is the longest a log line waits to be written.
	logDelay = 100 * time.Millisecond
	// logBatch is how many bytes of lines make a write at once: a server logging
	// faster than that per logDelay writes as it goes, and never holds much more.
	logBatch = 64 << 10
)

// logWriter gathers log lines and writes them to out in batches: the lines of up to
// logDelay, or logBatch bytes of them, in one write. A server under load logs a line
// per request; written one by one, each costs a system call, and slog's handler holds
// its lock meanwhile, so every request that ends then waits for it. Waking a goroutine
// per line to write it costs about as much, so a timer does it, armed by the first line
// after a write: an idle server is never woken. Close writes what is left. Only a crash
// of the whole process (not a panic in a request, which is recovered) can lose lines:
// those of its last logDelay.
type logWriter struct {
	// out is taken before mu by whoever writes, so batches go out in the order their
	// lines came, one at a time.
	outMu sync.Mutex
	out   io.Writer
	spare []byte // the buffer of the last write, for the next lines; under outMu

	mu     sync.Mutex
	buf    []byte
	timer  *time.Timer
	armed  bool // the timer will write buf
	closed bool // Close has run: lines are written at once
}

func newLogWriter(out io.Writer) *logWriter {
	w := &logWriter{out: out}
	w.timer = time.AfterFunc(time.Hour, w.flush)
	w.timer.Stop()
	return w
}

// Write takes p, whole, to be written within logDelay. Until Close it never fails: what
// cannot be written to out has nowhere else to go.
func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		w.outMu.Lock()
		defer w.outMu.Unlock()
		return w.out.Write(p)
	}
	w.buf = append(w.buf, p...)
	full := len(w.buf) >= logBatch
	if !full && !w.armed {
		w.armed = true
		w.timer.Reset(logDelay)
	}
	w.mu.Unlock()
	if full {
		w.flush()
	}
	return len(p), nil
}

// flush writes the lines gathered so far.
func (w *logWriter) flush() {
	w.outMu.Lock()
	defer w.outMu.Unlock()
	w.mu.Lock()
	b := w.buf
	w.buf, w.armed = w.spare[:0], false
	w.mu.Unlock()
	if len(b) > 0 {
		_, _ = w.out.Write(b)
	}
	if cap(b) <= 2*logBatch {
		w.spare = b
	}
}

// Close writes every line gathered; lines written after it go out at once. Closing
// twice is harmless.
func (w *logWriter) Close() {
	w.mu.Lock()
	w.closed = true
	w.timer.Stop()
	w.mu.Unlock()
	w.flush()
}
