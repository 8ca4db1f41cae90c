//go:build !(darwin || dragonfly || freebsd || linux || netbsd || openbsd || windows)

package flock

import (
	"errors"
	"os"
	"time"
)

// staleAfter is how old a lock file must be before it is taken to be left
// over by a crashed holder. Holders keep locks for seconds at most.
const staleAfter = 2 * time.Minute

// tryLock uses an exclusively created lock file, on platforms without flock
// or LockFileEx. It returns (nil, nil) when another holder has the lock.
func tryLock(path string) (*Lock, error) {
	p := path + ".held"
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		if fi, serr := os.Stat(p); serr == nil && time.Since(fi.ModTime()) > staleAfter {
			_ = os.Remove(p)
		}
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &Lock{f: f, path: p}, nil
}

func unlock(l *Lock) {
	_ = l.f.Close()
	_ = os.Remove(l.path)
}
