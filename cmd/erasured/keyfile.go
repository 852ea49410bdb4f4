package main

import (
	"fmt"
	"os"
	"path/filepath"
)

// writeKeyFile writes token to path, readable by its owner only. It writes a new file
// beside path and renames it into place, so that whoever waits for the file never reads
// half a token, and a file that was there before keeps none of its old permissions.
func writeKeyFile(path, token string) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err := fmt.Fprintln(f, token); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}
