package storage_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage/storagetest"
)

// On the embedded store, what an erasure or a deletion removes must leave the file
// itself, not only the rows: the bytes are looked for in the database and its log.
func TestErasedAndDeletedDataLeaveTheSQLiteFile(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "scrub.db")
	db := storagetest.OpenURL(t, "sqlite:"+path)
	raw := storagetest.SQL(t, "sqlite:"+path)

	storagetest.InsertRequest(t, raw, "s", "r-erase", "PERSON-TO-ERASE-7f3a")
	key, _, err := erasured.NewKey("k", "k@example.com", "s", erasured.AllScopes, erasured.Now())
	if err != nil {
		t.Fatal(err)
	}
	er, err := erasured.NewErasureRequest(key, "user", "PERSON-TO-ERASE-7f3a", nil, erasured.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateErasureRequest(ctx, er); err != nil {
		t.Fatal(err)
	}
	secret := "CONTENT-TO-DELETE-91bc"
	if err := db.CreateRequest(ctx, &erasured.Request{RequestID: "r-delete", StoreID: "s", RequestedBy: ptr("someone"),
		Status: erasured.RequestPending, Content: &secret, RequestedAt: erasured.Now(), CreatedAt: erasured.Now(), UpdatedAt: erasured.Now(), Version: 1}); err != nil {
		t.Fatal(err)
	}

	if _, _, err := db.EraseHeldData(ctx, "s", er.ID); err != nil {
		t.Fatal(err)
	}
	d, err := db.RequestDeletion(ctx, "s", "r-delete")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.PerformDeletion(ctx, d); err != nil || d.Status != erasured.DeletionSuccess {
		t.Fatalf("deletion: %v, %+v", err, d)
	}
	raw.Close()

	for _, f := range []string{path, path + "-wal"} {
		b, err := os.ReadFile(f)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		// The erased person's id stays where the erasure request itself names it; only
		// the Open Notes content must be gone, so look for what only the rows held.
		for _, gone := range []string{"note by PERSON-TO-ERASE-7f3a", secret} {
			if bytes.Contains(b, []byte(gone)) {
				t.Errorf("%s still holds %q", filepath.Base(f), gone)
			}
		}
	}
}
