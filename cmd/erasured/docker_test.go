package main

import (
	"bufio"
	"debug/elf"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// moduleRoot is the repository's top, from this package's folder: the Dockerfile's
// build context.
var moduleRoot = filepath.Join("..", "..")

// image is what the tests read of the Dockerfile: no container runtime runs here, so
// they build and run the binary as the image would.
type image struct {
	build       []string          // the go build command of the build stage, words as the shell splits them
	buildEnv    []string          // the variables set on that command line
	env         map[string]string // the final stage's ENV
	entrypoint  []string
	cmd         []string
	healthcheck []string // HEALTHCHECK's CMD
	user        string
}

// readDockerfile reads the instructions the tests use. It knows only the forms the
// Dockerfile's header asks for, and fails on anything it cannot read.
func readDockerfile() (*image, error) {
	f, err := os.Open(filepath.Join(moduleRoot, "Dockerfile"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	img := &image{env: map[string]string{}}
	var lines []string
	sc := bufio.NewScanner(f)
	for line := ""; sc.Scan(); {
		text := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(text, "#") {
			continue
		}
		if cont, ok := strings.CutSuffix(text, `\`); ok {
			line += cont + " "
			continue
		}
		if line += text; line != "" {
			lines = append(lines, line)
		}
		line = ""
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	jsonArray := func(s string) ([]string, error) {
		var a []string
		if err := json.Unmarshal([]byte(s), &a); err != nil || len(a) == 0 {
			return nil, fmt.Errorf("not a JSON array of words: %s", s)
		}
		return a, nil
	}
	for _, l := range lines {
		instr, rest, _ := strings.Cut(l, " ")
		switch strings.ToUpper(instr) {
		case "FROM":
			img.env = map[string]string{} // only the final stage counts
		case "RUN":
			words, err := shellWords(rest)
			if err != nil {
				return nil, err
			}
			i := 0
			for i < len(words) && strings.Contains(words[i], "=") {
				i++
			}
			if i+1 < len(words) && words[i] == "go" && words[i+1] == "build" {
				img.buildEnv, img.build = words[:i], words[i:]
			}
		case "ENV":
			k, v, ok := strings.Cut(rest, "=")
			if !ok || strings.ContainsAny(v, ` "'$`) {
				return nil, fmt.Errorf("ENV must be one KEY=value without quotes or spaces: %s", l)
			}
			img.env[k] = v
		case "ENTRYPOINT":
			if img.entrypoint, err = jsonArray(rest); err != nil {
				return nil, err
			}
		case "CMD":
			if img.cmd, err = jsonArray(rest); err != nil {
				return nil, err
			}
		case "HEALTHCHECK":
			_, cmd, ok := strings.Cut(rest, "CMD ")
			if !ok {
				return nil, fmt.Errorf("HEALTHCHECK without CMD: %s", l)
			}
			if img.healthcheck, err = jsonArray(cmd); err != nil {
				return nil, err
			}
		case "USER":
			img.user = rest
		}
	}
	if img.build == nil || img.entrypoint == nil || img.healthcheck == nil {
		return nil, fmt.Errorf("the Dockerfile has no go build, ENTRYPOINT or HEALTHCHECK that the test can read")
	}
	return img, nil
}

// shellWords splits a command line as the shell would, for what a Dockerfile's RUN line
// holds: words, and double or single quotes inside or around them.
func shellWords(s string) ([]string, error) {
	var words []string
	var w strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			w.WriteRune(r)
		case r == '"' || r == '\'':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words, inWord = append(words, w.String()), false
				w.Reset()
			}
		case strings.ContainsRune(`$\;&|<>()`+"`", r):
			return nil, fmt.Errorf("RUN line too clever for the test: %q", s)
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("unterminated quote: %s", s)
	}
	if inWord {
		words = append(words, w.String())
	}
	return words, nil
}

// buildAsTheImage builds erasured into dir with the Dockerfile's own go build command,
// its -o aside, and returns the binary's path.
func buildAsTheImage(dir string) (string, error) {
	img, err := readDockerfile()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "erasured")
	args := append([]string(nil), img.build[1:]...)
	for i := range args {
		if args[i] == "-o" && i+1 < len(args) {
			args[i+1] = bin
		}
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = moduleRoot
	cmd.Env = append(os.Environ(), img.buildEnv...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%s %s: %v\n%s", strings.Join(img.buildEnv, " "), strings.Join(cmd.Args, " "), err, out)
	}
	return bin, nil
}

