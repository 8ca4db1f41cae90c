package config

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptray/mcptray/auth/atomicfile"
)

// addServer is the edit `mcptray add NAME URL` makes.
func addServer(name string) func(*Config) error {
	return func(c *Config) error {
		if _, ok := c.Servers[name]; ok {
			return fmt.Errorf("server %q is there already", name)
		}
		c.Servers[name] = Server{URL: "https://" + name + ".example.com/mcp"}
		return nil
	}
}

func mustLoad(t *testing.T, path string) *Config {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(path, b)
	if err != nil {
		t.Fatalf("the config is not valid after the edits: %v\n%s", err, b)
	}
	return c
}

// Parallel edits in one process (the window's form while the CLI runs, as
// goroutines here) all land: none is lost to a read-modify-write race.
func TestEditConfigFileConcurrentEditsAllLand(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "mcptray", "config.json")
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- Edit(path, addServer(fmt.Sprintf("s%02d", i)))
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Edit: %v", err)
		}
	}
	c := mustLoad(t, path)
	var missing []string
	for i := range n {
		if _, ok := c.Servers[fmt.Sprintf("s%02d", i)]; !ok {
			missing = append(missing, fmt.Sprintf("s%02d", i))
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d of %d edits lost (%v); the file has %d servers", len(missing), n, missing, len(c.Servers))
	}
	if names := dirEntries(t, filepath.Dir(path)); !slices.Equal(names, []string{"config.json", "config.json.lock"}) {
		t.Errorf("dir holds %q, want config.json and its lock (no temp files)", names)
	}
}

