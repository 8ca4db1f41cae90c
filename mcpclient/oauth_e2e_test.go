package mcpclient_test

// OAuth end to end, with nothing faked: oidc-provider (npm) as the
// authorization server, an mcp-go server that accepts only its tokens,
// headless Chromium filling in the login and consent pages, gnome-keyring
// as the credential store (in a private D-Bus session), the in-process hub
// and the real mcptray-bridge and mcptray binaries.
//
//	go test -race -run OAuth ./mcpclient/
//
// Needs chromium, dbus-daemon and gnome-keyring (apt) and the pinned npm
// packages (Node 22, oidc-provider): .ci/deps.sh installs them. Without
// them the tests skip, or fail with MCPTRAY_REQUIRE_REAL=1 (or CI set).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/auth/keyringtest"
	"github.com/mcptray/mcptray/mcpclient"
	fs "github.com/mcptray/mcptray/mcpclient/internal/faultserver"
	"github.com/mcptray/mcptray/mcpclient/internal/testenv"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// accessTokenTTL is the lifetime of the idp's access tokens.
const accessTokenTTL = 15 * time.Second

const serverName = "protected"

var whoami = map[string]any{"name": "whoami", "arguments": map[string]any{}}

// oauthEnv is one hub with one protected server and everything around it.
type oauthEnv struct {
	t       *testing.T
	idp     *idp
	mcp     *protectedMCP
	br      *browser
	store   auth.Store
	hub     *hubFixture
	hubLog  *lockedBuf
	ide     *ide
	key     string // the credentials' store key
	secrets needles
	testLog lockedBuf     // everything this test logged
	outputs []namedOutput // more text that must hold no secret
}

type namedOutput struct{ name, text string }

// logf logs, and keeps the line for the final secrets check.
func (e *oauthEnv) logf(format string, args ...any) {
	e.t.Helper()
	s := fmt.Sprintf(format, args...)
	fmt.Fprintln(&e.testLog, s)
	e.t.Log(s)
}

func (e *oauthEnv) output(name, text string) {
	e.outputs = append(e.outputs, namedOutput{name, text})
}

func (e *oauthEnv) creds() *auth.Credentials {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := e.store.Load(ctx, e.key)
	if err != nil {
		e.t.Fatalf("load the stored credentials: %v", err)
	}
	e.secrets.add("stored token", c.AccessToken, c.RefreshToken, c.ClientSecret)
	return c
}

func (e *oauthEnv) whoami() string {
	e.t.Helper()
	return e.ide.toolText(e.ide.ok("tools/call", whoami))
}

// waitFor polls cond until it holds or within passes.
func (e *oauthEnv) waitFor(what string, within time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func oauthPreflight(t *testing.T) {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("the OAuth end-to-end tests need Linux (Secret Service, Debian's chromium)")
	}
	chromiumPath(t)
	testenv.Node22(t)
	if _, err := os.Stat(filepath.Join(testenv.NPMDir(t), "node_modules", "oidc-provider", "lib", "index.js")); err != nil {
		testenv.Require(t, "oidc-provider (npm, .ci/npm)")
	}
}