// The image's binary runs as the image would run it: built as the Dockerfile builds it,
// started as its ENTRYPOINT, CMD and ENV say (its /data a directory of the test's, and
// as its USER when the test may switch users), it is static, answers /healthz, passes
// the HEALTHCHECK, and puts the first API key in the file under /data, where it works.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	img, err := readDockerfile()
	if err != nil {
		t.Fatal(err)
	}
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary is dynamically linked; the distroless static image has no C library")
		}
	}
	ef.Close()

	uid, gid, err := numericUser(img.user)
	if err != nil || uid == 0 {
		t.Fatalf("USER %q: the image must run as a numbered user other than root (%v)", img.user, err)
	}
	// /data, reachable by the image's user. The data directory is made under /tmp, as
	// the test's own temporary directory is closed to other users.
	data, err := os.MkdirTemp("", "erasured-data-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(data) })
	asUser := os.Geteuid() == 0
	if asUser {
		if err := os.Chown(data, uid, gid); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	var environ []string
	for k, v := range img.env {
		if k == "ERASURED_ADDR" {
			v = addr // the image's port may be taken here
		}
		environ = append(environ, k+"="+strings.ReplaceAll(v, "/data", data))
	}
	containerCommand := func(argv []string) *exec.Cmd {
		cmd := exec.Command(bin, argv[1:]...)
		cmd.Env = environ
		cmd.Dir = "/" // distroless's, and not writable: everything goes to /data
		if asUser {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		}
		return cmd
	}
	for _, argv := range [][]string{img.entrypoint, img.healthcheck} {
		if !strings.HasSuffix(argv[0], "/erasured") {
			t.Fatalf("%v does not run erasured", argv)
		}
	}

	server := containerCommand(append(img.entrypoint, img.cmd...))
	var logs strings.Builder
	server.Stdout, server.Stderr = &logs, &logs
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- server.Wait() }()
	t.Cleanup(func() {
		_ = server.Process.Kill()
		<-done
	})
	deadline := time.Now().Add(time.Minute)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		select {
		case err := <-done:
			done <- err
			t.Fatalf("the server exited: %v\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no answer on /healthz: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out, err := containerCommand(img.healthcheck).CombinedOutput(); err != nil {
		t.Errorf("HEALTHCHECK %v: %v\n%s", img.healthcheck, err, out)
	}

	keyFile := strings.ReplaceAll(img.env["ERASURED_FIRST_KEY_FILE"], "/data", data)
	if !strings.HasPrefix(keyFile, data+"/") {
		t.Fatalf("ERASURED_FIRST_KEY_FILE %q is not under /data", img.env["ERASURED_FIRST_KEY_FILE"])
	}
	fi, err := os.Stat(keyFile)
	if err != nil {
		t.Fatalf("the first key is not in its file: %v\n%s", err, logs.String())
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", keyFile, fi.Mode().Perm())
	}
	token, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/v2/personal-data/erasure-requests", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the key in %s answers %d", keyFile, resp.StatusCode)
	}
	if _, err := os.Stat(strings.TrimPrefix(strings.ReplaceAll(img.env["DATABASE_URL"], "/data", data), "sqlite:")); err != nil {
		t.Errorf("the SQLite file is not under /data: %v", err)
	}

	// docker stop sends SIGTERM: the server drains and exits 0.
	if err := server.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Error("no exit within 30s of SIGTERM")
	}
	if err := containerCommand(img.healthcheck).Run(); err == nil {
		t.Error("HEALTHCHECK passes with the server stopped")
	}
}

// numericUser reads USER uid[:gid]; the group defaults to the user's number.
func numericUser(user string) (uid, gid int, err error) {
	u, g, hasGroup := strings.Cut(user, ":")
	if uid, err = strconv.Atoi(u); err != nil {
		return 0, 0, err
	}
	gid = uid
	if hasGroup {
		if gid, err = strconv.Atoi(g); err != nil {
			return 0, 0, err
		}
	}
	return uid, gid, nil
}

// erasured version names the module version and the revision it was built from, which
// the image's build stamps from the repository. The go command stamps only a repository
// whose .git is a directory, so in a git worktree (.git is a file there) the binary
// knows neither, and says so.
func TestVersion(t *testing.T) {
	t.Parallel()
	bin, err := binary()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"erasured (devel)", "revision unknown"}
	if fi, err := os.Stat(filepath.Join(moduleRoot, ".git")); err == nil && fi.IsDir() {
		head := exec.Command("git", "rev-parse", "HEAD")
		head.Dir = moduleRoot
		rev, err := head.Output()
		if err != nil {
			t.Fatalf("git rev-parse HEAD: %v", err)
		}
		want = []string{"erasured v", "revision " + strings.TrimSpace(string(rev))}
	} else {
		t.Logf("%s/.git is not a directory: the build has no VCS information to stamp", moduleRoot)
	}
	lines := strings.Split(string(out), "\n")
	if len(lines) < 3 || !strings.HasPrefix(lines[0], want[0]) || lines[1] != want[1] || !strings.HasPrefix(lines[2], "go1.") {
		t.Errorf("erasured version:\n%s\nwant %q, %q and the Go version", out, want[0], want[1])
	}
	if err := exec.Command(bin, "version", "extra").Run(); err == nil {
		t.Error("erasured version extra succeeded")
	}
}
