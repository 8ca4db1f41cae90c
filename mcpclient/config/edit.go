package config

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/mcptray/mcptray/auth/atomicfile"
)

// configLockWait is how long a config edit waits while another one (this
// or another mcptray process) holds the config's edit lock. Edits hold it
// for milliseconds; a variable so tests can shorten it.
var configLockWait = 10 * time.Second

// configEditTries bounds how often one edit is done: it is done again on
// the new content when the file changed by hand between our read and our
// write, and gives up if that keeps happening.
const configEditTries = 5

// configChangedPause is the wait before reading again a file that changed
// under us into something invalid: an editor may be half-way through
// saving it in place.
const configChangedPause = 50 * time.Millisecond

// emptyConfig is what a missing config file is created with.
var emptyConfig = []byte("{\n  \"mcpServers\": {}\n}\n")

// errConfigChanged says the file is no longer what the edit was made on.
var errConfigChanged = errors.New("config changed meanwhile")

// lockConfig takes the config's cross-process edit lock (LockPath beside
// the file, creating the folder when missing) and, holding it, removes temp
// files a killed editor left. Every writer of the config file takes it.
func lockConfig(path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("config %s: cannot create its folder: %w", path, err)
	}
	ctx, cancel := context.WithTimeoutCause(context.Background(), configLockWait,
		fmt.Errorf("still held after %s", configLockWait))
	defer cancel()
	l, err := atomicfile.Lock(ctx, path)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("another mcptray is editing %s; try again (if none is running, check who holds %s): %w",
				path, atomicfile.LockPath(path), err)
		}
		return nil, fmt.Errorf("config %s: cannot take its edit lock: %w", path, err)
	}
	if n, err := atomicfile.RemoveStaleTemps(path); err != nil {
		slog.Warn("config: stale temp files of a killed edit remain", "config", path, "err", err)
	} else if n > 0 {
		slog.Debug("config: removed temp files left by a killed edit", "config", path, "files", n)
	}
	return l.Unlock, nil
}

// configFile is the config file's content as read; missing is a file that
// does not exist, which is not the same as an empty one.
type configFile struct {
	b       []byte
	missing bool
}

func readConfigFile(path string) (configFile, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return configFile{missing: true}, nil
	}
	if err != nil {
		return configFile{}, fmt.Errorf("config %s: cannot read it: %w", path, err)
	}
	return configFile{b: b}, nil
}

func (c configFile) same(o configFile) bool {
	return c.missing == o.missing && bytes.Equal(c.b, o.b)
}

// content is what to parse: a missing file counts as the empty config.
func (c configFile) content() []byte {
	if c.missing {
		return emptyConfig
	}
	return c.b
}

// createConfig creates the missing config file with an empty mcpServers and
// returns its content. Under the edit lock it looks again first, so a file
// another process has just created (or an edit has just written) is
// returned as it is, never overwritten.
func createConfig(path string) ([]byte, error) {
	unlock, err := lockConfig(path)
	if err != nil {
		return nil, err
	}
	defer unlock()
	cur, err := readConfigFile(path)
	if err != nil {
		return nil, err
	}
	if !cur.missing {
		return cur.b, nil
	}
	if err := writeFileAtomic(path, emptyConfig, 0o600); err != nil {
		return nil, fmt.Errorf("config %s: cannot create it: %w", path, err)
	}
	return emptyConfig, nil
}

// Edit is EditConfig without a running hub (CLI, tests).
//
// The edit is a read-modify-write under the config's cross-process edit
// lock, so concurrent edits (mcptray add in parallel, the window's form,
// import) all land. A hand edit saved between our read and our write is not
// overwritten: the file is read again right before the rename and, when it
// changed, fn is run again on the new content (a few times at most). So fn
// may be called more than once, each time on a freshly read config, and
// must only depend on what it is given. A missing file is created; a file
// that is not valid config is left alone and its error returned.
func Edit(path string, fn func(*Config) error) error {
	unlock, err := lockConfig(path)
	if err != nil {
		return err
	}
	defer unlock()
	read, err := readConfigFile(path)
	if err != nil {
		return err
	}
	for try := 1; ; try++ {
		cfg, err := Parse(path, read.content())
		if err != nil {
			if try == 1 || try == configEditTries {
				return err
			}
			// Changed by hand into something invalid: maybe a save in
			// progress; look again shortly.
			time.Sleep(configChangedPause)
			if read, err = readConfigFile(path); err != nil {
				return err
			}
			continue
		}
		if err := fn(cfg); err != nil {
			return err
		}
		b, err := Marshal(cfg)
		if err != nil {
			return fmt.Errorf("config %s: cannot render it: %w", path, err)
		}
		if _, err := Parse(path, b); err != nil {
			return err
		}
		err = atomicfile.WriteChecked(path, b, 0o600, func() error {
			now, err := readConfigFile(path)
			if err != nil {
				return err
			}
			if !now.same(read) {
				read = now
				return errConfigChanged
			}
			return nil
		})
		if err == nil {
			return nil
		}
		if !errors.Is(err, errConfigChanged) {
			return fmt.Errorf("config %s: cannot write it: %w", path, err)
		}
		if try == configEditTries {
			return fmt.Errorf("config %s kept changing while mcptray edited it (%d tries); it was left as it is: finish editing it by hand, then try again", path, try)
		}
		slog.Debug("config: changed by hand during an edit; doing the edit again on the new content", "config", path)
	}
}

// Marshal renders a config as the indented JSON users edit.
func Marshal(cfg *Config) ([]byte, error) {
	servers := cfg.Servers
	if servers == nil {
		servers = map[string]Server{}
	}
	out := *cfg // the file's keys are Config's own json tags: one list
	out.Servers = servers
	b, err := json.MarshalIndent(&out, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// ValidateServer checks one server entry with the config file's rules, for
// forms that validate as the user types.
func ValidateServer(path, name string, sc Server) error {
	b, err := json.Marshal(sc)
	if err != nil {
		return err
	}
	_, err = parseServer(path, name, b)
	return err
}
