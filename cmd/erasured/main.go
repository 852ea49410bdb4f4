// Command erasured runs the erasure server and its chores.
//
//	erasured [serve] [flags]        serve the API (the default)
//	erasured migrate [flags]        bring the database schema up to date and exit
//	erasured keys create [flags]    create an API key and print its token, only that
//	erasured keys list [--json]     show every key, never a token
//	erasured keys revoke ID         revoke a key and its access tokens
//	erasured keys rotate ID         print a new token for a key; the old one stops working
//	erasured export --type T [flags]
//	                                write every matching record to stdout, oldest first
//	erasured healthcheck            exit 0 when the server at ERASURED_ADDR answers /healthz
//	erasured version                print the version and VCS revision of this build
//	erasured help [command]         list the commands, or show one's flags
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
	"strings"
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
	if err != nil {
		fmt.Fprintln(os.Stderr, "erasured:", err)
		os.Exit(1)
	}
}

// command is what help says of one command.
type command struct {
	name     string // as typed after erasured: "export", "keys create"
	synopsis string // what follows the name in a usage line
	summary  string // one line
}

// commands are erasured's commands, in the order help lists them. A name with a space
// is a command of a group ("keys create" of "keys").
var commands = []command{
	{"serve", "[flags]", "serve the API; the default command, so erasured --addr :9000 serves too"},
	{"migrate", "[--database-url URL]", "bring the database schema up to date and exit (serve does it too)"},
	{"keys", "<command> [flags]", "manage API keys"},
	{"keys create", "--name N --email E --store S --scopes a,b [flags]", "create an API key and print its token, and nothing else"},
	{"keys list", "[--json]", "show every key and when it was last used, never a token"},
	{"keys revoke", "ID", "revoke a key and the access tokens issued to it"},
	{"keys rotate", "ID [--json]", "print a new token for a key; its old token and access tokens stop working"},
	{"export", "--type T [flags] > file", "write every record of a type that matches a filter to stdout, oldest first"},
	{"healthcheck", "[--addr ADDR]", "exit 0 when the server at ERASURED_ADDR answers /healthz (the container's health check)"},
	{"version", "", "print the version and VCS revision this binary was built from"},
	{"help", "[command]", "list the commands, or show one's flags (as erasured COMMAND --help does)"},
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// run dispatches to a command. Its arguments are everything the program reads from its
// surroundings, so tests can run it in-process. Help that was asked for goes to stdout
// and is no error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	err := dispatch(ctx, args, stdout, stderr, getenv)
	if h, ok := errors.AsType[helpText](err); ok {
		_, err = io.WriteString(stdout, string(h))
	}
	return err
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") && !isHelpFlag(args[0]) {
		return serve(ctx, args, stdout, stderr, getenv)
	}
	name, args := args[0], args[1:]
	switch name {
	case "serve":
		return serve(ctx, args, stdout, stderr, getenv)
	case "migrate":
		return migrate(ctx, args, stderr, getenv)
	case "keys":
		return keys(ctx, args, stdout, stderr, getenv)
	case "export":
		return export(ctx, args, stdout, stderr, getenv)
	case "healthcheck":
		return healthcheck(ctx, args, getenv)
	case "version":
		return version(args, stdout, getenv)
	case "help", "-h", "-help", "--help":
		if len(args) == 0 || args[0] == "help" || isHelpFlag(args[0]) {
			return helpText(overview())
		}
		// erasured help keys create is erasured keys create --help.
		return dispatch(ctx, append(args, "--help"), stdout, stderr, getenv)
	}
	return unknown("", name)
}

// serve runs the server until ctx ends (SIGINT or SIGTERM), then drains it.
func serve(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
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

func isHelpFlag(arg string) bool { return arg == "-h" || arg == "-help" || arg == "--help" }

// overview is erasured help: what erasured is, and its commands.
func overview() string {
	var b strings.Builder
	b.WriteString(`erasured is the system of record for GDPR personal-data erasure requests: a JSON:API
server on PostgreSQL or an embedded SQLite file, and the chores around it.

Usage: erasured <command> [flags]

Commands:
`)
	for _, c := range commands {
		if !strings.Contains(c.name, " ") {
			fmt.Fprintf(&b, "  %-12s %s\n", c.name, c.summary)
		}
	}
	b.WriteString(`
erasured <command> --help shows a command's flags. Every flag can also be set by the
environment variable that its help names; a flag on the command line wins.
`)
	return b.String()
}

// keys dispatches the commands of the keys group.
func keys(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		return fmt.Errorf("keys needs a command:\n\n%s", groupHelp("keys"))
	}
	switch args[0] {
	case "create":
		return createKey(ctx, args[1:], stdout, getenv)
	case "list":
		return listKeys(ctx, args[1:], stdout, getenv)
	case "revoke", "rotate":
		return changeKey(ctx, args[0], args[1:], stdout, stderr, getenv)
	case "-h", "-help", "--help", "help":
		return helpText(groupHelp("keys"))
	}
	return unknown("keys", args[0])
}