func TestOAuthE2E(t *testing.T) {
	oauthPreflight(t)
	t.Parallel()
	if !inPrivateBus(t, keyringtest.Real, 4*time.Minute) {
		return
	}
	start := time.Now()
	e := &oauthEnv{t: t, hubLog: &lockedBuf{}}
	defer e.finalChecks()

	// The pieces: MCP server address first (it is the idp's resource).
	e.mcp = listenProtected(t)
	e.idp = startIdP(t, e.mcp.URL, accessTokenTTL)
	e.mcp.serve(t, e.idp)
	e.br = startBrowser(t, "alice", e.idp.password)
	e.secrets.add("password", e.idp.password, e.idp.rsSecret)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, warning, err := auth.OpenStore(ctx, auth.StoreKeyring, paths.Credentials(t.TempDir()),
		auth.KeyringOptions{Service: "mcptray-test-" + randHex(4), Timeout: 20 * time.Second})
	if err != nil || warning != "" || store.Name() != "keychain" {
		t.Fatalf("the keychain store: %v, warning %q, name %q", err, warning, store.Name())
	}
	e.store = store
	e.key = auth.Key(e.mcp.URL, "")
	e.hub = startOAuthHub(t, map[string]string{serverName: urlEntry(e.mcp.URL)}, "",
		mcpclient.HubOptions{CredentialStore: store, OpenBrowser: e.br.Open}, e.hubLog)
	e.logf("set up in %s: idp %s, MCP server %s, chromium, gnome-keyring", time.Since(start).Round(time.Millisecond), e.idp.issuer, e.mcp.URL)

	e.runSteps([]oauthStep{
		{"first login via a bridge", e.firstLogin},
		{"expiry and refresh", e.expiryAndRefresh},
		{"refresh token revoked on the server", e.revokedRefreshToken},
		{"mcptray login racing the hub's refresh", e.loginRacingRefresh},
		{"callback port taken", e.callbackPortTaken},
		{"sign-in abandoned while the hub's refresh succeeds", e.abandonedLoginDuringRefresh},
		{"status", e.status},
	})
}

// (a) The IDE's first calls wait for the sign-in the hub starts (the
// browser is opened automatically, once) and are answered once it is
// done, in the same bridge process.
func (e *oauthEnv) firstLogin() {
	t := e.t
	e.ide = launchBridge(t, e.hub.env(), serverName)
	pid := e.ide.cmd.Process.Pid
	e.ide.initialize(nil)
	e.hub.waitState(serverName, mcpclient.StateNeedsLogin, 20*time.Second)
	if n := e.br.count(); n != 0 {
		t.Fatalf("the browser was opened %d times before any IDE asked for the server", n)
	}

	// Two calls at once: both wait for the one sign-in (a second opens no
	// browser) and get their results.
	_, first := e.ide.start("tools/call", whoami)
	_, second := e.ide.start("tools/call", whoami)
	for i, ch := range []<-chan *rpcResp{first, second} {
		r := e.ide.wait(ch, "a call held for the sign-in", 60*time.Second)
		if r.Error != nil {
			e.output("IDE error", r.Error.Message)
			t.Fatalf("call %d: want it held until the sign-in and answered, got %s", i+1, r.raw)
		}
		if got := e.ide.toolText(r.Result); got != "signed in as alice" {
			t.Fatalf("call %d after the sign-in: %q", i+1, got)
		}
	}

	e.hub.waitState(serverName, mcpclient.StateConnected, 60*time.Second)
	if got := e.whoami(); got != "signed in as alice" {
		t.Fatalf("after the login: %q", got)
	}
	if e.ide.cmd.Process.Pid != pid {
		t.Fatal("the bridge process changed")
	}
	e.ide.waitNote("notifications/tools/list_changed", nil, 10*time.Second)
	if n := e.br.count(); n != 1 {
		t.Fatalf("the browser was opened %d times, want once", n)
	}
	e.logf("browser pages: %v", e.br.pageLog())

	c := e.creds()
	if c.AccessToken == "" || c.RefreshToken == "" || !c.Registered || c.CallbackPort == 0 ||
		c.Resource != e.mcp.URL || c.Issuer != e.idp.issuer || c.TokenEndpointAuthMethod != auth.AuthMethodNone {
		t.Fatalf("stored credentials: registered %v, port %d, resource %q, issuer %q, auth method %q, tokens %v/%v",
			c.Registered, c.CallbackPort, c.Resource, c.Issuer, c.TokenEndpointAuthMethod, c.AccessToken != "", c.RefreshToken != "")
	}
	if _, err := os.Stat(paths.Credentials(e.hub.home)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a credentials file exists beside the keychain: %v", err)
	}
	st := e.idp.stats(t)
	if st.Registrations != 1 || st.Logins != 1 || st.Consents != 1 || st.Grants["authorization_code"] != 1 {
		t.Fatalf("idp: %+v", st)
	}
	if s := e.hub.status(serverName); !s.SignedIn {
		t.Fatalf("status does not say signed in: %+v", s)
	}
}

