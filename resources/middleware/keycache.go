package middleware

import (
	"sync"
	"time"

	"github.com/erasured/erasured"
)

// maxCachedKeys bounds the cache; past it, expired keys are swept, and if that frees
// nothing the cache starts over.
const maxCachedKeys = 10000

// KeyCache remembers the API keys that authenticated, for ttl, so that a busy client
// does not cost a database round trip per request. Only known keys are kept: an unknown
// token always reaches the database, so a flood of guesses cannot fill the cache. A new
// key works at once; a key revoked or deleted in the database goes on working for at
// most ttl, and an expired one (erasured.Key.ExpiresAt) not at all.
type KeyCache struct {
	ttl  time.Duration
	mu   sync.Mutex
	keys map[string]cachedKey // by token hash
}

type cachedKey struct {
	key     *erasured.Key
	expires time.Time
}

// NewKeyCache returns a cache that keeps keys for ttl, or nil (no caching) when ttl is
// not positive.
func NewKeyCache(ttl time.Duration) *KeyCache {
	if ttl <= 0 {
		return nil
	}
	return &KeyCache{ttl: ttl, keys: map[string]cachedKey{}}
}

// Get returns the key whose token hashes to hash, if it is remembered at now.
func (c *KeyCache) Get(hash string, now time.Time) *erasured.Key {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.keys[hash]; ok && now.Before(e.expires) && e.key.Usable(now) {
		return e.key
	}
	return nil
}

// Put remembers k, whose token hashes to hash, from now.
func (c *KeyCache) Put(hash string, k *erasured.Key, now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.keys) >= maxCachedKeys {
		for h, e := range c.keys {
			if !now.Before(e.expires) {
				delete(c.keys, h)
			}
		}
		if len(c.keys) >= maxCachedKeys {
			clear(c.keys)
		}
	}
	c.keys[hash] = cachedKey{key: k, expires: now.Add(c.ttl)}
}
