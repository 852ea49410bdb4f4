package main

import (
	"io"
	"sync"
)

// maxLogBacklog is how many bytes of log lines may wait for the writer; past it, a
// request that logs waits its turn, so that a stalled stderr slows the server instead
// of growing its memory.
const maxLogBacklog = 1 << 20

// logWriter writes log lines to out from one goroutine of its own. A server under load
// logs a line per request; written one by one, each costs a system call, and since
// slog's handler holds its lock while it writes, every request that ends meanwhile
// waits for that call. Here a line is appended to a buffer, and the goroutine writes
// what has gathered since its last write: one line when the server is quiet, as soon
// as it is logged, many in one call when it is busy. Close writes what is left. Only a
// crash of the whole process (not a panic in a request, which is recovered) can lose
// lines, and only those logged in the moment before it.
type logWriter struct {
	out  io.Writer
	mu   sync.Mutex
	room sync.Cond // signalled when the writer takes the buffer
	buf  []byte
	// closed is set by Close; from then on lines are written at once.
	closed bool
	wake   chan struct{}
	done   chan struct{}
}

func newLogWriter(out io.Writer) *logWriter {
	w := &logWriter{out: out, wake: make(chan struct{}, 1), done: make(chan struct{})}
	w.room.L = &w.mu
	go w.run()
	return w
}

// Write queues p, whole, for the goroutine. Until Close it never fails: what the
// goroutine cannot write has nowhere else to go.
func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.buf) >= maxLogBacklog && !w.closed {
		w.room.Wait()
	}
	if w.closed {
		// After the goroutine's last write, so that lines stay in order and out has
		// one writer at a time.
		w.mu.Unlock()
		<-w.done
		w.mu.Lock()
		return w.out.Write(p)
	}
	w.buf = append(w.buf, p...)
	select {
	case w.wake <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *logWriter) run() {
	defer close(w.done)
	var spare []byte
	for range w.wake {
		w.mu.Lock()
		b := w.buf
		w.buf = spare[:0]
		closed := w.closed
		w.room.Broadcast()
		w.mu.Unlock()
		if len(b) > 0 {
			_, _ = w.out.Write(b)
		}
		if closed {
			return
		}
		// A burst may leave a buffer as large as the backlog; keep only a modest one.
		if cap(b) <= 64<<10 {
			spare = b
		} else {
			spare = nil
		}
	}
}

// Close writes every line queued and stops the goroutine; lines logged after it are
// written at once. Closing twice is harmless.
func (w *logWriter) Close() {
	w.mu.Lock()
	if w.closed {
		w.mu.Unlock()
		return
	}
	w.closed = true
	w.room.Broadcast()
	w.mu.Unlock()
	// A wake-up already queued does as well: the goroutine sees closed when it takes it.
	select {
	case w.wake <- struct{}{}:
	default:
	}
	<-w.done
}
