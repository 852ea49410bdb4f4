package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/erasured/erasured"
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

func createKey(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	f := newFlags("keys create", stderr, getenv)
	dbURL := f.databaseURL()
	name := f.String("name", "", "who or what uses the key (recorded as the initiator of its erasure requests)")
	email := f.String("email", "", "contact email of the key's owner")
	store := f.String("store", "", "the store (tenant) the key belongs to")
	scopes := f.String("scopes", "", "comma-separated scopes: "+strings.Join(erasured.AllScopes, ","))
	if err := f.parse(args); err != nil {
		return err
	}
	var list []string
	for s := range strings.SplitSeq(*scopes, ",") {
		if s = strings.TrimSpace(s); s != "" {
			list = append(list, s)
		}
	}
	key, token, err := erasured.NewKey(*name, *email, *store, list, erasured.Now())
	if err != nil {
		return err
	}
	db, err := storage.Open(ctx, *dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.CreateKey(ctx, key); err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, token)
	return err
}