// (b) Past the access token's lifetime the next call succeeds with a
// refreshed (and rotated) token, refreshed before use.
func (e *oauthEnv) expiryAndRefresh() {
	t := e.t
	c0 := e.creds()
	s0 := e.idp.stats(t)
	sessions0 := e.hub.status(serverName).SessionsOpened

	// A call with a fresh token (refresh due half-way through its life)
	// does not refresh it.
	fresh := time.Now().Before(c0.RefreshAt().Add(-2 * time.Second))
	if got := e.whoami(); got != "signed in as alice" {
		t.Fatalf("call: %q", got)
	}
	if n := e.idp.stats(t).Grants["refresh_token"] - s0.Grants["refresh_token"]; fresh && n != 0 {
		t.Fatalf("a call with an access token %s old (of %s) refreshed it %d time(s)",
			(accessTokenTTL - time.Until(c0.Expiry)).Round(time.Second), accessTokenTTL, n)
	}

	c0 = e.creds()
	s0 = e.idp.stats(t)
	unauth0 := e.mcp.unauthorized.Load()
	wait := time.Until(c0.Expiry) + time.Second
	e.logf("waiting %s for the access token to expire", wait.Round(100*time.Millisecond))
	time.Sleep(wait)

	if got := e.whoami(); got != "signed in as alice" {
		t.Fatalf("call after expiry: %q", got)
	}
	s1 := e.idp.stats(t)
	c1 := e.creds()
	if s1.Grants["refresh_token"] <= s0.Grants["refresh_token"] {
		t.Fatalf("no refresh at the idp: %+v → %+v", s0.Grants, s1.Grants)
	}
	if c1.AccessToken == c0.AccessToken || c1.RefreshToken == c0.RefreshToken || !c1.Expiry.After(time.Now()) {
		t.Fatalf("the stored tokens were not refreshed and rotated (new access token %v, new refresh token %v, expiry %s)",
			c1.AccessToken != c0.AccessToken, c1.RefreshToken != c0.RefreshToken, c1.Expiry)
	}
	if n := e.mcp.unauthorized.Load() - unauth0; n != 0 {
		t.Errorf("the MCP server answered 401 %d times: the token was not refreshed before use", n)
	}
	if s := e.hub.status(serverName); s.State != mcpclient.StateConnected || s.SessionsOpened != sessions0 {
		t.Errorf("state %s, sessions opened %d → %d: a refresh should keep the session", s.State, sessions0, s.SessionsOpened)
	}
	if s1.invalidGrants() != 0 {
		t.Fatalf("invalid_grant at the idp: %v", s1.Errors)
	}
	e.logf("refreshes at the idp: %d → %d", s0.Grants["refresh_token"], s1.Grants["refresh_token"])
}

// (c) The refresh token is revoked on the server: the next call finds
// that a sign-in is needed (the refresh meets invalid_grant), waits for
// the sign-in the hub starts (the browser opens once more: the last
// automatic sign-in succeeded) and is answered; a sign-in through
// hub.Login works too, and the same bridge process's calls succeed.
func (e *oauthEnv) revokedRefreshToken() {
	t := e.t
	pid := e.ide.cmd.Process.Pid
	opens0 := e.br.count()
	s0 := e.idp.stats(t)
	e.idp.admin(t, "/admin/revoke-grants")

	_, held := e.ide.start("tools/call", whoami)
	r := e.ide.wait(held, "the call after revocation", 60*time.Second)
	if r.Error != nil {
		e.output("IDE error", r.Error.Message)
		t.Fatalf("call after revocation: want it held until the sign-in and answered, got %s", r.raw)
	}
	if got := e.ide.toolText(r.Result); got != "signed in as alice" {
		t.Fatalf("call after revocation and the sign-in: %q", got)
	}
	s1 := e.idp.stats(t)
	if s1.invalidGrants() <= s0.invalidGrants() {
		t.Fatalf("the hub's refresh did not meet invalid_grant: %v", s1.Errors)
	}
	if s1.Grants["authorization_code"] != s0.Grants["authorization_code"]+1 || s1.Registrations != s0.Registrations {
		t.Fatalf("idp: authorization codes %d → %d, registrations %d → %d: want one sign-in with the registration kept",
			s0.Grants["authorization_code"], s1.Grants["authorization_code"], s0.Registrations, s1.Registrations)
	}
	if n := e.br.count(); n != opens0+1 {
		t.Fatalf("the browser was opened %d times for the held call, want once", n-opens0)
	}
	opens0 = e.br.count()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	urls := 0
	if err := e.hub.hub.Login(ctx, serverName, func(string) { urls++ }); err != nil {
		t.Fatalf("hub.Login: %v", err)
	}
	if urls != 1 || e.br.count() != opens0+1 {
		t.Fatalf("URL reported %d times, browser opened %d times", urls, e.br.count()-opens0)
	}
	e.hub.waitState(serverName, mcpclient.StateConnected, 30*time.Second)
	if got := e.whoami(); got != "signed in as alice" {
		t.Fatalf("after the new login: %q", got)
	}
	if e.ide.cmd.Process.Pid != pid {
		t.Fatal("the bridge process changed")
	}
	e.logf("browser pages: %v", e.br.pageLog()[opens0:])
}

