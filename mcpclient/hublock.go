package mcpclient

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/mcptray/mcptray/auth/flock"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// lock takes the hub's single-instance lock in the state dir, so that two
// hubs started at once cannot both take the socket. The OS releases it
// when the hub dies, so a crash leaves nothing to clean up. The holder
// writes its pid into the file, for the error the next hub reports
// (Windows keeps others from reading it while it is held).
func (h *Hub) lock() (func(), error) {
	p := paths.HubLock(h.opts.Home)
	l, err := flock.TryAcquire(p)
	if errors.Is(err, flock.ErrLocked) {
		b, _ := os.ReadFile(p)
		pid, _ := strconv.Atoi(strings.TrimRight(string(b), "\n\x00"))
		return nil, &ErrHubRunning{Socket: h.socket, pid: max(pid, 0)}
	}
	if err != nil {
		return nil, fmt.Errorf("cannot take the hub lock %s: %w", p, err)
	}
	f := l.File()
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return l.Unlock, nil
}
