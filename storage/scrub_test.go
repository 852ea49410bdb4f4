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
	er := erasured.NewErasureRequest(key, erasureValues("user", "PERSON-TO-ERASE-7f3a", nil), erasured.Now(), 0)
	if _, err := db.CreateErasureRequest(ctx, er, nil); err != nil {
		t.Fatal(err)
	}
	secret := "CONTENT-TO-DELETE-91bc"
	if _, err := db.CreateRequest(ctx, requestOf(t, "s", map[string]any{"request_id": "r-delete", "requested_by": "someone", "content": secret}, erasured.Now()), erasured.Initiator{}, nil); err != nil {
		t.Fatal(err)
	}

	if _, _, err := db.EraseHeldData(ctx, "s", er.ID); err != nil {
		t.Fatal(err)
	}
	d, err := db.RequestDeletion(ctx, "s", "r-delete", erasured.Initiator{})
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
		content, _ := erasured.Requests.Attribute("content")
		for _, gone := range []string{storagetest.PersonalValue(content, "r-erase", "PERSON-TO-ERASE-7f3a"), secret} {
			if bytes.Contains(b, []byte(gone)) {
				t.Errorf("%s still holds %q", filepath.Base(f), gone)
			}
		}
	}
}
