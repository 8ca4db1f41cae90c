// Package atomicfile is mcptray's one atomic file writer: readers see the
// old content or the new, never a torn one (a temp file in the same
// directory, synced, then renamed over the target). Lock serializes
// read-modify-write edits of one file across processes (with auth/flock),
// and RemoveStaleTemps clears the temp files a killed writer left behind.
// It writes the credentials file (auth), the config, IDE configs and
// autostart entries (mcpclient).
//
// It lives under auth, the lowest layer, so that auth and mcpclient can
// both import it; it imports only the standard library and auth/flock.
package atomicfile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Write replaces path with b, with permissions perm.
func Write(path string, b []byte, perm os.FileMode) error {
	return WriteChecked(path, b, perm, nil)
}

// WriteChecked is Write with a last check: once the new content is on disk
// in the temp file, check (when not nil) runs right before the rename, and
// an error from it leaves path untouched and is returned as is. Editors use
// it to see whether the file changed since they read it, with the slow part
// (write and sync) already done so the window before the rename is short.
func WriteChecked(path string, b []byte, perm os.FileMode, check func() error) error {
	f, err := os.CreateTemp(filepath.Dir(path), tempPrefix(path)+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	// Windows has no Unix modes (Chmod only sets the read-only bit): a
	// failure there must not keep the file from being written.
	if err := f.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if check != nil {
		if err := check(); err != nil {
			return err
		}
	}
	return os.Rename(tmp, path)
}

// tempPrefix is how the temp files of path are named: "." + base + ".tmp",
// then the digits os.CreateTemp puts for its "*".
func tempPrefix(path string) string {
	return "." + filepath.Base(path) + ".tmp"
}

// isTempOf reports whether name (a base name) is a temp file Write made for
// path: the prefix and then only digits. A temp of another target whose
// name merely starts the same (".config.json.tmpx.tmp123" is the temp of
// "config.json.tmpx") does not match.
func isTempOf(name, path string) bool {
	rest, ok := strings.CutPrefix(name, tempPrefix(path))
	if !ok || rest == "" {
		return false
	}
	for _, c := range rest {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// RemoveStaleTemps removes the temp files Write left beside path when its
// process died between creating and renaming them, and returns how many it
// removed. Only call it while holding Lock(path), with every writer of path
// taking that lock: then no writer can be mid-write, and every temp file of
// path is stale. Temp files of other targets in the directory are left
// alone, and so is anything that is not a regular file.
func RemoveStaleTemps(path string) (int, error) {
	dir := filepath.Dir(path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, fmt.Errorf("cannot list %s for stale temp files: %w", dir, err)
	}
	n := 0
	var errs []error
	for _, e := range ents {
		if !e.Type().IsRegular() || !isTempOf(e.Name(), path) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("cannot remove the stale temp file %s: %w", p, err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
