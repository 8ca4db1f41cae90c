package mcpclient_test

// Calls wait for sign-in, end to end: oidc-provider, the protected mcp-go
// server, headless Chromium as the user's browser, the in-process hub and
// the real mcptray-bridge and mcptray binaries (see oauth_e2e_test.go).
// The browser is gated, so that the sign-in happens midway through a call
// the test holds open.
//
//	go test -race -run TestOAuthSignInHold ./mcpclient/

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

func TestOAuthSignInHold(t *testing.T) {
	oauthPreflight(t)
	t.Parallel()
	e := &oauthEnv{t: t, hubLog: &lockedBuf{}}
	defer e.finalChecks()
	e.mcp = listenProtected(t)
	e.idp = startIdP(t, e.mcp.URL, time.Hour)
	e.mcp.serve(t, e.idp)
	e.br = startBrowser(t, "alice", e.idp.password)
	e.secrets.add("password", e.idp.password, e.idp.rsSecret)
	e.store = auth.NewFileStore(paths.Credentials(t.TempDir()))
	e.key = auth.Key(e.mcp.URL, "")
	e.hub = startOAuthHub(t, map[string]string{serverName: urlEntry(e.mcp.URL)}, "",
		mcpclient.HubOptions{CredentialStore: e.store, OpenBrowser: e.br.Open}, e.hubLog)

	e.runSteps([]oauthStep{
		{"a tools/call held through the bridge until the sign-in midway", e.heldCallSignedInMidway},
		{"mcptray call waits for the sign-in too", e.cliCallWaits},
		{"a held mcptray call that is interrupted ends its wait", e.cliCallInterrupted},
		{"consent refused: the held call gets the error", e.heldCallConsentRefused},
		{"no sign-in within signInWait: the held call gets the error", e.heldCallTimesOut},
	})
}

// gateBrowser makes the browser wait for the test before it signs in (with
// signIn); it returns a channel that hears of each opening, and release.
func (e *oauthEnv) gateBrowser(signIn func(ctx context.Context, authURL string) error) (opened <-chan struct{}, release func()) {
	gate := make(chan struct{})
	ch := make(chan struct{}, 8)
	e.br.setHook(func(ctx context.Context, authURL string) error {
		ch <- struct{}{}
		select {
		case <-gate:
		case <-ctx.Done():
			return ctx.Err()
		}
		return signIn(ctx, authURL)
	})
	e.t.Cleanup(func() { e.br.setHook(nil) })
	return ch, sync1(func() { close(gate) })
}

// sync1 returns f made safe to call more than once.
func sync1(f func()) func() {
	done := false
	return func() {
		if !done {
			done = true
			f()
		}
	}
}

func (e *oauthEnv) waitOpened(opened <-chan struct{}) {
	e.t.Helper()
	select {
	case <-opened:
	case <-time.After(30 * time.Second):
		e.t.Fatal("the hub did not open the browser for the held request")
	}
}

// The IDE's first call, with a progress token, meets needs_login: it is
// held (progress notifications say why), the hub opens the browser once,
// the user signs in while the call waits, and the call is answered.
func (e *oauthEnv) heldCallSignedInMidway() {
	t := e.t
	opened, release := e.gateBrowser(e.br.signIn)
	defer release()
	e.ide = launchBridge(t, e.hub.env(), serverName)
	e.ide.initialize(nil)
	e.hub.waitState(serverName, mcpclient.StateNeedsLogin, 20*time.Second)

	_, held := e.ide.start("tools/call", map[string]any{"name": "whoami", "arguments": map[string]any{},
		"_meta": map[string]any{"progressToken": "hold-1"}})
	e.waitOpened(opened)
	note := e.ide.waitNote("notifications/progress", func(r *rpcResp) bool {
		var p struct {
			Token   string `json:"progressToken"`
			Message string `json:"message"`
		}
		return json.Unmarshal(r.Params, &p) == nil && p.Token == "hold-1" &&
			p.Message == "waiting for you to sign in to "+serverName+" in your browser"
	}, 20*time.Second)
	e.logf("while held: %s", note.raw)
	select {
	case r := <-held:
		t.Fatalf("the call was answered before the sign-in: %s", r.raw)
	default:
	}
	if s := e.hub.status(serverName); s.State != mcpclient.StateLoggingIn || s.WaitingForSignIn != 1 {
		t.Fatalf("while the call is held: state %s, %d waiting for a sign-in; want logging_in, 1", s.State, s.WaitingForSignIn)
	}

	release() // the user signs in now
	r := e.ide.wait(held, "the held call", 60*time.Second)
	if r.Error != nil {
		e.output("IDE error", r.Error.Message)
		t.Fatalf("the held call: %s", r.raw)
	}
	if got := e.ide.toolText(r.Result); got != "signed in as alice" {
		t.Fatalf("the held call after the sign-in: %q", got)
	}
	if n := e.br.count(); n != 1 {
		t.Fatalf("the browser was opened %d times, want once", n)
	}
	if s := e.hub.status(serverName); s.WaitingForSignIn != 0 {
		t.Fatalf("%d requests still counted as waiting", s.WaitingForSignIn)
	}
	e.logf("browser pages: %v", e.br.pageLog())
}