// (d) `mcptray login` while the hub's own refresh is in flight at the
// idp (held there): both finish, nobody meets invalid_grant, the server
// ends connected and the stored tokens refresh fine afterwards.
func (e *oauthEnv) loginRacingRefresh() {
	t := e.t
	s0 := e.idp.stats(t)
	logStart := len(e.hubLog.String())
	released := false
	release := func() {
		if !released {
			released = true
			e.idp.admin(t, "/admin/hold-refresh?on=0")
		}
	}
	e.idp.admin(t, "/admin/hold-refresh?on=1")
	defer release()

	// Server-side loss of the access token: the next request gets 401 and
	// the hub refreshes, which the idp holds.
	e.idp.admin(t, "/admin/drop-access-tokens")
	_, pending := e.ide.start("tools/list", nil)
	e.waitFor("the hub's refresh at the idp", 20*time.Second, func() bool { return e.idp.stats(t).HeldRefreshes > 0 })
	e.logf("the hub's refresh is held at the idp; starting `mcptray login %s`", serverName)

	cmd := exec.Command(filepath.Join(testBins(t), "mcptray"), "login", serverName)
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
		}
	}()

	// The login's code exchange happens while the refresh is still held.
	e.waitFor("the login's code exchange", 60*time.Second, func() bool {
		return e.idp.stats(t).Grants["authorization_code"] > s0.Grants["authorization_code"]
	})
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-exited:
		e.logf("mcptray login finished before the refresh was released: %v", err)
		exited <- err
	default:
		e.logf("the login's tokens are in; mcptray login waits (for the refresh's lock). Releasing the refresh")
	}
	release()

	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("mcptray login: %v\nstdout: %s\nstderr: %s", err, out.String(), errb.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("mcptray login did not finish\nstdout: %s\nstderr: %s", out.String(), errb.String())
	}
	e.output("mcptray login stdout", out.String())
	e.output("mcptray login stderr", errb.String())
	if !strings.Contains(out.String(), "Signed in to "+serverName+".") {
		t.Fatalf("mcptray login printed:\n%s", out.String())
	}
	// The request held while the hub refreshed is answered: with the
	// result, or, as the login started before the session was back, with
	// the words that a sign-in is under way.
	r := e.ide.wait(pending, "tools/list during the race", 30*time.Second)
	switch {
	case r.Error == nil:
		e.logf("tools/list held during the race: answered")
	case r.Error.Code == jsonrpc.CodeNeedsLogin && strings.Contains(r.Error.Message, "finish signing in"):
		e.output("IDE error", r.Error.Message)
		e.logf("tools/list held during the race: %d %s", r.Error.Code, r.Error.Message)
	default:
		t.Fatalf("tools/list during the race: %s", r.raw)
	}
	e.hub.waitState(serverName, mcpclient.StateConnected, 30*time.Second)
	if got := e.whoami(); got != "signed in as alice" {
		t.Fatalf("after the race: %q", got)
	}
	s1 := e.idp.stats(t)
	if s1.invalidGrants() != s0.invalidGrants() || s1.Grants["refresh_token"] <= s0.Grants["refresh_token"] {
		t.Fatalf("idp: errors %v → %v, refreshes %d → %d", s0.Errors, s1.Errors, s0.Grants["refresh_token"], s1.Grants["refresh_token"])
	}

	// What is stored now refreshes fine.
	e.idp.admin(t, "/admin/drop-access-tokens")
	if got := e.whoami(); got != "signed in as alice" {
		t.Fatalf("after dropping the access token again: %q", got)
	}
	s2 := e.idp.stats(t)
	if s2.invalidGrants() != s0.invalidGrants() || s2.Grants["refresh_token"] <= s1.Grants["refresh_token"] {
		t.Fatalf("the stored tokens did not refresh cleanly: errors %v, refreshes %d → %d", s2.Errors, s1.Grants["refresh_token"], s2.Grants["refresh_token"])
	}
	if strings.Contains(e.hubLog.String()[logStart:], "invalid_grant") {
		t.Fatal("the hub log mentions invalid_grant after the race")
	}
	e.logf("mcptray login: %s", redactQueries(oneLineText(out.String())))
}

