package mcpclient_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// TestDeviceSignInHeldCLICallE2E: `mcptray call` to a server that needs a
// sign-in, with oauth.flow "device": the hub starts the device sign-in on
// its own and holds the call, and the call says on stderr what it waits
// for — the verification page and the code — while stdout stays empty.
// Chromium, as the user on another device, enters the code from that
// output; the call then returns the tool's result.
func TestDeviceSignInHeldCLICallE2E(t *testing.T) {
	oauthPreflight(t)
	t.Parallel()
	mcp := listenProtected(t)
	p := startIdP(t, mcp.URL, time.Hour, "DEVICE_FLOW=1")
	mcp.serve(t, p)
	br := startBrowser(t, "alice", p.password)
	store := auth.NewFileStore(paths.Credentials(t.TempDir()))
	f := startOAuthHub(t, map[string]string{"srv": fmt.Sprintf(`{"url": %q, "signInWait": 120, "oauth": {"flow": "device"}}`, mcp.URL)}, "",
		mcpclient.HubOptions{CredentialStore: store,
			OpenBrowser: func(context.Context, string) error { return nil }}, &logWriter{t: t})

	cmd := exec.Command(filepath.Join(testBins(t), "mcptray"), "call", "srv", "whoami")
	cmd.Env = f.env()
	var out, errb lockedBuf
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	})

	waitLine := regexp.MustCompile(`mcptray: waiting for you to sign in to srv: open (\S+) and enter the code (\S+)…`)
	completeLine := regexp.MustCompile(`or open (\S+), which has the code filled in`)
	deadline := time.Now().Add(30 * time.Second)
	var m, c []string
	for m == nil || c == nil {
		select {
		case err := <-exited:
			t.Fatalf("mcptray call ended before the sign-in: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("mcptray call did not say what it waits for within 30s; stderr:\n%s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
		m, c = waitLine.FindStringSubmatch(errb.String()), completeLine.FindStringSubmatch(errb.String())
	}
	t.Logf("mcptray call's stderr:\n%s", errb.String())
	if !strings.HasPrefix(m[1], p.issuer) || !strings.Contains(c[1], "user_code=") {
		t.Fatalf("verification URIs %q, %q", m[1], c[1])
	}
	if a := f.status("srv").Auth; a == nil || a.DeviceCode == nil || a.DeviceCode.UserCode != m[2] || a.SignInURL != c[1] {
		t.Fatalf("status does not show the pending code %q and page %q: %+v", m[2], c[1], a)
	}
	if out.String() != "" {
		t.Fatalf("mcptray call wrote to stdout while it waited: %q", out.String())
	}
	if err := br.drive(context.Background(), c[1], "device-success"); err != nil {
		t.Fatalf("chromium: %v\nmcptray call's stderr:\n%s", err, errb.String())
	}
	select {
	case err := <-exited:
		if err != nil || !strings.Contains(out.String(), "signed in as alice") {
			t.Fatalf("mcptray call: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("mcptray call did not return after the sign-in; stderr:\n%s", errb.String())
	}
	if s := p.stats(t); s.Grants["urn:ietf:params:oauth:grant-type:device_code"] != 1 {
		t.Fatalf("idp: %+v", s)
	}
	if a := f.status("srv").Auth; a == nil || a.DeviceCode != nil || a.SignInURL != "" {
		t.Fatalf("the pending sign-in is still shown after it: %+v", a)
	}
	for _, s := range p.secrets(t) {
		if strings.Contains(errb.String(), s) || strings.Contains(out.String(), s) {
			t.Fatal("a token or code shows in mcptray call's output")
		}
	}
}
