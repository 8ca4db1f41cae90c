// Package flock provides an advisory, cross-process lock on a file.
//
// A Lock excludes every other Lock on the same path, whether it is held by
// another process or by this one (each Lock opens its own file handle). The
// lock is released by Unlock or when the process exits, so a crashed holder
// never leaves a stale lock behind (except with the lock-file fallback used
// on platforms without flock or LockFileEx, which breaks locks older than
// staleAfter).
package flock

import (
	"context"
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

// Lock is a held lock. The zero value is not usable; get one from Acquire.
type Lock struct {
	f    *os.File
	path string
}

// Acquire takes the lock on path, creating the file (0600) and its
// directory (0700) when missing. It waits until the lock is free or ctx
// ends, whichever comes first.
func Acquire(ctx context.Context, path string) (*Lock, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("lock directory: %w", err)
	}
	wait := minPoll
	for {
		l, err := tryLock(path)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", filepath.Base(path), err)
		}
		if l != nil {
			return l, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("waiting for lock %s: %w", filepath.Base(path), ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, maxPoll)
	}
}

// Unlock releases the lock. Calling it more than once is harmless.
func (l *Lock) Unlock() {
	if l == nil || l.f == nil {
		return
	}
	unlock(l)
	l.f = nil
}
