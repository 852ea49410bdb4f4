package resources_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/erasured/erasured/resources"
	"github.com/erasured/erasured/storage"
	"github.com/erasured/erasured/storage/storagetest"
)

func TestRateLimitPerKey(t *testing.T) {
	t.Parallel()
	storagetest.Each(t, func(t *testing.T, db *storage.DB) {
		e := newEnv(t, db, resources.Config{RateLimit: 1, RateBurst: 2})
		limited, other := e.key("s1"), e.key("s1")

		// Requests without a valid key are refused before any budget is charged, and
		// are never limited themselves.
		for range 4 {
			e.do("GET", erasures, "erd_not-a-key", nil).wantError(t, http.StatusUnauthorized, "")
		}
		e.do("GET", erasures, "", nil).wantError(t, http.StatusUnauthorized, "")

		e.do("GET", erasures, limited, nil).want(t, http.StatusOK)
		e.do("POST", erasures, limited, newErasure("user", "alice")).want(t, http.StatusCreated)
		refused := e.do("GET", erasures, limited, nil)
		errObj := refused.wantError(t, http.StatusTooManyRequests, "")
		if errObj["code"] != "rate_limited" {
			t.Errorf("error code %v, want rate_limited", errObj["code"])
		}
		wait, err := strconv.Atoi(refused.Header.Get("Retry-After"))
		if err != nil || wait < 1 || wait > 2 {
			t.Fatalf("Retry-After %q, want whole seconds, 1 or 2", refused.Header.Get("Retry-After"))
		}
		// Each key has its own budget.
		e.do("GET", erasures, other, nil).want(t, http.StatusOK)

		time.Sleep(time.Duration(wait) * time.Second)
		e.do("GET", erasures, limited, nil).want(t, http.StatusOK)
	})
}

// Without --rate-limit nothing is limited.
func TestNoRateLimitByDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t, storagetest.Open(t, "sqlite"), resources.Config{})
	token := e.key("s1")
	for range 20 {
		e.do("GET", erasures, token, nil).want(t, http.StatusOK)
	}
}
