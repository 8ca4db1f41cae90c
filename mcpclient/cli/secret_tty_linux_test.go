package cli

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// On a terminal (a pseudo-terminal here), `secret set` prompts on stderr
// and the typed value is not echoed.
func TestSecretPromptHidesInput(t *testing.T) {
	// Non-blocking, so that the runtime poller serves it (read deadlines).
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	master := os.NewFile(uintptr(fd), "/dev/ptmx")
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	if !isTerminal(tty) {
		t.Fatal("isTerminal(pty) = false")
	}

	var stderr bytes.Buffer
	type result struct {
		v   string
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := readSecretValue(Env{Stdin: tty, Stderr: &stderr}, "gh-token")
		done <- result{v, err}
	}()
	// Type once echo is off (the prompt is written first).
	deadline := time.Now().Add(10 * time.Second)
	for {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err == nil && tio.Lflag&unix.ECHO == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("echo was never turned off")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := io.WriteString(master, "Bearer SECRET-typed\n"); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.err != nil || r.v != "Bearer SECRET-typed" {
		t.Fatalf("read %v (ok %v)", r.err, r.v == "Bearer SECRET-typed")
	}
	if !strings.Contains(stderr.String(), "value of gh-token (not shown)") {
		t.Errorf("prompt %q", stderr.String())
	}
	// What the terminal showed: no echo of the value.
	if err := master.SetReadDeadline(time.Now().Add(200 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	shown, _ := io.ReadAll(master)
	if strings.Contains(string(shown), "SECRET") {
		t.Errorf("the terminal echoed the value: %q", shown)
	}
	if tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS); err != nil || tio.Lflag&unix.ECHO == 0 {
		t.Error("echo was not restored")
	}
}
