package workers

import (
	"context"
	"strings"
	"testing"
)

// A panic in a round (here RunOnce of a worker with no DB, which Run itself refuses up
// front) comes back as an error, so the loop backs off and the server keeps running.
func TestSafelyRecovers(t *testing.T) {
	worked, err := safely(context.Background(), (&Deletion{}).RunOnce)
	if !worked || err == nil || !strings.Contains(err.Error(), "panic") {
		t.Fatalf("got %v, %v; want the panic as an error", worked, err)
	}
}
