package atomicfile

import (
	"context"
	"fmt"
	"os"
	"time"
)

// Poll intervals while another holder has the lock.
const (
	minPoll = 2 * time.Millisecond
	maxPoll = 50 * time.Millisecond
)

// LockPath is the lock file Lock uses for path: path + ".lock", beside it.
// It stays there after Unlock: removing it would let a waiter lock a file
// that is no longer the one at that name.
func LockPath(path string) string { return path + ".lock" }

// FileLock is a held edit lock. Get one from Lock.
type FileLock struct {
	f    *os.File
	path string
}

// Lock takes the exclusive, cross-process edit lock of path (on
// LockPath(path): flock on Unix, LockFileEx on Windows), waiting while
// another process or another Lock in this one holds it, until ctx ends.
// The OS releases it when the holder dies, so a killed editor never leaves
// it held. The lock file's directory must exist.
func Lock(ctx context.Context, path string) (*FileLock, error) {
	lp := LockPath(path)
	wait := minPoll
	for {
		l, err := tryLock(lp)
		if err != nil {
			return nil, fmt.Errorf("cannot lock %s: %w", lp, err)
		}
		if l != nil {
			return l, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for the lock %s: %w", lp, context.Cause(ctx))
		case <-t.C:
		}
		wait = min(wait*2, maxPoll)
	}
}

// Unlock releases the lock. Calling it again is harmless.
func (l *FileLock) Unlock() {
	if l == nil || l.f == nil {
		return
	}
	unlock(l)
	l.f = nil
}
