package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient/config"
)

// Twenty `mcptray add` processes at once against one config: every one
// says "added", and every one's entry is in the file afterwards (they used
// to overwrite each other's read-modify-write and leave 7-9 of 20).
func TestConcurrentAddProcessesAllLand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/mcptray")
	}
	// Build before the sandbox moves HOME: go finds its build and module
	// caches through it.
	exe := filepath.Join(t.TempDir(), "mcptray")
	if runtime.GOOS == "windows" {
		exe += ".exe"
	}
	out, err := exec.Command("go", "build", "-o", exe, "github.com/mcptray/mcptray/cmd/mcptray").CombinedOutput()
	if err != nil {
		t.Fatalf("go build cmd/mcptray: %v\n%s", err, out)
	}
	s := newSandbox(t)

	const n = 20
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmds := make([]*exec.Cmd, n)
	outs := make([]*bytes.Buffer, n)
	for i := range n {
		outs[i] = new(bytes.Buffer)
		cmds[i] = exec.CommandContext(ctx, exe, "add", fmt.Sprintf("srv%02d", i), fmt.Sprintf("https://srv%02d.example.com/mcp", i))
		cmds[i].Stdout, cmds[i].Stderr = outs[i], outs[i]
	}
	// Start them all, then wait: they run at the same time.
	for i, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatalf("start %d: %v", i, err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, c := range cmds {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = c.Wait() }()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || !strings.Contains(outs[i].String(), "added srv") {
			t.Errorf("mcptray add srv%02d: %v\n%s", i, errs[i], outs[i])
		}
	}

	b := readFile(t, s.cfgPath)
	cfg, err := config.Parse(s.cfgPath, []byte(b))
	if err != nil {
		t.Fatalf("the config is not valid after %d parallel adds: %v\n%s", n, err, b)
	}
	var missing []string
	for i := range n {
		name := fmt.Sprintf("srv%02d", i)
		sc, ok := cfg.Servers[name]
		if !ok {
			missing = append(missing, name)
		} else if want := fmt.Sprintf("https://%s.example.com/mcp", name); sc.URL != want {
			t.Errorf("%s: url %q, want %q", name, sc.URL, want)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("%d of %d added servers are missing from the config (%s); it has %d:\n%s", len(missing), n, strings.Join(missing, " "), len(cfg.Servers), b)
	}
	ents, err := os.ReadDir(filepath.Dir(s.cfgPath))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temp file %s left beside the config", e.Name())
		}
	}
}
