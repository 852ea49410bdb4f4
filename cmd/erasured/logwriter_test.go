package main

import (
	"bytes"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// batches records each write it gets, and can hold them up until released.
type batches struct {
	mu      sync.Mutex
	writes  [][]byte
	release chan struct{} // nil: never held
	got     chan struct{} // receives once per write, when set
}

func (b *batches) Write(p []byte) (int, error) {
	if b.got != nil {
		b.got <- struct{}{}
	}
	if b.release != nil {
		<-b.release
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.writes = append(b.writes, bytes.Clone(p))
	return len(p), nil
}

func (b *batches) text() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(bytes.Join(b.writes, nil))
}

func TestLogWriterKeepsEveryLineWholeAndInOrder(t *testing.T) {
	t.Parallel()
	out := &batches{}
	w := newLogWriter(out)
	const writers, lines = 8, 500
	var wg sync.WaitGroup
	for g := range writers {
		wg.Go(func() {
			for i := range lines {
				fmt.Fprintf(w, "writer %d line %d\n", g, i)
			}
		})
	}
	wg.Wait()
	w.Close()
	next := make([]int, writers)
	got := strings.Split(strings.TrimSuffix(out.text(), "\n"), "\n")
	for _, l := range got {
		var g, i int
		if _, err := fmt.Sscanf(l, "writer %d line %d", &g, &i); err != nil || g < 0 || g >= writers {
			t.Fatalf("a line came out broken: %q", l)
		}
		if i != next[g] {
			t.Fatalf("writer %d: line %d came after line %d", g, i, next[g]-1)
		}
		next[g]++
	}
	if len(got) != writers*lines {
		t.Errorf("%d lines written, %d came out", writers*lines, len(got))
	}
}

func TestLogWriterAfterClose(t *testing.T) {
	t.Parallel()
	out := &batches{}
	w := newLogWriter(out)
	fmt.Fprintln(w, "before")
	w.Close()
	w.Close()
	fmt.Fprintln(w, "after")
	if got := out.text(); got != "before\nafter\n" {
		t.Errorf("got %q", got)
	}
}

// While out is stuck, lines pile up only to maxLogBacklog: then writers wait, and once
// out moves again nothing was lost.
func TestLogWriterBacklogIsBounded(t *testing.T) {
	t.Parallel()
	out := &batches{release: make(chan struct{}), got: make(chan struct{}, 1)}
	w := newLogWriter(out)
	line := strings.Repeat("x", 1023) + "\n"
	fmt.Fprint(w, line)
	<-out.got // the goroutine holds the first line and is stuck in out
	const n = 3 * maxLogBacklog / 1024
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range n {
			fmt.Fprint(w, line)
		}
	}()
	// Wait until the backlog is full: from then on the writer above is held up.
	for full := false; !full; {
		runtime.Gosched()
		w.mu.Lock()
		full = len(w.buf) >= maxLogBacklog
		w.mu.Unlock()
	}
	out.got = nil
	close(out.release)
	<-done
	w.Close()
	for i, b := range out.writes {
		if len(b) > maxLogBacklog+len(line) {
			t.Errorf("write %d held %d bytes, past the backlog of %d", i, len(b), maxLogBacklog)
		}
	}
	if got, want := len(out.text()), (n+1)*len(line); got != want {
		t.Errorf("%d bytes came out, want %d", got, want)
	}
}
