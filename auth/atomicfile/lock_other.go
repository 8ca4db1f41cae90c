//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd || windows)

package atomicfile

import (
	"errors"
	"os"
	"time"
)

// staleAfter is how old an exclusively created lock file must be to count
// as left by a holder that died: edits hold the lock for milliseconds.
const staleAfter = time.Minute

// tryLock, where neither flock nor LockFileEx exists, creates p + ".held"
// exclusively, or returns (nil, nil) when it exists.
func tryLock(p string) (*FileLock, error) {
	held := p + ".held"
	f, err := os.OpenFile(held, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		if fi, serr := os.Stat(held); serr == nil && time.Since(fi.ModTime()) > staleAfter {
			_ = os.Remove(held)
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &FileLock{f: f, path: held}, nil
}

func unlock(l *FileLock) {
	_ = l.f.Close()
	_ = os.Remove(l.path)
}
