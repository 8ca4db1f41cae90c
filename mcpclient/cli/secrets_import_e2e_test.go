package cli_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcptray/mcptray/auth/keyringtest"
	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/cli"
	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/logfile"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// The mcp-remote pattern `--header "Authorization:${AUTH_HEADER}"` with
// the token in the entry's env: after `mcptray import`, a hub with no
// AUTH_HEADER in its environment calls a server that refuses requests
// without that exact header, and gets answers. Then the secret is removed
// (the server fails, saying how to fix it) and set again from stdin (the
// hub reconnects on its own). The token never shows.

// With the keychain: gnome-keyring in a private D-Bus session.
func TestImportEnvHeaderToKeychain(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the Secret Service tests are for Linux")
	}
	if !keyringtest.Setup(t, keyringtest.Real) {
		return
	}
	importEnvHeaderE2E(t, "auto", "keychain")
}

// With the file store.
func TestImportEnvHeaderToFile(t *testing.T) {
	importEnvHeaderE2E(t, "file", "file ")
}

// authGate fronts a fault server and refuses (401) every request whose
// Authorization is not want.
type authGate struct {
	*httptest.Server
	ok, refused atomic.Int64
}

func startAuthGate(t *testing.T, upstream, want string) *authGate {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	g := &authGate{}
	u.Path = "" // the request carries the path
	proxy := httputil.NewSingleHostReverseProxy(u)
	proxy.FlushInterval = -1 // SSE goes through as it comes
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want {
			g.refused.Add(1)
			http.Error(w, "no valid Authorization header", http.StatusUnauthorized)
			return
		}
		g.ok.Add(1)
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(g.Close)
	return g
}

func runWithStdin(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code, _ = cli.Dispatch(context.Background(), cli.Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb}, args[0], args[1:])
	return code, out.String(), errb.String()
}