// groupHelp lists the commands of a group.
func groupHelp(group string) string {
	g, _ := lookup(group)
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: erasured %s %s\n\n%s.\n\nCommands:\n", group, g.synopsis, capitalize(g.summary))
	for _, c := range commands {
		if sub, ok := strings.CutPrefix(c.name, group+" "); ok {
			fmt.Fprintf(&b, "  %-12s %s\n", sub, c.summary)
		}
	}
	fmt.Fprintf(&b, "\nerasured %s <command> --help shows a command's flags.\n", group)
	return b.String()
}

// unknown is the error for a command that does not exist: it suggests the closest one
// when there is one close enough to be a slip of the fingers.
func unknown(group, name string) error {
	prefix, full := "", name
	if group != "" {
		prefix, full = group+" ", group+" "+name
	}
	best, bestDistance := "", 3 // more than two edits away is not a typo
	for _, c := range commands {
		sub, ok := strings.CutPrefix(c.name, prefix)
		if !ok || strings.Contains(sub, " ") {
			continue
		}
		if d := editDistance(name, sub); d < bestDistance {
			best, bestDistance = sub, d
		}
	}
	hint := "erasured help lists the commands"
	if group != "" {
		hint = "erasured " + group + " --help lists them"
	}
	if best != "" {
		return fmt.Errorf("unknown command %q: did you mean %q? (%s)", full, prefix+best, hint)
	}
	return fmt.Errorf("unknown command %q (%s)", full, hint)
}

// editDistance is the optimal string alignment distance between a and b: the edits
// (insertion, deletion, substitution, or swap of neighbours) that turn one into the other,
// so that "exprot" is one edit from "export".
func editDistance(a, b string) int {
	x, y := []rune(a), []rune(b)
	d := make([][]int, len(x)+1)
	for i := range d {
		d[i] = make([]int, len(y)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(x); i++ {
		for j := 1; j <= len(y); j++ {
			cost := 1
			if x[i-1] == y[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && x[i-1] == y[j-2] && x[i-2] == y[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(x)][len(y)]
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// helpText is help that was asked for (-h, --help, erasured help): run prints it on
// stdout and succeeds.
type helpText string

func (h helpText) Error() string { return string(h) }

// flags is a FlagSet whose flags fall back to environment variables.
type flags struct {
	*flag.FlagSet
	env    map[string]string // flag name → variable
	getenv func(string) string
}

// newFlags makes the flags of command name. Errors and help are returned by parse, not
// printed, so the help that was asked for can go to stdout and mistakes to stderr.
func newFlags(name string, getenv func(string) string) *flags {
	fs := flag.NewFlagSet("erasured "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return &flags{FlagSet: fs, env: map[string]string{}, getenv: getenv}
}

// fromEnv marks flag name as settable through variable env.
func (f *flags) fromEnv(name, env string) {
	f.env[name] = env
	fl := f.Lookup(name)
	fl.Usage += " (env " + env + ")"
}

// parse applies the environment, then the command line, which wins. -h and --help
// return the command's help as a helpText.
func (f *flags) parse(args []string) error {
	for name, env := range f.env {
		if v := f.getenv(env); v != "" {
			if err := f.Set(name, v); err != nil {
				return fmt.Errorf("%s: %w", env, err)
			}
		}
	}
	if err := f.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return helpText(f.help())
		}
		return fmt.Errorf("%w (%s --help lists the flags)", err, f.Name())
	}
	if f.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q (%s --help lists the flags)", f.Arg(0), f.Name())
	}
	return nil
}

// help is the command's usage line, its summary and its flags, each with its default.
func (f *flags) help() string {
	name := strings.TrimPrefix(f.Name(), "erasured ")
	c, _ := lookup(name)
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n%s.\n", strings.TrimSpace("Usage: erasured "+name+" "+c.synopsis), capitalize(c.summary))
	first := true
	f.VisitAll(func(fl *flag.Flag) {
		if first {
			b.WriteString("\nFlags:\n")
			first = false
		}
		kind, usage := flag.UnquoteUsage(fl)
		fmt.Fprintf(&b, "  --%s %s\n      %s", fl.Name, kind, usage)
		if fl.DefValue != "" && fl.DefValue != "0" && fl.DefValue != "false" && fl.DefValue != "0s" {
			fmt.Fprintf(&b, " (default %s)", fl.DefValue)
		}
		b.WriteString("\n")
	})
	return b.String()
}

func (f *flags) databaseURL() *string {
	p := f.String("database-url", "sqlite:erasured.db", "postgres://… for PostgreSQL, sqlite:PATH for the embedded store")
	f.fromEnv("database-url", "DATABASE_URL")
	return p
}
