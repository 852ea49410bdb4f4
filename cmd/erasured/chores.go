package main

import (
	"context"
	"fmt"
	"io"

	"github.com/erasured/erasured/storage"
)

func migrate(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	f := newFlags("migrate", stderr, getenv)
	dbURL := f.databaseURL()
	if err := f.parse(args); err != nil {
		return err
	}
	db, err := storage.Open(ctx, *dbURL)
	if err != nil {
		return err
	}
	fmt.Fprintln(stderr, "erasured: the schema is up to date")
	return db.Close()
}