// (e) The port of the stored registration is taken: the login uses a
// fresh port and a fresh registration, and succeeds.
func (e *oauthEnv) callbackPortTaken() {
	t := e.t
	c0 := e.creds()
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(c0.CallbackPort)))
	if err != nil {
		t.Fatalf("occupy the callback port %d: %v", c0.CallbackPort, err)
	}
	defer ln.Close()
	hits := make(chan struct{}, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			hits <- struct{}{}
			c.Close()
		}
	}()
	s0 := e.idp.stats(t)
	opens0 := e.br.count()

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := e.hub.hub.Login(ctx, serverName, nil); err != nil {
		t.Fatalf("hub.Login with the callback port taken: %v", err)
	}
	c1 := e.creds()
	s1 := e.idp.stats(t)
	if c1.CallbackPort == c0.CallbackPort || c1.ClientID == c0.ClientID || !c1.Registered || c1.AccessToken == "" || c1.RefreshToken == "" {
		t.Fatalf("port %d → %d, new client %v, registered %v, tokens %v/%v", c0.CallbackPort, c1.CallbackPort,
			c1.ClientID != c0.ClientID, c1.Registered, c1.AccessToken != "", c1.RefreshToken != "")
	}
	if s1.Registrations != s0.Registrations+1 || e.br.count() != opens0+1 {
		t.Fatalf("registrations %d → %d, browser opens %d → %d", s0.Registrations, s1.Registrations, opens0, e.br.count())
	}
	if len(hits) != 0 {
		t.Fatalf("the occupied port got %d connections", len(hits))
	}
	if !strings.Contains(e.hubLog.String(), "callback port is taken") {
		t.Error("the hub log does not say the callback port was taken")
	}
	e.hub.waitState(serverName, mcpclient.StateConnected, 30*time.Second)
	if got := e.whoami(); got != "signed in as alice" {
		t.Fatalf("after the login on a fresh port: %q", got)
	}
	e.logf("callback port %d taken → %d, registered again; browser pages: %v", c0.CallbackPort, c1.CallbackPort, e.br.pageLog()[opens0:])
}

