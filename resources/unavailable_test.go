package resources_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/erasured/erasured/resources"
	"github.com/erasured/erasured/storage/storagetest"
)

func TestDatabaseUnavailableIs503(t *testing.T) {
	t.Parallel()
	u, proxy := storagetest.ProxiedURL(t)
	e := newEnv(t, storagetest.OpenURL(t, u), resources.Config{RequestTimeout: 3 * time.Second})
	token := e.key("s")
	e.do("GET", "/readyz", "", nil).want(t, http.StatusOK)
	e.do("POST", erasures, token, newErasure("user", "before")).want(t, http.StatusCreated)

	proxy.Cut()
	start := time.Now()
	for _, path := range []string{erasures, erasures + "?page[offset]=5"} {
		r := e.do("GET", path, token, nil)
		r.wantError(t, http.StatusServiceUnavailable, "")
		if r.Header.Get("Retry-After") == "" {
			t.Errorf("503 without Retry-After")
		}
	}
	e.do("POST", erasures, token, newErasure("user", "during")).wantError(t, http.StatusServiceUnavailable, "")
	if r := e.do("GET", "/readyz", "", nil); r.Status != http.StatusServiceUnavailable {
		t.Errorf("/readyz answered %d with the database gone", r.Status)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("answering with the database gone took %v", d)
	}

	proxy.Restore(t)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := e.do("GET", erasures, token, nil)
		if r.Status == http.StatusOK {
			if n := len(r.list(t)); n != 1 {
				t.Errorf("after the outage %d records, want the 1 acknowledged", n)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("service did not resume: %d %s", r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
