package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/cli"
	"github.com/mcptray/mcptray/mcpclient/internal/faultserver"
	"github.com/mcptray/mcptray/mcpclient/ipc"
)

var (
	binOnce sync.Once
	binDir  string
	binErr  error
)

// bridgeBin builds the real mcptray-bridge once per test run.
func bridgeBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binErr = os.MkdirTemp("", "mcptray-cli-bin-")
		if binErr != nil {
			return
		}
		out, err := exec.Command("go", "build", "-o", binDir+string(os.PathSeparator), "github.com/mcptray/mcptray/cmd/mcptray-bridge").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return filepath.Join(binDir, "mcptray-bridge")
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// sandbox points every place a client or mcptray keeps files at temp
// dirs, so no test touches the real user's files.
type sandbox struct {
	home, cfgPath, state string
}

func newSandbox(t *testing.T) *sandbox {
	t.Helper()
	dir, err := os.MkdirTemp("", "mt") // short: the hub socket lives in it
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	s := &sandbox{home: filepath.Join(dir, "home"), cfgPath: filepath.Join(dir, "home", "mcptray.json"), state: filepath.Join(dir, "s")}
	if err := os.MkdirAll(s.home, 0o700); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"HOME": s.home, "USERPROFILE": s.home, "XDG_CONFIG_HOME": filepath.Join(s.home, ".config"),
		"XDG_STATE_HOME": filepath.Join(s.home, ".state"), "APPDATA": filepath.Join(s.home, "AppData"),
		"LOCALAPPDATA": filepath.Join(s.home, "Local"), "CODEX_HOME": "", "CLAUDE_CONFIG_DIR": "",
		"MCPTRAY_HOME": s.state, "MCPTRAY_CONFIG": s.cfgPath, "MCPTRAY_LOG_LEVEL": "",
		"HTTPS_PROXY": "", "https_proxy": "", "HTTP_PROXY": "", "http_proxy": "", "ALL_PROXY": "", "all_proxy": "",
	} {
		t.Setenv(k, v)
	}
	return s
}

// run runs one mcptray command in process.
func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code, ok := cli.Dispatch(context.Background(), cli.Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb}, args[0], args[1:])
	if !ok {
		t.Fatalf("no command %q", args[0])
	}
	return code, out.String(), errb.String()
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := run(t, args...)
	if code != 0 {
		t.Fatalf("mcptray %s: exit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func startFault(t *testing.T) *faultserver.Server {
	t.Helper()
	fs, err := faultserver.Start(faultserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fs.Close)
	return fs
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// startHub runs an in-process hub on the sandbox's config and state dir.
func startHub(t *testing.T, s *sandbox, log *slog.Logger) *mcpclient.Hub {
	t.Helper()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	hub, err := mcpclient.NewHub(mcpclient.HubOptions{ConfigPath: s.cfgPath, Home: s.state, Logger: log, ReloadInterval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("hub did not stop")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		pctx, c := context.WithTimeout(context.Background(), time.Second)
		_, err := ipc.Request(pctx, hub.Socket(), ipc.Hello{Op: ipc.OpPing})
		c()
		if err == nil {
			return hub
		}
		select {
		case err := <-done:
			t.Fatalf("hub exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("hub did not come up: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
