package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/erasured/erasured"
	"github.com/erasured/erasured/storage"
)

func migrate(ctx context.Context, args []string, stderr io.Writer, getenv func(string) string) error {
	f := newFlags("migrate", getenv)
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

func createKey(ctx context.Context, args []string, stdout io.Writer, getenv func(string) string) error {
	f := newFlags("keys create", getenv)
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

// healthcheckTimeout bounds the whole check: a server that takes longer to say it is
// alive is not healthy.
const healthcheckTimeout = 5 * time.Second

// healthcheck asks a running server for /healthz. It is the container image's
// HEALTHCHECK, which has no shell or curl to ask with, only erasured, and reads the
// same ERASURED_ADDR as the server it checks.
func healthcheck(ctx context.Context, args []string, getenv func(string) string) error {
	f := newFlags("healthcheck", getenv)
	addr := f.String("addr", ":8080", "the address the server listens on, as serve's --addr")
	f.fromEnv("addr", "ERASURED_ADDR")
	if err := f.parse(args); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		return fmt.Errorf("--addr: %w", err)
	}
	// A server listening on every address answers on loopback.
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	u := "http://" + net.JoinHostPort(host, port) + "/healthz"
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: GET %s answered %s", u, resp.Status)
	}
	return nil
}
