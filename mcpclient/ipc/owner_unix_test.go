//go:build unix

package ipc_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient/ipc"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// otherUID is the user the tests play the attacker as (nobody).
const otherUID = 65534

func TestMain(m *testing.M) {
	if os.Getenv("MCPTRAY_TEST_FOREIGN") == "listen" {
		os.Exit(foreignListener(os.Getenv("MCPTRAY_TEST_SOCK")))
	}
	code := m.Run()
	if exePath != "" {
		os.RemoveAll(filepath.Dir(exePath))
	}
	if bridgeDir != "" {
		os.RemoveAll(bridgeDir)
	}
	os.Exit(code)
}

// foreignListener is the attacker: run as another user, it creates the
// socket's directory in the temp dir before the victim's hub does, listens
// there as if it were the hub, answers every hello with OK and counts the
// connections and bytes it gets. It prints "ready", then, once its stdin
// closes, "conns=N bytes=M".
func foreignListener(sock string) int {
	if err := os.Mkdir(filepath.Dir(sock), 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		fmt.Println("mkdir:", err)
		return 1
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		fmt.Println("listen:", err)
		return 1
	}
	_ = os.Chmod(sock, 0o777)
	var conns, nbytes atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				answered := false
				for {
					b, err := r.ReadByte()
					if err != nil {
						return
					}
					nbytes.Add(1)
					if b == '\n' && !answered {
						answered = true
						_, _ = c.Write([]byte(`{"ok":true,"hub":{"pid":1,"version":"evil","mode":"headless"}}` + "\n"))
					}
				}
			}()
		}
	}()
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	time.Sleep(100 * time.Millisecond) // let reads in flight land
	fmt.Printf("conns=%d bytes=%d\n", conns.Load(), nbytes.Load())
	return 0
}

type foreign struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
	done  bool
	conns int
	bytes int
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to play another user (uid 65534); CI runs these as root")
	}
}

// exeOnce copies the test binary where another user may run it (go test
// builds it in a 0700 directory).
var (
	exeOnce sync.Once
	exePath string
	exeErr  error
)

func foreignExe(t *testing.T) string {
	t.Helper()
	exeOnce.Do(func() {
		self, err := os.Executable()
		if err != nil {
			exeErr = err
			return
		}
		dir, err := os.MkdirTemp("", "mcptray-ipc-test-")
		if err != nil {
			exeErr = err
			return
		}
		_ = os.Chmod(dir, 0o755)
		b, err := os.ReadFile(self)
		if err != nil {
			exeErr = err
			return
		}
		exePath = filepath.Join(dir, "ipc.test")
		exeErr = os.WriteFile(exePath, b, 0o755)
	})
	if exeErr != nil {
		t.Fatal(exeErr)
	}
	return exePath
}

// startForeign runs the attacker's listener on sock as uid 65534.
func startForeign(t *testing.T, sock string) *foreign {
	t.Helper()
	cmd := exec.Command(foreignExe(t))
	cmd.Env = []string{"MCPTRAY_TEST_FOREIGN=listen", "MCPTRAY_TEST_SOCK=" + sock, "TMPDIR=" + os.TempDir()}
	cmd.Dir = "/"
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: otherUID, Gid: otherUID}}
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f := &foreign{cmd: cmd, stdin: stdin, out: bufio.NewReader(stdout)}
	t.Cleanup(func() {
		f.stop(t)
		os.RemoveAll(filepath.Dir(sock))
	})
	line, err := f.out.ReadString('\n')
	if strings.TrimSpace(line) != "ready" {
		t.Fatalf("the other user's listener did not start: %q %v", line, err)
	}
	return f
}

// stop ends the listener and reads what it received.
func (f *foreign) stop(t *testing.T) {
	t.Helper()
	if f.done {
		return
	}
	f.done = true
	f.stdin.Close()
	line, _ := f.out.ReadString('\n')
	_ = f.cmd.Wait()
	if _, err := fmt.Sscanf(strings.TrimSpace(line), "conns=%d bytes=%d", &f.conns, &f.bytes); err != nil {
		t.Errorf("the other user's listener reported %q: %v", line, err)
	}
}

