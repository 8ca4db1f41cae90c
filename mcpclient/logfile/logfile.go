// Package logfile is the hub's log: a size-capped file that rotates
// (hub.log → hub.log.1 → … → hub.log.N), and a slog handler that takes
// secrets out of every record before it is written anywhere.
package logfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
)

// Defaults for Options.
const (
	DefaultMaxSize    = 5 << 20 // 5 MiB per file
	DefaultMaxBackups = 3       // hub.log.1 … hub.log.3
)

// Options configure a File. The zero value means the defaults.
type Options struct {
	// MaxSize is the size in bytes at which the file rotates.
	MaxSize int64
	// MaxBackups is how many rotated files are kept.
	MaxBackups int
}

// File is an append-only log file that rotates when it reaches MaxSize.
// It is safe for concurrent use.
type File struct {
	path string
	opts Options

	mu   sync.Mutex
	f    *os.File
	size int64
}

// Open opens (creating, mode 0600) the log file at path for appending.
func Open(path string, opts Options) (*File, error) {
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	if opts.MaxBackups <= 0 {
		opts.MaxBackups = DefaultMaxBackups
	}
	l := &File{path: path, opts: opts}
	if err := l.open(); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *File) open() error {
	f, err := os.OpenFile(l.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return err
	}
	l.f, l.size = f, st.Size()
	return nil
}

// Path is the file's path.
func (l *File) Path() string { return l.path }

// Write appends p, rotating first when p would take the file past
// MaxSize. A record is never split across files.
func (l *File) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return 0, os.ErrClosed
	}
	if l.size > 0 && l.size+int64(len(p)) > l.opts.MaxSize {
		if err := l.rotate(); err != nil {
			// Keep logging into the big file rather than losing lines.
			fmt.Fprintf(l.f, "logfile: rotating %s failed: %v\n", l.path, err)
		}
	}
	n, err := l.f.Write(p)
	l.size += int64(n)
	return n, err
}

// rotate shifts the backups and starts an empty file. On systems where
// another process holding the file prevents the rename, the content is
// copied to the first backup and the file truncated instead.
func (l *File) rotate() error {
	if err := l.f.Close(); err != nil {
		return err
	}
	l.f = nil
	name := func(i int) string { return l.path + "." + strconv.Itoa(i) }
	_ = os.Remove(name(l.opts.MaxBackups))
	for i := l.opts.MaxBackups - 1; i >= 1; i-- {
		_ = os.Rename(name(i), name(i+1))
	}
	renameErr := os.Rename(l.path, name(1))
	if renameErr != nil {
		if err := copyTruncate(l.path, name(1)); err != nil {
			_ = l.open()
			return errors.Join(renameErr, err)
		}
	}
	return l.open()
}

func copyTruncate(src, dst string) error {
	in, err := os.OpenFile(src, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return in.Truncate(0)
}

// Close closes the file.
func (l *File) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// Files lists the log and its backups that exist, oldest first.
func Files(path string, maxBackups int) []string {
	if maxBackups <= 0 {
		maxBackups = DefaultMaxBackups
	}
	var out []string
	for i := maxBackups; i >= 1; i-- {
		p := path + "." + strconv.Itoa(i)
		if _, err := os.Stat(p); err == nil {
			out = append(out, p)
		}
	}
	if _, err := os.Stat(path); err == nil {
		out = append(out, path)
	}
	return out
}
