package mcpclient

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"
)

// TestHubLockSingleInstance: while one hub holds the state dir's lock a
// second one gets ErrHubRunning (with the holder's pid where the OS lets
// others read it) at once, and takes the lock once the first lets go.
func TestHubLockSingleInstance(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	first := &Hub{opts: HubOptions{Home: home}, socket: "first.sock"}
	unlock, err := first.lock()
	if err != nil {
		t.Fatal(err)
	}
	second := &Hub{opts: HubOptions{Home: home}, socket: "second.sock"}
	_, err = second.lock()
	var running *ErrHubRunning
	if !errors.As(err, &running) {
		t.Fatalf("second lock: err = %v, want *ErrHubRunning", err)
	}
	if runtime.GOOS != "windows" && (running.pid != os.Getpid() || !strings.Contains(err.Error(), "pid")) {
		t.Errorf("second lock: %v (pid %d), want the holder's pid %d", err, running.pid, os.Getpid())
	}
	unlock()
	unlock2, err := second.lock()
	if err != nil {
		t.Fatalf("lock after the first hub let go: %v", err)
	}
	unlock2()
}
