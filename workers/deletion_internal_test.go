package workers

import (
	"context"
	"strings"
	"testing"
)

// A panic under RunOnce (here a nil DB, which Run itself refuses up front) reaches Run
// as an error, so the worker backs off and the server keeps running.
func TestRunOnceSafelyRecovers(t *testing.T) {
	_, err := (&Deletion{}).runOnceSafely(context.Background())
	if err == nil || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("got %v, want the panic as an error", err)
	}
}