// (g) A sign-in that fails (here: no browser opens) after the hub's own
// refresh brought the session back leaves the server connected: the
// failed sign-in must not mark a working server as needing one.
func (e *oauthEnv) abandonedLoginDuringRefresh() {
	t := e.t
	released := false
	release := func() {
		if !released {
			released = true
			e.idp.admin(t, "/admin/hold-refresh?on=0")
		}
	}
	e.idp.admin(t, "/admin/hold-refresh?on=1")
	defer release()
	e.idp.admin(t, "/admin/drop-access-tokens")
	_, pending := e.ide.start("tools/list", nil)
	e.waitFor("the hub's refresh at the idp", 20*time.Second, func() bool { return e.idp.stats(t).HeldRefreshes > 0 })

	gate := make(chan struct{})
	e.br.setHook(func(ctx context.Context, _ string) error {
		select {
		case <-gate:
		case <-ctx.Done():
		}
		return errors.New("no browser on this machine")
	})
	defer e.br.setHook(nil)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	loginErr := make(chan error, 1)
	go func() { loginErr <- e.hub.hub.Login(ctx, serverName, nil) }()
	e.hub.waitState(serverName, mcpclient.StateLoggingIn, 20*time.Second)

	release() // the hub's refresh succeeds and the session comes back
	e.hub.waitState(serverName, mcpclient.StateConnected, 30*time.Second)
	close(gate) // now the sign-in fails
	select {
	case err := <-loginErr:
		if err == nil {
			t.Fatal("the sign-in without a browser succeeded")
		}
		e.output("hub.Login error", err.Error())
		e.logf("the sign-in failed as meant: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("hub.Login did not return")
	}
	time.Sleep(200 * time.Millisecond)
	if s := e.hub.status(serverName); s.State != mcpclient.StateConnected {
		t.Fatalf("after a failed sign-in on a working session: state %s (%s)", s.State, s.LastError)
	}
	if got := e.whoami(); got != "signed in as alice" {
		t.Fatalf("after the failed sign-in: %q", got)
	}
	if r := e.ide.wait(pending, "tools/list", 30*time.Second); r.Error != nil {
		e.output("IDE error", r.Error.Message)
		e.logf("tools/list held during the refresh: %d %s", r.Error.Code, r.Error.Message)
	}
}

// status: `mcptray status` names the keychain, no warning, signed in.
func (e *oauthEnv) status() {
	t := e.t
	out, errOut, code := cli(t, e.hub, "status")
	e.output("mcptray status", out+errOut)
	if code != 0 || !strings.Contains(out, "credentials: keychain") || strings.Contains(out, "warning:") ||
		!strings.Contains(out, "connected (signed in)") {
		t.Fatalf("mcptray status (exit %d):\n%s%s", code, out, errOut)
	}
	js, errOut, code := cli(t, e.hub, "status", "--json")
	e.output("mcptray status --json", js+errOut)
	var st mcpclient.StatusReport
	if code != 0 || json.Unmarshal([]byte(js), &st) != nil || len(st.Servers) != 1 || len(st.Servers[0].Events) == 0 {
		t.Fatalf("mcptray status --json (exit %d):\n%s%s", code, js, errOut)
	}
	e.logf("mcptray status:\n%s", out)
}

// finalChecks: no token, code, verifier or secret in any log or output.
func (e *oauthEnv) finalChecks() {
	t := e.t
	if e.idp != nil {
		e.secrets.add("idp secret", e.idp.secrets(t)...)
	}
	if e.br != nil {
		for _, u := range e.br.callbackURLs() {
			e.secrets.add("authorization code", codeFromCallback(u)...)
		}
	}
	if e.store != nil && e.key != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		if c, err := e.store.Load(ctx, e.key); err == nil {
			e.secrets.add("stored token", c.AccessToken, c.RefreshToken)
		}
		cancel()
	}
	if e.hub != nil {
		st, _ := json.Marshal(e.hub.hub.Status())
		e.output("hub status and events", string(st))
	}
	if e.ide != nil {
		e.output("bridge stderr", e.ide.stderrText())
	}
	total := len(e.hubLog.String()) + len(e.testLog.String())
	e.secrets.check(t, "the hub log", e.hubLog.String())
	e.secrets.check(t, "the test log", e.testLog.String())
	for _, o := range e.outputs {
		e.secrets.check(t, o.name, o.text)
		total += len(o.text)
	}
	if e.idp != nil {
		e.secrets.check(t, "the idp's log", e.idp.out.String())
	}
	if t.Failed() {
		t.Logf("hub log (secrets redacted):\n%s", e.secrets.redact(e.hubLog.String()))
		if e.idp != nil {
			t.Logf("idp log (secrets redacted):\n%s", e.secrets.redact(e.idp.out.String()))
		}
		if e.br != nil {
			t.Logf("chromium output (secrets redacted):\n%s", e.secrets.redact(tail(e.br.out.String(), 8<<10)))
		}
		return
	}
	t.Logf("no secret (%d tokens, codes, verifiers, passwords) in %d bytes of hub log, test log, status, CLI and IDE output",
		e.secrets.count(), total)
}

