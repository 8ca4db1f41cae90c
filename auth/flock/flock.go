// Package flock is mcptray's one advisory, cross-process file lock: flock
// on Unix, LockFileEx on Windows, an exclusively created file elsewhere.
// Every lock mcptray takes goes through it: the hub's single-instance lock,
// auth's per-server token lock and credentials file, and edits of the
// config (through auth/atomicfile).
//
// A Lock excludes every other Lock on the same path, whether it is held by
// another process or by this one (each Lock opens its own file handle). The
// lock is released by Unlock or when the process exits, so a crashed holder
// never leaves a stale lock behind (except with the lock-file fallback used
// on platforms without flock or LockFileEx, which breaks locks older than
// staleAfter).
//
// It lives under auth, the lowest layer, so that auth and mcpclient can
// both import it; it imports only the standard library and x/sys.
package flock

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Poll intervals while waiting for a lock held by someone else.
const (
	minPoll = 2 * time.Millisecond
	maxPoll = 50 * time.Millisecond
)

// ErrLocked is what TryAcquire returns (wrapped) when someone else holds
// the lock.
var ErrLocked = errors.New("held by another process")

// Lock is a held lock. The zero value is not usable; get one from Acquire
// or TryAcquire.
type Lock struct {
	f    *os.File
	path string
}

// Acquire takes the lock on path, creating the file (0600) and its
// directory (0700) when missing. It waits until the lock is free or ctx
// ends, whichever comes first; then the error carries context.Cause(ctx).
func Acquire(ctx context.Context, path string) (*Lock, error) {
	wait := minPoll
	for {
		l, err := TryAcquire(path)
		if err == nil || !errors.Is(err, ErrLocked) {
			return l, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for the lock %s: %w", path, context.Cause(ctx))
		case <-t.C:
		}
		wait = min(wait*2, maxPoll)
	}
}

// TryAcquire takes the lock on path as Acquire does, without waiting: when
// someone else holds it, it returns an error matching ErrLocked at once.
func TryAcquire(path string) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock directory: %w", err)
	}
	l, err := tryLock(path)
	if err != nil {
		return nil, fmt.Errorf("cannot lock %s: %w", path, err)
	}
	if l == nil {
		return nil, fmt.Errorf("lock %s: %w", path, ErrLocked)
	}
	return l, nil
}

// File is the open lock file, for a holder that records itself in it (the
// hub writes its pid there). Other processes can read it while the lock is
// held on Unix, not on Windows (LockFileEx locks its first byte), and with
// the fallback it is path + ".held".
func (l *Lock) File() *os.File { return l.f }

// Unlock releases the lock. Calling it more than once is harmless.
func (l *Lock) Unlock() {
	if l == nil || l.f == nil {
		return
	}
	unlock(l)
	l.f = nil
}