func importEnvHeaderE2E(t *testing.T, store, storeName string) {
	s := newSandbox(t)
	t.Setenv("MCPTRAY_LOG_LEVEL", "debug")
	// Nothing in this process's (so the hub's) environment.
	for _, v := range []string{"AUTH_HEADER", "MCPT_GHOST_TOKEN"} {
		t.Setenv(v, "")
		os.Unsetenv(v)
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	token := "tok-" + hex.EncodeToString(b)
	gate := startAuthGate(t, startFault(t).URL(), "Bearer "+token)

	writeFile(t, s.cfgPath, `{"credentialStore": "`+store+`", "mcpServers": {}}`)
	cursor := filepath.Join(s.home, ".cursor", "mcp.json")
	writeFile(t, cursor, `{"mcpServers": {
  "atl": {"command": "npx", "args": ["-y", "mcp-remote@0.1.29", "`+gate.URL+`/mcp", "--transport", "http-only", "--header", "Authorization:${AUTH_HEADER}"],
          "env": {"AUTH_HEADER": "Bearer `+token+`"}},
  "ghost": {"command": "npx", "args": ["-y", "mcp-remote", "`+gate.URL+`/mcp", "--header", "Authorization: Bearer ${MCPT_GHOST_TOKEN}"], "disabled": true}
}}`)

	var shown []string // everything to check for the token
	out := mustRun(t, "import", "--from", "cursor")
	shown = append(shown, out)
	for _, w := range []string{
		"AUTH_HEADER from the entry's env goes into the credential store as the secret atl-AUTH_HEADER",
		"stored the secret atl-AUTH_HEADER (for atl) in the " + storeName,
		"warning: MCPT_GHOST_TOKEN is set nowhere",
		"mcptray secret set ghost-MCPT_GHOST_TOKEN",
	} {
		if !strings.Contains(out, w) {
			t.Errorf("import output lacks %q:\n%s", w, out)
		}
	}
	cfgText := readFile(t, s.cfgPath)
	shown = append(shown, cfgText)
	cfg, err := config.Load(s.cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if h := cfg.Servers["atl"].Headers["Authorization"]; h != "${secret:atl-AUTH_HEADER}" {
		t.Fatalf("atl's Authorization in the config: %q", h)
	}
	credFile, _ := os.ReadFile(paths.Credentials(s.state))
	if inFile := strings.Contains(string(credFile), token); inFile != (store == "file") {
		t.Errorf("the secret is in the credentials file: %v (store %s)", inFile, store)
	}
	code, out, errs := run(t, "secret", "list")
	if code != 0 || out != "atl-AUTH_HEADER\n" {
		t.Errorf("secret list: %d %q %q", code, out, errs)
	}

	// The hub, as `mcptray serve` builds it.
	known := logfile.NewSecrets()
	var stderr syncBuffer
	log, closeLog := cli.HubLogger(&stderr, known)
	hub, err := mcpclient.NewHub(mcpclient.HubOptions{ConfigPath: s.cfgPath, Home: s.state, Logger: log, Secrets: known,
		Mode: "headless", NoAutoLogin: true, ReloadInterval: 50 * time.Millisecond})
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
		closeLog()
	})
	state := func() (mcpclient.State, string) {
		for _, st := range hub.Snapshot(false) {
			if st.Name == "atl" {
				return st.State, st.LastError
			}
		}
		return "", ""
	}
	waitState := func(want mcpclient.State) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			st, lastErr := state()
			if st == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("atl is %s (%s), not %s", st, lastErr, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitState(mcpclient.StateConnected)
	out = mustRun(t, "call", "atl", "echo", `{"text":"through the gate"}`)
	if !strings.Contains(out, "through the gate") {
		t.Errorf("call: %s", out)
	}
	if gate.ok.Load() == 0 || gate.refused.Load() != 0 {
		t.Errorf("the gate let %d requests through and refused %d", gate.ok.Load(), gate.refused.Load())
	}
	shown = append(shown, mustRun(t, "status", "--json"))
	code, out, errs = run(t, "doctor", "atl")
	if code != 0 || !strings.Contains(out, "initialize") {
		t.Errorf("doctor atl: exit %d\n%s%s", code, out, errs)
	}
	shown = append(shown, out+errs)

	// Without the secret the server fails, saying which and how to set it.
	out = mustRun(t, "secret", "rm", "atl-AUTH_HEADER")
	if !strings.Contains(out, "removed secret atl-AUTH_HEADER") {
		t.Errorf("secret rm: %s", out)
	}
	mustRun(t, "reconnect", "atl")
	waitState(mcpclient.StateFailed)
	_, lastErr := state()
	for _, w := range []string{`"atl"`, `"atl-AUTH_HEADER"`, "mcptray secret set atl-AUTH_HEADER"} {
		if !strings.Contains(lastErr, w) {
			t.Errorf("atl's error %q lacks %q", lastErr, w)
		}
	}
	code, out, _ = run(t, "doctor", "atl")
	if code == 0 || !strings.Contains(out, "mcptray secret set atl-AUTH_HEADER") {
		t.Errorf("doctor without the secret: exit %d\n%s", code, out)
	}
	if code, _, _ := run(t, "secret", "rm", "atl-AUTH_HEADER"); code != 1 {
		t.Errorf("secret rm of a missing secret: exit %d", code)
	}
	if code, _, errs := run(t, "secret", "set", "atl-AUTH_HEADER", "Bearer "+token); code != 2 || !strings.Contains(errs, "never from the command line") {
		t.Errorf("secret set with the value in argv: exit %d %s", code, errs)
	}

	// (doctor's own checks ran without the header, and were refused.)
	refused := gate.refused.Load()

	// Set again from stdin: the hub is asked to reconnect atl, and it works.
	code, out, errs = runWithStdin(t, "Bearer "+token+"\n", "secret", "set", "atl-AUTH_HEADER")
	if code != 0 || !strings.Contains(out, "used by atl") || !strings.Contains(out, "reconnecting atl") {
		t.Errorf("secret set: exit %d\n%s%s", code, out, errs)
	}
	shown = append(shown, out+errs)
	waitState(mcpclient.StateConnected)
	if out := mustRun(t, "call", "atl", "echo", `{"text":"again"}`); !strings.Contains(out, "again") {
		t.Errorf("call after secret set: %s", out)
	}
	if n := gate.refused.Load() - refused; n != 0 {
		t.Errorf("the gate refused %d requests of the hub", n)
	}

	time.Sleep(100 * time.Millisecond)
	shown = append(shown, readFile(t, paths.HubLog(s.state)), stderr.String(), mustRun(t, "status"))
	for _, sh := range shown {
		if i := strings.Index(sh, token); i >= 0 {
			t.Errorf("the token shows:\n%s", excerpt(sh, i))
		}
	}
	if !strings.Contains(readFile(t, paths.HubLog(s.state)), "atl") {
		t.Error("hub.log says nothing of atl; the check proves little")
	}
}