// deepHome is a state dir too deep for a socket path, so that the socket
// goes to the temp-dir fallback.
func deepHome(t *testing.T) (home, sock string) {
	t.Helper()
	home = filepath.Join(t.TempDir(), strings.Repeat("d", 60), strings.Repeat("e", 60))
	sock = paths.Socket(home)
	if filepath.Dir(filepath.Dir(sock)) != filepath.Clean(os.TempDir()) {
		t.Fatalf("socket %s is not in the temp-dir fallback", sock)
	}
	return home, sock
}

func wantUnsafe(t *testing.T, err error, parts ...string) {
	t.Helper()
	var ue *ipc.UnsafeError
	if !errors.As(err, &ue) {
		t.Fatalf("want an *ipc.UnsafeError, got %v", err)
	}
	t.Logf("refused: %v", err)
	if errors.Is(err, ipc.ErrNoHub) {
		t.Errorf("an unsafe socket must not read as ErrNoHub (that starts a hub): %v", err)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("error lacks %q: %v", p, err)
		}
	}
}

func ping(sock string) (*ipc.Reply, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return ipc.Request(ctx, sock, ipc.Hello{Op: ipc.OpPing})
}

// TestClientRefusesForeignSocketDir: another user created the temp-dir
// fallback first and listens there. The client refuses before connecting.
func TestClientRefusesForeignSocketDir(t *testing.T) {
	needRoot(t)
	_, sock := deepHome(t)
	f := startForeign(t, sock)
	rep, err := ping(sock)
	if err == nil {
		t.Errorf("the client took the other user's answer as the hub's: %+v", rep.Hub)
	}
	wantUnsafe(t, err, sock, filepath.Dir(sock), "owned by uid 65534", "this user (uid 0)", "MCPTRAY_HOME")
	f.stop(t)
	if f.conns != 0 || f.bytes != 0 {
		t.Errorf("the other user's listener got %d connections and %d bytes; want none", f.conns, f.bytes)
	}
}

// TestClientRefusesForeignSocketFile: the directory is ours, but the socket
// in it belongs to another user.
func TestClientRefusesForeignSocketFile(t *testing.T) {
	needRoot(t)
	_, sock := deepHome(t)
	f := startForeign(t, sock)
	dir := filepath.Dir(sock)
	if err := os.Chown(dir, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := ping(sock)
	wantUnsafe(t, err, "the socket file", "owned by uid 65534")
	f.stop(t)
	if f.conns != 0 || f.bytes != 0 {
		t.Errorf("the other user's listener got %d connections and %d bytes; want none", f.conns, f.bytes)
	}
}

// TestClientRefusesForeignPeer: the socket file and its directory look like
// ours (say another user swapped them in after we checked, or root chowned
// them), but the process answering runs as another user. Linux tells the
// peer's uid; the client hangs up without sending a byte.
func TestClientRefusesForeignPeer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the peer's uid is checked on Linux only (SO_PEERCRED)")
	}
	needRoot(t)
	_, sock := deepHome(t)
	f := startForeign(t, sock)
	dir := filepath.Dir(sock)
	for _, p := range []string{dir, sock} {
		if err := os.Chown(p, 0, 0); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	_, err := ping(sock)
	wantUnsafe(t, err, "the process listening on it runs as uid 65534", "this user (uid 0)")
	f.stop(t)
	if f.bytes != 0 {
		t.Errorf("the other user's listener got %d bytes; want none", f.bytes)
	}
}

// serveOwn listens on sock in this process and answers pings.
func serveOwn(t *testing.T, sock string) {
	t.Helper()
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				if _, err := bufio.NewReader(c).ReadBytes('\n'); err == nil {
					_, _ = c.Write([]byte(`{"ok":true,"hub":{"pid":2,"version":"ours","mode":"headless"}}` + "\n"))
				}
			}()
		}
	}()
}

