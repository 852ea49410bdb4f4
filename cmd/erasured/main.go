// Command erasured runs the erasure server and its chores.
//
//	erasured [serve] [flags]     serve the API (the default)
//	erasured migrate [flags]     bring the database schema up to date and exit
//	erasured keys create --name N --email E --store S --scopes a,b [--expires-in D] [--representation R] [--json]
//	                             create an API key and print its token, only that
//	erasured keys list [--json]  show every key, never a token
//	erasured keys revoke ID      revoke a key and its access tokens
//	erasured keys rotate ID      print a new token for the key; the old one stops working
//	erasured export --type T [--filter F] [--format ndjson|csv] [--server URL --token T | --store S]
//	                             write every matching record to stdout, oldest first
//
// Every flag can also come from the environment variable named in its help.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	// erasured's live heap is a few megabytes, so at the default GOGC=100 the collector
	// runs every few requests. At 400 it costs a quarter as much, for about 15 MB more
	// resident memory; bench/run.sh measured 30-70% more requests per second with it.
	// An operator's GOGC still wins.
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "erasured:", err)
		os.Exit(1)
	}
}

// run dispatches to a subcommand. Its arguments are everything the program reads from
// its surroundings, so tests can run it in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	cmd := "serve"
	if len(args) > 0 && (args[0] == "serve" || args[0] == "migrate" || args[0] == "keys" || args[0] == "export") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "migrate":
		return migrate(ctx, args, stderr, getenv)
	case "export":
		return export(ctx, args, stdout, stderr, getenv)
	case "keys":
		return keys(ctx, args, stdout, stderr, getenv)
	}
	m, err := newMain(args, stdout, stderr, getenv)
	if err != nil {
		return err
	}
	if err := m.Run(ctx); err != nil {
		m.Close()
		return err
	}
	<-ctx.Done()
	m.Drain(context.Background())
	return m.Close()
}

// flags is a FlagSet whose flags fall back to environment variables.
type flags struct {
	*flag.FlagSet
	env    map[string]string // flag name → variable
	getenv func(string) string
}

func newFlags(name string, stderr io.Writer, getenv func(string) string) *flags {
	fs := flag.NewFlagSet("erasured "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return &flags{FlagSet: fs, env: map[string]string{}, getenv: getenv}
}

// fromEnv marks flag name as settable through variable env.
func (f *flags) fromEnv(name, env string) {
	f.env[name] = env
	fl := f.Lookup(name)
	fl.Usage += " (env " + env + ")"
}

// parse applies the environment, then the command line, which wins.
func (f *flags) parse(args []string) error {
	for name, env := range f.env {
		if v := f.getenv(env); v != "" {
			if err := f.Set(name, v); err != nil {
				return fmt.Errorf("%s: %w", env, err)
			}
		}
	}
	if err := f.Parse(args); err != nil {
		return err
	}
	if f.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", f.Arg(0))
	}
	return nil
}

func (f *flags) databaseURL() *string {
	p := f.String("database-url", "sqlite:erasured.db", "postgres://… for PostgreSQL, sqlite:PATH for the embedded store")
	f.fromEnv("database-url", "DATABASE_URL")
	return p
}
