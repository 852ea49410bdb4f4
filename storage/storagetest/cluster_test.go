package storagetest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
)

// ping connects to the cluster and asks it something.
func ping(u string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	db, err := sqlx.Open("postgres", u)
	if err != nil {
		return err
	}
	defer db.Close()
	var one int
	return db.GetContext(ctx, &one, "SELECT 1")
}

// waitGone waits until dir no longer exists and nothing listens on port.
func waitGone(t *testing.T, dir string, port int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		_, statErr := os.Stat(dir)
		c, dialErr := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
		if dialErr == nil {
			c.Close()
		}
		if errors.Is(statErr, os.ErrNotExist) && dialErr != nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cluster outlived its owner: %s (%v), port %d (%v)", dir, statErr, port, dialErr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A test's cluster answers, stops and starts again on the same port, and is gone, its
// directory removed, once the test ends.
func TestClusterOfATest(t *testing.T) {
	t.Parallel()
	var c *Cluster
	t.Run("use", func(t *testing.T) {
		c = NewCluster(t)
		if err := ping(c.URL()); err != nil {
			t.Fatal(err)
		}
		c.Stop(t)
		if err := ping(c.URL()); err == nil {
			t.Fatal("the stopped cluster answers")
		}
		c.Start(t)
		if err := ping(c.URL()); err != nil {
			t.Fatalf("after Start: %v", err)
		}
	})
	if _, err := os.Stat(c.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the cluster's directory is still there after its test: %v", err)
	}
	if err := ping(c.URL()); err == nil {
		t.Error("the cluster still answers after its test")
	}
}

// TestMain doubles as the child process of TestClusterEndsWithItsProcess.
func TestMain(m *testing.M) {
	if os.Getenv("STORAGETEST_CLUSTER_CHILD") == "1" {
		clusterChild()
		return
	}
	os.Exit(m.Run())
}

// clusterChild starts a cluster as PostgresURL would, says where, and waits to be killed.
func clusterChild() {
	c, err := startCluster()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fmt.Printf("cluster %s %d\n", c.dir, c.port)
	_, _ = io.Copy(io.Discard, os.Stdin) // the parent never closes it
	runtime.KeepAlive(c)                 // collected, c's pipe would close and end the cluster
}

// A cluster ends with the process that started it, even one killed without a chance to
// clean up: this test starts a process that starts a cluster, kills it, and waits for
// the cluster to stop and its directory to go.
func TestClusterEndsWithItsProcess(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "STORAGETEST_CLUSTER_CHILD=1")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var dir string
	var port int
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if n, _ := fmt.Sscanf(sc.Text(), "cluster %s %d", &dir, &port); n == 2 {
			break
		}
	}
	if dir == "" {
		_ = cmd.Process.Kill()
		t.Fatalf("the child started no cluster: %v", cmd.Wait())
	}
	if err := ping(fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)); err != nil {
		t.Errorf("the child's cluster does not answer: %v", err)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // killed: its status says so
	waitGone(t, dir, port)
}

// Without initdb and pg_ctl, the error says which package brings them.
func TestNoServerBinaries(t *testing.T) {
	t.Parallel()
	_, err := serverBinaries([]string{t.TempDir(), "/nonexistent"})
	if err == nil || !strings.Contains(err.Error(), "apt-get install postgresql") {
		t.Fatalf("err %v, want one that names the package postgresql", err)
	}
}
