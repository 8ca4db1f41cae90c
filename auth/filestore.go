package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mcptray/mcptray/auth/atomicfile"
)

// fileFormat is the credentials file: one entry per store key.
type fileFormat struct {
	Version int                     `json:"version"`
	Servers map[string]*Credentials `json:"servers"`
}

const fileFormatVersion = 1

// FileStore keeps credentials in one JSON file, mode 0600 in a 0700
// directory. Writes go to a temporary file renamed over the old one, under
// an advisory lock (path + ".lock"), so concurrent writers in several
// processes never lose each other's entries or leave a torn file (both
// from auth/atomicfile).
type FileStore struct {
	path string
}

// NewFileStore returns a store backed by the file at path; the file and its
// directory are created on the first Save.
func NewFileStore(path string) *FileStore { return &FileStore{path: path} }

// Name implements Store.
func (s *FileStore) Name() string { return "file " + s.path }

// Path returns the file's path.
func (s *FileStore) Path() string { return s.path }

// Load implements Store.
func (s *FileStore) Load(ctx context.Context, key string) (*Credentials, error) {
	var out *Credentials
	err := s.locked(ctx, func() error {
		f, err := s.read()
		if err != nil {
			return err
		}
		c, ok := f.Servers[key]
		if !ok || c == nil {
			return ErrNotFound
		}
		out = c
		return nil
	})
	return out, err
}

// Save implements Store.
func (s *FileStore) Save(ctx context.Context, key string, c *Credentials) error {
	return s.locked(ctx, func() error {
		f, err := s.read()
		if err != nil {
			return err
		}
		f.Servers[key] = c.clone()
		return s.write(f)
	})
}

// Delete implements Store.
func (s *FileStore) Delete(ctx context.Context, key string) error {
	return s.locked(ctx, func() error {
		f, err := s.read()
		if err != nil {
			return err
		}
		if _, ok := f.Servers[key]; !ok {
			return nil
		}
		delete(f.Servers, key)
		return s.write(f)
	})
}

func (s *FileStore) locked(ctx context.Context, fn func() error) error {
	if err := os.MkdirAll(filepath.Dir(s.path), 0o700); err != nil {
		return fmt.Errorf("auth: credentials directory: %w", err)
	}
	l, err := atomicfile.Lock(ctx, s.path)
	if err != nil {
		return fmt.Errorf("auth: credentials file: %w", err)
	}
	defer l.Unlock()
	return fn()
}

// read returns the file's content; a missing file is empty.
func (s *FileStore) read() (*fileFormat, error) {
	f := &fileFormat{Version: fileFormatVersion, Servers: map[string]*Credentials{}}
	b, err := os.ReadFile(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return f, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auth: read credentials file: %w", err)
	}
	if err := json.Unmarshal(b, f); err != nil {
		// The message of a JSON syntax error holds no file content.
		return nil, fmt.Errorf("auth: credentials file %s is corrupt: %v", s.path, err)
	}
	if f.Version > fileFormatVersion {
		return nil, fmt.Errorf("auth: credentials file %s has version %d, newer than this program understands (%d)", s.path, f.Version, fileFormatVersion)
	}
	if f.Servers == nil {
		f.Servers = map[string]*Credentials{}
	}
	return f, nil
}

// write replaces the file atomically: temp file (0600), fsync, rename.
func (s *FileStore) write(f *fileFormat) error {
	f.Version = fileFormatVersion
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("auth: encode credentials: %w", err)
	}
	if err := atomicfile.Write(s.path, b, 0o600); err != nil {
		return fmt.Errorf("auth: write credentials file: %w", err)
	}
	return nil
}
