package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --first-key-file (ERASURED_FIRST_KEY_FILE) puts the first key in a file only its owner
// may read, as well as on stdout; a database that has keys writes no file. A file that
// cannot be written stops the start before a key is stored, so the next start makes one.
func TestFirstKeyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	dbURL := "sqlite:" + filepath.Join(dir, "k.db")

	var stdout bytes.Buffer
	m, err := newMain([]string{"--addr", "127.0.0.1:0", "--first-key-file", filepath.Join(dir, "missing", "key")}, &stdout, &bytes.Buffer{},
		env(map[string]string{"DATABASE_URL": dbURL}))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "--first-key-file") {
		t.Errorf("a key file in a missing directory: %v", err)
	}
	m.Close()
	if tokenRE.MatchString(stdout.String()) {
		t.Errorf("a key was printed although its file could not be written: %q", stdout.String())
	}

	keyFile := filepath.Join(dir, "first-key")
	m, out := start(t, nil, map[string]string{"DATABASE_URL": dbURL, "ERASURED_FIRST_KEY_FILE": keyFile})
	b, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	token := tokenRE.FindString(out.String())
	if string(b) != token+"\n" || !strings.Contains(out.String(), "It is also in "+keyFile) {
		t.Errorf("the file holds %q; stdout says %q", b, out.String())
	}
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the key file's mode: %v %v", fi.Mode(), err)
	}
	if status, _ := get(t, m, "/v2/personal-data/erasure-requests", token); status != 200 {
		t.Errorf("the key from the file answers %d", status)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}

	if err := os.WriteFile(keyFile, []byte("kept\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	start(t, []string{"--first-key-file", keyFile}, map[string]string{"DATABASE_URL": dbURL})
	if b, _ := os.ReadFile(keyFile); string(b) != "kept\n" {
		t.Errorf("a database with keys wrote the key file: %q", b)
	}
}
