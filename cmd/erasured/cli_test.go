package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/erasured/erasured/storage/storagetest"
)

// erasured --help, -h and help list every command with its line; they succeed, and
// write to stdout only.
func TestHelpListsTheCommands(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}, {"help", "help"}} {
		var stdout, stderr bytes.Buffer
		if err := run(context.Background(), args, &stdout, &stderr, env(nil)); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
		if stderr.Len() > 0 {
			t.Errorf("%v wrote to stderr: %q", args, stderr.String())
		}
		for _, name := range []string{"serve", "migrate", "keys", "export", "healthcheck", "version", "help"} {
			c, _ := lookup(name)
			if !regexp.MustCompile(`(?m)^  ` + name + ` +` + regexp.QuoteMeta(c.summary) + `$`).MatchString(stdout.String()) {
				t.Errorf("%v does not list %s with its line:\n%s", args, name, stdout.String())
			}
		}
	}
}

// Every command has --help, and help COMMAND says the same: the usage line, the
// command's line, and each of its flags. The real program exits 0.
func TestEveryCommandHasHelp(t *testing.T) {
	t.Parallel()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	flagsOf := map[string][]string{
		"serve":       {"--addr", "--database-url", "--erasure-services", "--first-key-file", "--key-cache-ttl"},
		"migrate":     {"--database-url"},
		"keys create": {"--name", "--email", "--store", "--scopes", "--database-url"},
		"export":      {"--type", "--filter", "--format", "--server", "--token-file", "--store", "--database-url"},
		"healthcheck": {"--addr"},
	}
	for _, c := range commands {
		args := append(strings.Fields(c.name), "--help")
		out, err := exec.Command(bin, args...).Output()
		if err != nil {
			t.Errorf("erasured %v: %v", args, err)
			continue
		}
		if c.name == "help" {
			if !strings.Contains(string(out), "\nUsage: erasured <command> [flags]\n") {
				t.Errorf("erasured help --help:\n%s", out)
			}
			continue
		}
		usage, _, _ := strings.Cut(string(out), "\n")
		if usage != strings.TrimSpace("Usage: erasured "+c.name+" "+c.synopsis) || !strings.Contains(string(out), capitalize(c.summary)) {
			t.Errorf("erasured %v:\n%s", args, out)
		}
		for _, f := range flagsOf[c.name] {
			if !strings.Contains(string(out), "\n  "+f+" ") {
				t.Errorf("erasured %v does not describe %s:\n%s", args, f, out)
			}
		}
		var viaHelp bytes.Buffer
		if err := run(context.Background(), append([]string{"help"}, strings.Fields(c.name)...), &viaHelp, io.Discard, env(nil)); err != nil {
			t.Errorf("erasured help %s: %v", c.name, err)
		}
		if viaHelp.String() != string(out) {
			t.Errorf("erasured help %s differs from erasured %s --help:\n%s", c.name, c.name, viaHelp.String())
		}
	}
}

// A mistyped command fails, with the closest command when one is a slip away; the real
// program exits 1 and says so on stderr.
func TestUnknownCommands(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"exprot"}, `unknown command "exprot": did you mean "export"?`},
		{[]string{"serv", "--addr", ":0"}, `did you mean "serve"?`},
		{[]string{"kyes", "create"}, `did you mean "keys"?`},
		{[]string{"keys", "craete"}, `unknown command "keys craete": did you mean "keys create"?`},
		{[]string{"help", "verison"}, `did you mean "version"?`},
		{[]string{"frobnicate"}, `unknown command "frobnicate" (erasured help lists the commands)`},
		{[]string{"keys", "lsit"}, `unknown command "keys lsit": did you mean "keys list"?`},
		{[]string{"keys", "frobnicate"}, `unknown command "keys frobnicate" (erasured keys --help lists them)`},
		{[]string{"keys", "revoke"}, "usage: erasured keys revoke ID"},
		{[]string{"keys"}, "keys needs a command"},
	} {
		var stdout bytes.Buffer
		err := run(context.Background(), c.args, &stdout, io.Discard, env(nil))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: got %v, want %q", c.args, err, c.want)
		}
		if stdout.Len() > 0 {
			t.Errorf("%v wrote to stdout: %q", c.args, stdout.String())
		}
	}
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "exprot")
	cmd.Stderr = &stderr
	err = cmd.Run()
	if exit, ok := errors.AsType[*exec.ExitError](err); !ok || exit.ExitCode() != 1 || !strings.Contains(stderr.String(), `did you mean "export"?`) {
		t.Errorf("erasured exprot: %v, stderr %q", err, stderr.String())
	}
}

