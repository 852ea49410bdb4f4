package middleware

import (
	"fmt"
	"testing"
	"time"

	"github.com/erasured/erasured"
)

func TestKeyCache(t *testing.T) {
	now := time.Now()
	c := NewKeyCache(10 * time.Second)
	k := &erasured.Key{ID: "k1"}
	if c.Get("h", now) != nil {
		t.Fatal("an empty cache answered")
	}
	c.Put("h", k, now)
	if c.Get("h", now.Add(9*time.Second)) != k {
		t.Error("a key was forgotten before its time")
	}
	if c.Get("h", now.Add(10*time.Second)) != nil {
		t.Error("a key outlived its time")
	}
	// The cache never grows past its bound.
	for i := range maxCachedKeys + 10 {
		c.Put(fmt.Sprint(i), k, now)
	}
	if n := len(c.keys); n > maxCachedKeys {
		t.Errorf("%d keys cached, bound %d", n, maxCachedKeys)
	}
	off := NewKeyCache(0)
	off.Put("h", k, now)
	if off.Get("h", now) != nil {
		t.Error("a disabled cache answered")
	}
}