// redactQueries drops the query strings of URLs (the authorization URL's
// state is not for the test log).
func redactQueries(s string) string {
	return regexp.MustCompile(`\?[^\s]*`).ReplaceAllString(s, "?…")
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// ---- (f) the credential store at hub level ---------------------------------

// The store-level cases (no Secret Service, a hanging one) are tested in
// auth (keyring_test.go); these check what the hub and `mcptray status`
// make of them.

func TestOAuthFileStoreFallbackNoSecretService(t *testing.T) {
	testStoreFallback(t, keyringtest.None, "auto", []string{
		"warning: the OS keychain is not usable (", "org.freedesktop.secrets", "credentials are stored in",
	})
}

func TestOAuthFileStoreFallbackKeychainHangs(t *testing.T) {
	testStoreFallback(t, keyringtest.Hang, "auto", []string{
		"warning: the OS keychain is not usable (", "did not answer within", "may be locked or prompting", "credentials are stored in",
	})
}

func TestOAuthKeychainHangsKeyringMode(t *testing.T) {
	testStoreFallback(t, keyringtest.Hang, "keyring", []string{
		"credentials: keychain", "warning: the OS keychain is not usable: ", "did not answer within", "may be locked or prompting",
	})
}

func testStoreFallback(t *testing.T, mode, storeMode string, want []string) {
	if runtime.GOOS != "linux" {
		t.Skip("the Secret Service is Linux's")
	}
	t.Parallel()
	if !inPrivateBus(t, mode, 2*time.Minute) {
		return
	}
	srv, err := fs.Start(fs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	logs := &lockedBuf{}
	f := startOAuthHub(t, map[string]string{"plain": urlEntry(srv.URL())}, fmt.Sprintf(`"credentialStore": %q`, storeMode),
		mcpclient.HubOptions{NoAutoLogin: true}, logs)
	deadline := time.Now().Add(30 * time.Second)
	for f.hub.Status().CredentialWarning == "" {
		if time.Now().After(deadline) {
			t.Fatalf("no credential store warning in the status; hub log:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, errOut, code := cli(t, f, "status")
	if code != 0 {
		t.Fatalf("mcptray status: exit %d\n%s%s", code, out, errOut)
	}
	if storeMode == "auto" {
		want = append(want, "credentials: file "+paths.Credentials(f.home))
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("mcptray status lacks %q:\n%s", w, out)
		}
	}
	if storeMode == "auto" {
		// The file store works: the server (no OAuth) connects.
		f.waitState("plain", mcpclient.StateConnected, 30*time.Second)
	} else {
		s := f.waitStateNot("plain", mcpclient.StateConnecting, 30*time.Second)
		t.Logf("server state with a hanging keychain: %s (%s)", s.State, s.LastError)
	}
	t.Logf("mcptray status:\n%s", out)
}

// waitStateNot waits until the server leaves state st.
func (f *hubFixture) waitStateNot(name string, st mcpclient.State, within time.Duration) mcpclient.ServerStatus {
	f.t.Helper()
	deadline := time.Now().Add(within)
	for {
		s := f.status(name)
		if s.State != st {
			return s
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("server %s: still %s after %s", name, st, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// oauthStep is one named step of an OAuth end-to-end test.
type oauthStep struct {
	name string
	fn   func()
}

// runSteps runs the steps in order, logging each with its time.
func (e *oauthEnv) runSteps(steps []oauthStep) {
	for _, s := range steps {
		t0 := time.Now()
		e.logf("=== %s", s.name)
		s.fn()
		e.logf("--- %s: ok, %s", s.name, time.Since(t0).Round(time.Millisecond))
	}
}
