package atomicfile

import (
	"context"

	"github.com/mcptray/mcptray/auth/flock"
)

// LockPath is the lock file Lock uses for path: path + ".lock", beside it.
// It stays there after Unlock: removing it would let a waiter lock a file
// that is no longer the one at that name.
func LockPath(path string) string { return path + ".lock" }

// Lock takes the exclusive, cross-process edit lock of path: an
// auth/flock lock on LockPath(path), waiting while another process or
// another Lock in this one holds it, until ctx ends. The OS releases it
// when the holder dies, so a killed editor never leaves it held. Every
// writer that reads path, changes it and writes it back takes it.
func Lock(ctx context.Context, path string) (*flock.Lock, error) {
	return flock.Acquire(ctx, LockPath(path))
}