// The grant is revoked: `mcptray call` meets a refresh that fails
// (invalid_grant), waits for the sign-in the hub starts, and prints the
// result: scripts work.
func (e *oauthEnv) cliCallWaits() {
	t := e.t
	opened, release := e.gateBrowser(e.br.signIn)
	defer release()
	opens0 := e.br.count()
	e.idp.admin(t, "/admin/revoke-grants")

	cmd := exec.Command(filepath.Join(testBins(t), "mcptray"), "call", serverName, "whoami")
	cmd.Env = e.hub.env()
	var out, errb lockedBuf
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	}()
	e.waitOpened(opened)
	e.waitFor("the held CLI call counted", 10*time.Second, func() bool { return e.hub.status(serverName).WaitingForSignIn == 1 })
	select {
	case err := <-exited:
		t.Fatalf("mcptray call returned before the sign-in: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
	default:
	}
	// While it waits, it says so on stderr, with the page the sign-in
	// waits on (the hub's pending authorization URL); stdout stays empty.
	waiting := "mcptray: waiting for you to sign in to " + serverName + " in your browser (" + e.idp.issuer
	e.waitFor("mcptray call saying what it waits for", 10*time.Second, func() bool { return strings.Contains(errb.String(), waiting) })
	st := e.hub.status(serverName)
	if st.Auth == nil || !strings.HasPrefix(st.Auth.SignInURL, e.idp.issuer) {
		t.Fatalf("status shows no pending sign-in URL: %+v", st.Auth)
	}
	if !strings.Contains(errb.String(), "("+st.Auth.SignInURL+")…") {
		t.Fatalf("mcptray call's stderr does not name the pending sign-in URL %s:\n%s", st.Auth.SignInURL, errb.String())
	}
	if out.String() != "" {
		t.Fatalf("mcptray call wrote to stdout while it waited: %q", out.String())
	}
	release()
	select {
	case err := <-exited:
		e.output("mcptray call stdout", out.String())
		e.output("mcptray call stderr", errb.String())
		if err != nil {
			t.Fatalf("mcptray call: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("mcptray call did not return after the sign-in\nstderr: %s", errb.String())
	}
	if !strings.Contains(out.String(), "signed in as alice") {
		t.Fatalf("mcptray call printed %q", out.String())
	}
	if st := e.hub.status(serverName); st.Auth != nil && st.Auth.SignInURL != "" {
		t.Fatalf("the sign-in URL is still shown after the sign-in: %s", st.Auth.SignInURL)
	}
	if n := e.br.count(); n != opens0+1 {
		t.Fatalf("the browser was opened %d times, want once", n-opens0)
	}
	if st := e.idp.stats(t); st.invalidGrants() == 0 {
		t.Fatalf("the refresh did not meet invalid_grant: %v", st.Errors)
	}
	e.logf("mcptray call: %s", strings.TrimSpace(out.String()))
}

// `mcptray call` is interrupted (a script's Ctrl-C) while it waits for a
// sign-in: the hub stops holding its request; the sign-in goes on.
func (e *oauthEnv) cliCallInterrupted() {
	t := e.t
	opened, release := e.gateBrowser(e.br.signIn)
	defer release()
	e.idp.admin(t, "/admin/revoke-grants")
	cmd := exec.Command(filepath.Join(testBins(t), "mcptray"), "call", serverName, "whoami")
	cmd.Env = e.hub.env()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	e.waitOpened(opened)
	e.waitFor("the held CLI call counted", 10*time.Second, func() bool { return e.hub.status(serverName).WaitingForSignIn == 1 })
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	<-exited
	// Without the hub noticing, the request would wait out signInWait (2
	// minutes).
	e.waitFor("the interrupted call's hold to end", 20*time.Second, func() bool { return e.hub.status(serverName).WaitingForSignIn == 0 })
	if s := e.hub.status(serverName); s.State != mcpclient.StateLoggingIn {
		t.Fatalf("the sign-in ended with the call: state %s", s.State)
	}
	release() // the user signs in after all
	e.hub.waitState(serverName, mcpclient.StateConnected, 60*time.Second)
	if got := e.whoami(); got != "signed in as alice" {
		t.Fatalf("after the sign-in: %q", got)
	}
}

// The user declines on the consent page: the held call gets the error
// that names the server and says how to sign in, at once.
func (e *oauthEnv) heldCallConsentRefused() {
	t := e.t
	opened, release := e.gateBrowser(func(ctx context.Context, authURL string) error {
		return e.br.decline(ctx, authURL)
	})
	defer release()
	e.idp.admin(t, "/admin/revoke-grants")
	_, held := e.ide.start("tools/call", whoami)
	e.waitOpened(opened)
	release()
	r := e.ide.wait(held, "the held call", 60*time.Second)
	if r.Error == nil || r.Error.Code != jsonrpc.CodeNeedsLogin ||
		!strings.Contains(r.Error.Message, "the authorization was declined") || !strings.Contains(r.Error.Message, "mcptray login "+serverName) {
		t.Fatalf("the held call after the consent was refused: want the needs-login error saying so, got %s", r.raw)
	}
	e.output("IDE error", r.Error.Message)
	e.logf("held call, consent refused: %d %s", r.Error.Code, r.Error.Message)

	// The failed automatic sign-in opens no browser again by itself: the
	// next call gets the error at once.
	opens := e.br.count()
	r = e.ide.call("tools/call", whoami)
	if r.Error == nil || r.Error.Code != jsonrpc.CodeNeedsLogin || !strings.Contains(r.Error.Message, "mcptray login "+serverName) {
		t.Fatalf("the next call: %s", r.raw)
	}
	if n := e.br.count(); n != opens {
		t.Fatalf("the browser was opened again (%d times) after a refused sign-in", n-opens)
	}
}

// A hub with signInWait 2: the user never signs in; the held call (and
// `mcptray call`) gets the error that names the server, the wait, and
// how to sign in.
func (e *oauthEnv) heldCallTimesOut() {
	t := e.t
	opened, release := e.gateBrowser(e.br.signIn) // never released in time
	defer release()
	store := auth.NewFileStore(paths.Credentials(t.TempDir()))
	hub := startOAuthHub(t, map[string]string{serverName: urlEntry(e.mcp.URL)}, `"signInWait": 2`,
		mcpclient.HubOptions{CredentialStore: store, OpenBrowser: e.br.Open}, e.hubLog)
	ide := launchBridge(t, hub.env(), serverName)
	ide.initialize(nil)
	hub.waitState(serverName, mcpclient.StateNeedsLogin, 20*time.Second)

	r := ide.call("tools/call", whoami)
	e.waitOpened(opened)
	want := fmt.Sprintf("server %q needs you to sign in; mcptray waited 2s (signInWait in the mcptray config)", serverName)
	if r.Error == nil || r.Error.Code != jsonrpc.CodeNeedsLogin || !strings.Contains(r.Error.Message, want) ||
		!strings.Contains(r.Error.Message, "mcptray login "+serverName) {
		t.Fatalf("the held call: want the timeout error, got %s", r.raw)
	}
	e.output("IDE error", r.Error.Message)
	e.logf("held call, no sign-in: %d %s", r.Error.Code, r.Error.Message)

	// The sign-in still runs: `mcptray call` joins it and times out too.
	out, errOut, code := cli(t, hub, "call", serverName, "whoami")
	e.output("mcptray call stdout", out)
	e.output("mcptray call stderr", errOut)
	if code != 1 || !strings.Contains(errOut, want) {
		t.Fatalf("mcptray call (exit %d):\nstdout: %s\nstderr: %s", code, out, errOut)
	}
	if n := len(opened); n != 0 {
		t.Fatalf("the browser was opened %d more times", n)
	}
}

// decline plays a user who signs in and refuses the consent.
func (b *browser) decline(ctx context.Context, authURL string) error {
	u, err := url.Parse(authURL)
	if err != nil {
		return err
	}
	redirect := u.Query().Get("redirect_uri")
	tab, cancelTab := chromedp.NewContext(b.ctx)
	defer cancelTab()
	stop := context.AfterFunc(ctx, cancelTab)
	defer stop()
	tctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(authURL)); err != nil {
		return err
	}
	var acted float64
	for {
		if err := tctx.Err(); err != nil {
			return err
		}
		st, err := chromedp.Run(tctx, chromedp.Evaluate[pageState](pageStateJS))
		if err != nil || st.Ready != "complete" || st.Doc == acted {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if strings.HasPrefix(st.Href, redirect) {
			return errors.New("declined") // mcptray's page says so
		}
		switch st.Page {
		case "login":
			acted = st.Doc
			err = chromedp.Do(tctx,
				chromedp.SendKeys(chromedp.CSS("#username"), b.user),
				chromedp.SendKeys(chromedp.CSS("#password"), b.password),
				chromedp.Click(chromedp.CSS("#sign-in")))
		case "consent":
			acted = st.Doc
			err = chromedp.Do(tctx, chromedp.Click(chromedp.CSS("#deny")))
		default:
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil && tctx.Err() == nil {
			return fmt.Errorf("the %s page: %w", st.Page, err)
		}
	}
}
