package storagetest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// A Cluster is a throwaway PostgreSQL cluster made with the machine's own server binaries
// (initdb and pg_ctl, from Debian's package postgresql or any other install) in a new
// temporary directory, listening on a free port of 127.0.0.1. It needs no running server
// and touches none.
//
// PostgreSQL refuses to run as root, so a test process running as root runs its clusters
// as the user postgres, which the server package creates.
//
// A cluster never outlives the process that made it. Beside it runs a small shell, the
// reaper, that reads a pipe whose other end only this process holds; when the process
// ends, however it ends (tests done, a failure, a panic, a timeout, a kill), the pipe
// closes and the reaper stops the cluster at once and removes its directory.
type Cluster struct {
	bin  string // the directory of initdb and pg_ctl
	dir  string // data/, the log, and the socket
	port int
	// asUser is the user that runs PostgreSQL's commands, when that is not this process's.
	asUser string

	reaper *exec.Cmd
	// release is the reaper's end of the world: closing it makes the reaper stop the
	// cluster and remove dir.
	release *os.File
}

// NewCluster starts a cluster of its own for one test, which may stop and start it. It
// is stopped and removed when the test ends. Without PostgreSQL's server binaries on the
// machine the test fails, saying which package to install.
func NewCluster(tb testing.TB) *Cluster {
	tb.Helper()
	c, err := startCluster()
	if err != nil {
		tb.Fatalf("storagetest: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.remove(); err != nil {
			tb.Errorf("storagetest: %v", err)
		}
	})
	return c
}

// URL is the cluster's database postgres, as its superuser postgres, which needs no
// password.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.port)
}

// Stop shuts the cluster down (fast: open connections are broken), as an outage would.
func (c *Cluster) Stop(tb testing.TB) {
	tb.Helper()
	if err := c.pg("pg_ctl", "-D", c.data(), "-m", "fast", "-w", "stop"); err != nil {
		tb.Fatalf("storagetest: %v", err)
	}
}

// Start starts a stopped cluster again, on the same port, and returns once it accepts
// connections.
func (c *Cluster) Start(tb testing.TB) {
	tb.Helper()
	if err := c.start(); err != nil {
		tb.Fatalf("storagetest: %v", err)
	}
}

// startCluster makes a cluster and its reaper, and starts it. On error nothing is left
// behind.
func startCluster() (_ *Cluster, err error) {
	bin, err := serverBinaries(postgresBinDirs())
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin}
	if os.Geteuid() == 0 {
		if _, err := user.Lookup("postgres"); err != nil {
			return nil, fmt.Errorf("the tests run as root, which PostgreSQL refuses, and there is no user postgres to run it as (%w): run them as another user, or install Debian's package postgresql, which makes that user", err)
		}
		c.asUser = "postgres"
	}
	// The directory's user must be able to reach it, and it must be short: it holds the
	// socket, whose path may not exceed about 100 bytes.
	if c.dir, err = os.MkdirTemp("", "erasured-pg-"); err != nil {
		return nil, fmt.Errorf("cluster directory: %w", err)
	}
	if err := c.startReaper(); err != nil {
		os.RemoveAll(c.dir)
		return nil, err
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, c.remove())
		}
	}()
	if c.asUser != "" {
		if err := runCommand(exec.Command("chown", c.asUser+":", c.dir)); err != nil {
			return nil, err
		}
	}
	if err := c.pg("initdb", "-D", c.data(), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C",
		"--no-sync", "--no-instructions"); err != nil {
		return nil, err
	}
	if c.port, err = freePort(); err != nil {
		return nil, err
	}
	return c, c.start()
}

// startReaper starts the shell that stops and removes the cluster once release closes.
// It has a session of its own, so the terminal's Ctrl-C, which ends the tests, does not
// end it before it has cleaned up.
func (c *Cluster) startReaper() error {
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("reaper: %w", err)
	}
	defer r.Close()
	stop := c.command("pg_ctl", "-D", c.data(), "-m", "immediate", "-w", "stop")
	c.reaper = exec.Command("sh", append([]string{"-c", `dir=$1; shift; read -r _; "$@" >/dev/null 2>&1; rm -rf "$dir"`,
		"erasured-pg-reaper", c.dir}, stop.Args...)...)
	c.reaper.Stdin = r
	c.reaper.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.reaper.Start(); err != nil {
		w.Close()
		return fmt.Errorf("reaper: %w", err)
	}
	c.release = w
	return nil
}

// remove stops the cluster and removes its directory, through the reaper, and waits
// until that is done.
func (c *Cluster) remove() error {
	c.release.Close()
	if err := c.reaper.Wait(); err != nil {
		return fmt.Errorf("removing the cluster in %s: %w", c.dir, err)
	}
	if _, err := os.Stat(c.dir); !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("the cluster's directory %s is still there (%v)", c.dir, err)
	}
	return nil
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

func (c *Cluster) start() error {
	// fsync and friends are off: a throwaway cluster need not survive a power cut, and
	// tests write a lot. -t: a busy machine may take its time.
	return c.pg("pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "log"), "-w", "-t", "120", "-o",
		fmt.Sprintf("-p %d -c listen_addresses=127.0.0.1 -k %s -c fsync=off -c synchronous_commit=off -c full_page_writes=off", c.port, c.dir),
		"start")
}

// pg runs one of PostgreSQL's programs, as asUser when there is one.
func (c *Cluster) pg(name string, args ...string) error {
	err := runCommand(c.command(name, args...))
	if err != nil && name == "pg_ctl" {
		if log, readErr := os.ReadFile(filepath.Join(c.dir, "log")); readErr == nil {
			err = fmt.Errorf("%w\nthe server's log:\n%s", err, log)
		}
	}
	return err
}

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	path := filepath.Join(c.bin, name)
	if c.asUser != "" {
		return exec.Command("runuser", append([]string{"-u", c.asUser, "--", path}, args...)...)
	}
	return exec.Command(path, args...)
}

func runCommand(cmd *exec.Cmd) error {
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// postgresBinDirs lists where PostgreSQL's server binaries may be, most likely first:
// where pg_config says, Debian's /usr/lib/postgresql/VERSION/bin (newest first), and
// the directories of PATH (Fedora, Homebrew).
func postgresBinDirs() []string {
	var dirs []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(versions, func(a, b string) int { return majorVersion(b) - majorVersion(a) })
	dirs = append(dirs, versions...)
	return append(dirs, filepath.SplitList(os.Getenv("PATH"))...)
}

// majorVersion is the major version of /usr/lib/postgresql/VERSION/bin (9 for 9.6), or 0.
func majorVersion(dir string) int {
	v := filepath.Base(filepath.Dir(dir))
	n, _ := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	return n
}

// serverBinaries returns the first of dirs that holds both initdb and pg_ctl. A machine
// with only PostgreSQL's client has pg_config and psql, but neither of those.
func serverBinaries(dirs []string) (string, error) {
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
	}
	return "", errors.New("this machine has no PostgreSQL server binaries (initdb and pg_ctl) to start a throwaway cluster with: " +
		"install Debian's package postgresql (apt-get install postgresql; on other systems, PostgreSQL's server package)")
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}
