package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

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
