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
	const writers, lines = 8, 2000
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
	// 8 writers' 2,000 lines are about 3 batches' worth: they went out in a few writes.
	if len(out.writes) > 20 {
		t.Errorf("%d lines took %d writes", writers*lines, len(out.writes))
	}
}

// A line of a quiet server goes out on its own, without Close.
func TestLogWriterWritesALoneLine(t *testing.T) {
	t.Parallel()
	out := &batches{got: make(chan struct{}, 1)}
	w := newLogWriter(out)
	defer w.Close()
	fmt.Fprintln(w, "alone")
	<-out.got
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

// While out is stuck, lines pile up only to a batch: then the writer waits, and once
// out moves again nothing was lost.
func TestLogWriterBacklogIsBounded(t *testing.T) {
	t.Parallel()
	out := &batches{release: make(chan struct{}), got: make(chan struct{}, 1)}
	w := newLogWriter(out)
	line := strings.Repeat("x", 1023) + "\n"
	fmt.Fprint(w, line)
	go w.flush()
	<-out.got // that first line is stuck in out
	const n = 3 * logBatch / 1024
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range n {
			fmt.Fprint(w, line)
		}
	}()
	// Wait until a batch has gathered: from then on the writer above is held up.
	for full := false; !full; {
		runtime.Gosched()
		w.mu.Lock()
		full = len(w.buf) >= logBatch
		w.mu.Unlock()
	}
	out.got = nil
	close(out.release)
	<-done
	w.Close()
	for i, b := range out.writes {
		if len(b) > logBatch+len(line) {
			t.Errorf("write %d held %d bytes, past a batch of %d", i, len(b), logBatch)
		}
	}
	if got, want := len(out.text()), (n+1)*len(line); got != want {
		t.Errorf("%d bytes came out, want %d", got, want)
	}
}