// A hand edit saved between the edit's read and its write (here: by fn
// itself, the first time it runs) is kept, and the edit is done on top.
func TestEditConfigFileKeepsHandEditMadeMeanwhile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(`{"mcpServers": {"old": {"url": "https://old.example.com/"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	calls := 0
	err := Edit(path, func(c *Config) error {
		calls++
		if calls == 1 {
			// The user's editor saves now: a server added, caFile unset.
			hand := `{"mcpServers": {"old": {"url": "https://old.example.com/"}, "hand": {"url": "https://hand.example.com/", "disabled": true}}}`
			if err := os.WriteFile(path, []byte(hand), 0o600); err != nil {
				return err
			}
		}
		return addServer("cli")(c)
	})
	if err != nil {
		t.Fatalf("Edit: %v", err)
	}
	c := mustLoad(t, path)
	for _, name := range []string{"old", "hand", "cli"} {
		if _, ok := c.Servers[name]; !ok {
			t.Errorf("server %q missing after the edit: %v", name, c.Servers)
		}
	}
	if !c.Servers["hand"].Disabled {
		t.Errorf("the hand edit's disabled flag was lost: %+v", c.Servers["hand"])
	}
	if calls != 2 {
		t.Errorf("fn ran %d times, want 2 (once more on the hand-edited content)", calls)
	}
}

// A file that keeps changing under the edit is left as the user wrote it,
// with an error that says so, after a bounded number of tries.
func TestEditConfigFileGivesUpOnAFileThatKeepsChanging(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "config.json")
	calls := 0
	var last string
	err := Edit(path, func(c *Config) error {
		calls++
		last = fmt.Sprintf(`{"mcpServers": {"hand%d": {"url": "https://h.example.com/"}}}`, calls)
		if err := os.WriteFile(path, []byte(last), 0o600); err != nil {
			return err
		}
		return addServer("cli")(c)
	})
	if err == nil || !strings.Contains(err.Error(), "kept changing") || !strings.Contains(err.Error(), path) {
		t.Fatalf("err = %v, want one that says %s kept changing", err, path)
	}
	if calls != configEditTries {
		t.Errorf("fn ran %d times, want %d", calls, configEditTries)
	}
	if b, _ := os.ReadFile(path); string(b) != last {
		t.Errorf("file = %s, want the last hand edit %s", b, last)
	}
}

// A hand edit that leaves the file invalid (a save half done, or a typo) is
// not overwritten: the edit fails with the parse error.
func TestEditConfigFileLeavesAnInvalidHandEditAlone(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "config.json")
	const broken = `{"mcpServers": {"hand": {"url": `
	calls := 0
	err := Edit(path, func(c *Config) error {
		calls++
		if calls == 1 {
			if err := os.WriteFile(path, []byte(broken), 0o600); err != nil {
				return err
			}
		}
		return addServer("cli")(c)
	})
	if err == nil || !strings.Contains(err.Error(), "not valid JSON") {
		t.Fatalf("err = %v, want the hand edit's JSON error", err)
	}
	if b, _ := os.ReadFile(path); string(b) != broken {
		t.Errorf("file = %q, want the hand edit %q kept", b, broken)
	}
}

// Temp files a killed editor left beside the config are removed by the
// next edit; temp files of other files in that folder, and files that only
// look alike, stay.
func TestEditConfigFileRemovesStaleTempFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.json")
	if err := os.WriteFile(path, []byte(`{"mcpServers": {}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	stale := []string{".config.json.tmp123", ".config.json.tmp4294967295"}
	keep := []string{
		".config.json.tmp",           // no digits: not a temp name
		".config.json.tmpx.tmp5",     // the temp of config.json.tmpx
		".config.json.tmp12.bak",     // something else
		"config.json.tmp7",           // no dot
		".other.json.tmp77",          // another file's temp
		".config.json.bak.tmp8",      // the temp of config.json.bak
		".settings.json.tmp3938",     // an IDE config's temp (ideconfig)
		".config.json.tmp99.dir.tmp", // a folder below: not a regular file
	}
	for _, n := range append(slices.Clone(stale), keep...) {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, ".config.json.tmp55"), 0o700); err != nil {
		t.Fatal(err)
	}
	keep = append(keep, ".config.json.tmp55")
	if err := Edit(path, addServer("a")); err != nil {
		t.Fatalf("Edit: %v", err)
	}
	for _, n := range stale {
		if _, err := os.Lstat(filepath.Join(dir, n)); !os.IsNotExist(err) {
			t.Errorf("stale temp file %s still there (err %v)", n, err)
		}
	}
	for _, n := range keep {
		if _, err := os.Lstat(filepath.Join(dir, n)); err != nil {
			t.Errorf("%s was removed, but it is not a stale temp of config.json: %v", n, err)
		}
	}
	if _, ok := mustLoad(t, path).Servers["a"]; !ok {
		t.Error("the edit did not land")
	}
}

// While another process holds the edit lock for too long, the edit fails
// with an error that says so and leaves the file alone.
func TestEditConfigFileLockTimeout(t *testing.T) {
	// Not parallel: it shortens configLockWait for the package.
	old := configLockWait
	configLockWait = 300 * time.Millisecond
	t.Cleanup(func() { configLockWait = old })

	path := filepath.Join(t.TempDir(), "config.json")
	const content = `{"mcpServers": {}}`
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := atomicfile.Lock(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = Edit(path, addServer("a"))
	took := time.Since(start)
	want := "another mcptray is editing " + path + "; try again"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("err = %v, want it to contain %q", err, want)
	}
	if took < configLockWait || took > configLockWait+5*time.Second {
		t.Errorf("gave up after %s, want about %s", took, configLockWait)
	}
	if b, _ := os.ReadFile(path); string(b) != content {
		t.Errorf("file changed while locked: %s", b)
	}
	// Load creating a missing file waits on the same lock.
	missing := filepath.Join(filepath.Dir(path), "other.json")
	l2, err := atomicfile.Lock(context.Background(), missing)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Load(missing); err == nil || !strings.Contains(err.Error(), "another mcptray is editing") {
		t.Errorf("Load of a missing file while locked: err = %v", err)
	}
	l2.Unlock()

	// Once the holder lets go, edits work again.
	l.Unlock()
	if err := Edit(path, addServer("a")); err != nil {
		t.Fatalf("Edit after unlock: %v", err)
	}
}

// Load creating a missing file never clobbers a file another process
// has just written: here edits race with loads of the missing file, and
// every edit must survive.
func TestLoadConfigCreateDoesNotClobberARacingWrite(t *testing.T) {
	t.Parallel()
	for round := range 20 {
		path := filepath.Join(t.TempDir(), fmt.Sprint(round), "config.json")
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 6 {
			wg.Add(2)
			go func() {
				defer wg.Done()
				<-start
				if _, err := Load(path); err != nil {
					t.Error(err)
				}
			}()
			go func() {
				defer wg.Done()
				<-start
				if err := Edit(path, addServer(fmt.Sprint("s", i))); err != nil {
					t.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
		if c := mustLoad(t, path); len(c.Servers) != 6 {
			t.Fatalf("round %d: %d of 6 servers left: %v", round, len(c.Servers), c.Servers)
		}
	}
}
