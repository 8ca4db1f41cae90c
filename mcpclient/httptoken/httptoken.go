// Package httptoken keeps the per-install token that IDEs present to the
// hub's loopback MCP endpoint as `Authorization: Bearer TOKEN`: a file
// http-token in the state dir, 0600, created on first use and replaced by
// Rotate. The hub reads it; `mcptray install --http` copies it into IDE
// configs. Stdlib and auth/atomicfile only: the CLI and ideconfig use it
// without linking the hub.
package httptoken

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/mcptray/mcptray/auth/atomicfile"
)

// prefix starts every token, so that a token is recognisable where it
// turns up (and secret scanners can match it).
const prefix = "mcptray_"

// Path is the token file under the state dir.
func Path(home string) string { return filepath.Join(home, "http-token") }

// Load returns the token, creating the file when there is none. A file
// that is not the user's own 0600 file is refused: anyone who can read
// the token can use every server the hub signs in to.
func Load(home string) (string, error) {
	if tok, err := Read(home); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return tok, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	unlock, err := lock(ctx, home)
	if err != nil {
		return "", err
	}
	defer unlock()
	if tok, err := Read(home); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return tok, err // another process made it meanwhile
	}
	return write(home)
}

// Rotate replaces the token with a new one and returns it. IDE entries
// written with the old token stop working: install them again.
func Rotate(home string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	unlock, err := lock(ctx, home)
	if err != nil {
		return "", err
	}
	defer unlock()
	return write(home)
}

// Read returns the token in the file, or an error wrapping
// fs.ErrNotExist when there is none yet.
func Read(home string) (string, error) {
	p := Path(home)
	st, err := os.Lstat(p)
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%s is not a regular file; remove it and run `mcptray http-token rotate`", p)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s may be read by other users (mode %#o); run `mcptray http-token rotate` to make a new one", p, st.Mode().Perm())
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return "", err
	}
	tok := string(bytes.TrimSpace(b))
	if !Valid(tok) {
		return "", fmt.Errorf("%s does not hold an mcptray token; run `mcptray http-token rotate`", p)
	}
	return tok, nil
}

// Valid reports whether s looks like a token this package makes.
func Valid(s string) bool {
	if !strings.HasPrefix(s, prefix) || len(s) != len(prefix)+43 {
		return false
	}
	_, err := base64.RawURLEncoding.DecodeString(s[len(prefix):])
	return err == nil
}

// New makes a token: 256 random bits.
func New() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

func write(home string) (string, error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return "", err
	}
	tok := New()
	if err := atomicfile.Write(Path(home), []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("cannot write %s: %w", Path(home), err)
	}
	return tok, nil
}

func lock(ctx context.Context, home string) (func(), error) {
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	l, err := atomicfile.Lock(ctx, Path(home))
	if err != nil {
		return nil, fmt.Errorf("cannot lock %s: %w", Path(home), err)
	}
	return l.Unlock, nil
}
