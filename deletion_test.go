package erasured_test

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/erasured/erasured"
)

func TestDeletionLifecycle(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	d := erasured.NewDeletion("s1", "req-1", t0)
	if d.Status != erasured.DeletionPending || d.Message != "Deletion is pending" || !d.CreatedAt.Equal(t0) || !d.UpdatedAt.Equal(t0) {
		t.Fatalf("new deletion %+v", d)
	}
	ok := *d
	ok.Succeed(t0.Add(time.Second))
	if ok.Status != erasured.DeletionSuccess || ok.Message != "Request deleted successfully" || !ok.UpdatedAt.Equal(t0.Add(time.Second)) || !ok.CreatedAt.Equal(t0) {
		t.Errorf("succeeded %+v", ok)
	}
	failed := *d
	failed.Fail("refused by trigger", t0.Add(time.Second))
	if failed.Status != erasured.DeletionFailure || failed.Message != "refused by trigger" {
		t.Errorf("failed %+v", failed)
	}
}

func TestDeletionFailMessageIsBounded(t *testing.T) {
	d := erasured.NewDeletion("s1", "req-1", time.Now())
	d.Fail(strings.Repeat("é", 2000)+"\xff", time.Now())
	if n := utf8.RuneCountInString(d.Message); n != 500 || !utf8.ValidString(d.Message) || !strings.HasSuffix(d.Message, "…") {
		t.Errorf("message of %d characters (valid UTF-8: %v)", n, utf8.ValidString(d.Message))
	}
	d.Fail("bad \xff byte", time.Now())
	if d.Message != "bad \uFFFD byte" {
		t.Errorf("message %q", d.Message)
	}
}