// erasured healthcheck succeeds while the server at ERASURED_ADDR answers /healthz, and
// fails once it is gone.
func TestHealthcheck(t *testing.T) {
	t.Parallel()
	m, _ := start(t, []string{"--database-url", "sqlite:" + filepath.Join(t.TempDir(), "h.db")}, nil)
	addr := env(map[string]string{"ERASURED_ADDR": m.Addr()})
	if err := run(context.Background(), []string{"healthcheck"}, io.Discard, io.Discard, addr); err != nil {
		t.Fatalf("while the server runs: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if err := run(context.Background(), []string{"healthcheck"}, io.Discard, io.Discard, addr); err == nil {
		t.Error("healthcheck succeeded with the server stopped")
	}
}

// openPTY opens a pseudo-terminal: what a program writes to terminal (a terminal to
// isatty, as a user's is) can be read from control.
func openPTY(t *testing.T) (control, terminal *os.File) {
	t.Helper()
	control, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { control.Close() })
	var unlock int32
	var n uint32
	for _, ioctl := range []struct {
		req uintptr
		arg unsafe.Pointer
	}{{syscall.TIOCSPTLCK, unsafe.Pointer(&unlock)}, {syscall.TIOCGPTN, unsafe.Pointer(&n)}} {
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, control.Fd(), ioctl.req, uintptr(ioctl.arg)); errno != 0 {
			t.Fatalf("pty ioctl %#x: %v", ioctl.req, errno)
		}
	}
	terminal, err = os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	return control, terminal
}

// The progress bar's figures are true from the first: behind a server that takes
// pageDelay for each page, no figure may claim more than a page per pageDelay. (The bar
// used to start its clock only when the first page had arrived, and its first rate read
// millions a second.)
func TestExportProgressRate(t *testing.T) {
	t.Parallel()
	const pageDelay = 300 * time.Millisecond
	dbURL := storagetest.URL(t, "sqlite")
	m, out := start(t, nil, map[string]string{"DATABASE_URL": dbURL})
	seedErasures(t, dbURL, "default", 250)
	proxy := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: "http", Host: m.Addr()})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(pageDelay) // a slow server, not a wait for anything
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(slow.Close)

	control, terminal := openPTY(t)
	drawn := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(control) // until the terminal end closes (EIO)
		drawn <- string(b)
	}()
	var stdout bytes.Buffer
	err := run(context.Background(), []string{"export", "--type", "erasure_request", "--server", slow.URL}, &stdout, terminal,
		env(map[string]string{"ERASURED_TOKEN": tokenRE.FindString(out.String())}))
	terminal.Close()
	if err != nil {
		t.Fatal(err)
	}
	screen := <-drawn
	figures := regexp.MustCompile(`\((\d+)/(\d+), (\d+) it/(s|min|hr)\)`).FindAllStringSubmatch(screen, -1)
	if len(figures) == 0 {
		t.Fatalf("no progress figures on the terminal:\n%q", screen)
	}
	perSecond := map[string]float64{"s": 1, "min": 1.0 / 60, "hr": 1.0 / 3600}
	limit := float64(exportPageSize)/pageDelay.Seconds() + 1 // +1: the bar rounds
	for _, f := range figures {
		rate, _ := strconv.ParseFloat(f[3], 64)
		if rate*perSecond[f[4]] > limit {
			t.Errorf("the bar claims %s while no more than %.0f records a second can arrive:\n%q", f[0], limit, screen)
		}
	}
	if last := figures[len(figures)-1]; last[1] != "250" || last[2] != "250" {
		t.Errorf("the last figures are %s, want 250/250", last[0])
	}
	if n := strings.Count(stdout.String(), "\n"); n != 250 {
		t.Errorf("%d records exported, want 250", n)
	}
	t.Logf("figures: %v", fmt.Sprint(figures))
}