// TestClientOwnSocket: this user's own socket works, a missing one is
// ErrNoHub, and one in a directory others may write to is refused.
func TestClientOwnSocket(t *testing.T) {
	dir, err := os.MkdirTemp("", "mt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "hub.sock")
	if _, err := ping(sock); !errors.Is(err, ipc.ErrNoHub) {
		t.Fatalf("no socket: want ErrNoHub, got %v", err)
	}
	if _, err := ping(filepath.Join(dir, "gone", "hub.sock")); !errors.Is(err, ipc.ErrNoHub) {
		t.Fatalf("no directory: want ErrNoHub, got %v", err)
	}
	serveOwn(t, sock)
	rep, err := ping(sock)
	if err != nil || rep.Hub == nil || rep.Hub.Version != "ours" {
		t.Fatalf("own socket: %+v %v", rep, err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err = ping(sock)
	wantUnsafe(t, err, dir, "writable by group or others (mode 0777)", "chmod 700")
}

// TestHubSocketDir: the hub creates the temp-dir fallback itself (0700),
// and refuses one another user created first, one of ours open to others,
// and a symbolic link planted there.
func TestHubSocketDir(t *testing.T) {
	t.Run("creates", func(t *testing.T) {
		_, sock := deepHome(t)
		t.Cleanup(func() { os.RemoveAll(filepath.Dir(sock)) })
		if err := ipc.PrepareSocketDir(sock); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Lstat(filepath.Dir(sock))
		if err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o700 {
			t.Fatalf("socket dir: %v %v", fi.Mode(), err)
		}
		if err := ipc.PrepareSocketDir(sock); err != nil {
			t.Fatalf("again: %v", err)
		}
	})
	t.Run("foreign", func(t *testing.T) {
		needRoot(t)
		_, sock := deepHome(t)
		dir := filepath.Dir(sock)
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(dir, otherUID, otherUID); err != nil {
			t.Fatal(err)
		}
		err := ipc.PrepareSocketDir(sock)
		wantUnsafe(t, err, "refusing to serve", dir, "owned by uid 65534", "Remove "+dir, "MCPTRAY_HOME")
	})
	t.Run("open", func(t *testing.T) {
		_, sock := deepHome(t)
		dir := filepath.Dir(sock)
		t.Cleanup(func() { os.RemoveAll(dir) })
		if err := os.Mkdir(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		wantUnsafe(t, ipc.PrepareSocketDir(sock), dir, "mode 0777")
		if err := os.Chmod(dir, 0o750); err != nil {
			t.Fatal(err)
		}
		wantUnsafe(t, ipc.PrepareSocketDir(sock), dir, "mode 0750, not 0700")
	})
	t.Run("symlink", func(t *testing.T) {
		needRoot(t)
		_, sock := deepHome(t)
		dir := filepath.Dir(sock)
		// The link points at a directory of ours with the right mode, so
		// following it (Stat) would pass: only Lstat sees the plant.
		target := t.TempDir()
		if err := os.Symlink(target, dir); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(dir) })
		if err := os.Lchown(dir, otherUID, otherUID); err != nil {
			t.Fatal(err)
		}
		wantUnsafe(t, ipc.PrepareSocketDir(sock), dir, "symbolic link owned by uid 65534")
		_, err := ping(sock)
		wantUnsafe(t, err, "refusing to connect", dir, "symbolic link")
	})
}

// TestHubStateDir: a state dir another user owns, or one others may write
// to, is refused; one of ours is made 0700.
func TestHubStateDir(t *testing.T) {
	t.Run("ours", func(t *testing.T) {
		home := filepath.Join(t.TempDir(), "home")
		if err := os.Mkdir(home, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := ipc.PrepareHome(home); err != nil {
			t.Fatal(err)
		}
		if fi, _ := os.Stat(home); fi.Mode().Perm() != 0o700 {
			t.Errorf("state dir mode %v, want 0700", fi.Mode())
		}
	})
	t.Run("foreign", func(t *testing.T) {
		needRoot(t)
		home := filepath.Join(t.TempDir(), "home")
		if err := os.Mkdir(home, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Chown(home, otherUID, otherUID); err != nil {
			t.Fatal(err)
		}
		wantUnsafe(t, ipc.PrepareHome(home), "state dir "+home, "owned by uid 65534", "MCPTRAY_HOME")
		// A client does not talk to a socket in it either.
		sock := filepath.Join(home, "hub.sock")
		serveOwn(t, sock)
		_, err := ping(sock)
		wantUnsafe(t, err, "refusing to connect", home, "owned by uid 65534")
	})
	t.Run("writable", func(t *testing.T) {
		home := filepath.Join(t.TempDir(), "home")
		if err := os.Mkdir(home, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(home, 0o775); err != nil {
			t.Fatal(err)
		}
		wantUnsafe(t, ipc.PrepareHome(home), home, "writable by group or others (mode 0775)", "chmod 700 "+home)
	})
}

// ---- the real bridge binary -------------------------------------------------

var (
	bridgeOnce sync.Once
	bridgeDir  string
	bridgeErr  error
)

// bridgeBin builds cmd/mcptray-bridge with a fake `mcptray` beside it that
// records being started (the bridge starts `mcptray serve` from there).
func bridgeBin(t *testing.T) string {
	t.Helper()
	bridgeOnce.Do(func() {
		bridgeDir, bridgeErr = os.MkdirTemp("", "mcptray-bridge-bin-")
		if bridgeErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", bridgeDir+string(os.PathSeparator), "github.com/mcptray/mcptray/cmd/mcptray-bridge").CombinedOutput()
		if err != nil {
			bridgeErr = fmt.Errorf("go build: %v\n%s", err, out)
			return
		}
		bridgeErr = os.WriteFile(filepath.Join(bridgeDir, "mcptray"), []byte("#!/bin/sh\necho \"$@\" >> \"$MCPTRAY_TEST_STARTED\"\n"), 0o755)
	})
	if bridgeErr != nil {
		t.Fatal(bridgeErr)
	}
	return filepath.Join(bridgeDir, "mcptray-bridge")
}

// TestBridgeRefusesForeignSocket runs the real bridge as an IDE would,
// against another user's listener on the temp-dir fallback: it must fail
// with a clear message and a JSON-RPC error, send nothing, and not start
// a hub.
func TestBridgeRefusesForeignSocket(t *testing.T) {
	needRoot(t)
	cases := []struct {
		name  string
		chown bool // make the directory and socket file look like ours (peer check)
		want  string
	}{
		{"foreign dir", false, "owned by uid 65534"},
		{"foreign peer", true, "the process listening on it runs as uid 65534"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.chown && runtime.GOOS != "linux" {
				t.Skip("the peer's uid is checked on Linux only")
			}
			bin := bridgeBin(t)
			home, sock := deepHome(t)
			f := startForeign(t, sock)
			if tc.chown {
				for _, p := range []string{filepath.Dir(sock), sock} {
					if err := os.Chown(p, 0, 0); err != nil {
						t.Fatal(err)
					}
				}
				if err := os.Chmod(filepath.Dir(sock), 0o700); err != nil {
					t.Fatal(err)
				}
			}
			started := filepath.Join(t.TempDir(), "started")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "--eof-grace", "1s", "jira")
			cmd.Env = append(os.Environ(), "MCPTRAY_HOME="+home, "MCPTRAY_TEST_STARTED="+started)
			cmd.Stdin = strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"ide","version":"1"}}}` + "\n")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := -1
			var ee *exec.ExitError
			if err == nil {
				code = 0
			} else if errors.As(err, &ee) {
				code = ee.ExitCode()
			}
			f.stop(t)
			if code != 1 {
				t.Errorf("bridge exit code %d (%v), want 1", code, err)
			}
			for _, p := range []string{"refusing to connect to the mcptray socket " + sock, tc.want, "uid " + strconv.Itoa(os.Geteuid())} {
				if !strings.Contains(stderr.String(), p) {
					t.Errorf("stderr lacks %q", p)
				}
			}
			if !strings.Contains(stdout.String(), `"id":1`) || !strings.Contains(stdout.String(), `"error"`) || !strings.Contains(stdout.String(), "refusing to connect") {
				t.Errorf("the IDE did not get a JSON-RPC error for its request: %s", stdout.String())
			}
			if f.bytes != 0 {
				t.Errorf("the other user's listener got %d bytes from the bridge; want none", f.bytes)
			}
			if b, err := os.ReadFile(started); err == nil {
				t.Errorf("the bridge started a hub into the hijacked path: mcptray %s", b)
			}
			if t.Failed() {
				t.Logf("stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			}
		})
	}
}
