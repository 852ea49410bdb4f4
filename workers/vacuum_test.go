package workers_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/erasured/erasured/storage/storagetest"
	"github.com/erasured/erasured/workers"
)

// After the erasure worker has erased someone's requests, the vacuum worker vacuums once,
// and then has nothing to do until the next erasure.
func TestVacuumAfterErasure(t *testing.T) {
	t.Parallel()
	u := storagetest.PostgresDatabase(t)
	db, raw := storagetest.OpenURL(t, u), storagetest.SQL(t, u)
	var logs syncBuffer
	w := &workers.Vacuum{DB: db, Interval: time.Hour, Poll: time.Second, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	if worked, err := w.RunOnce(context.Background()); worked || err != nil {
		t.Fatalf("with nothing erased: %v, %v", worked, err)
	}

	file(t, db, "s1", "alice")
	storagetest.InsertRequest(t, raw, "s1", "n1", "alice")
	if !runOnce(t, &workers.Erasure{DB: db, Lease: time.Minute, Poll: time.Second}) {
		t.Fatal("nothing to erase")
	}
	// On a database of the test's own the only transactions to wait for are the test's.
	deadline := time.Now().Add(time.Minute)
	for {
		worked, err := w.RunOnce(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if worked {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no vacuum within a minute:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(logs.String(), "vacuumed erased and deleted data") {
		t.Errorf("log: %s", logs.String())
	}
	if worked, err := w.RunOnce(context.Background()); worked || err != nil {
		t.Fatalf("with nothing new erased: %v, %v", worked, err)
	}
}

func TestVacuumRunNeedsSettings(t *testing.T) {
	t.Parallel()
	db := storagetest.Open(t, "sqlite")
	for _, w := range []*workers.Vacuum{{}, {DB: db, Poll: time.Second}, {DB: db, Interval: time.Second}} {
		if err := w.Run(context.Background()); err == nil {
			t.Errorf("%+v ran", w)
		}
	}
}
