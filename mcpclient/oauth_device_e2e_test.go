package mcpclient_test

// Sign-in without a local browser, end to end (issue 11): oidc-provider
// with its device flow, headless Chromium as the user's browser on
// "another device", the real `mcptray login` and `mcptray call` binaries
// against an in-process hub.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// loginProc is a running `mcptray login`, its output read line by line.
type loginProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	out   *lockedBuf
	done  chan error
}

func startLogin(t *testing.T, f *hubFixture, args ...string) *loginProc {
	t.Helper()
	cmd := exec.Command(filepath.Join(testBins(t), "mcptray"), append([]string{"login"}, args...)...)
	cmd.Env = f.env()
	p := &loginProc{cmd: cmd, lines: make(chan string, 100), out: &lockedBuf{}, done: make(chan error, 1)}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = p.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			fmt.Fprintln(p.out, sc.Text())
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	return p
}

// next returns the first line after one that contains marker (the value
// lines of the login's output are indented below their heading).
func (p *loginProc) after(t *testing.T, marker string, within time.Duration) string {
	t.Helper()
	deadline := time.After(within)
	seen := false
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				t.Fatalf("mcptray login ended before %q:\n%s", marker, p.out.String())
			}
			if seen && strings.TrimSpace(l) != "" {
				return strings.TrimSpace(l)
			}
			seen = seen || strings.Contains(l, marker)
		case <-deadline:
			t.Fatalf("mcptray login printed no %q within %s:\n%s", marker, within, p.out.String())
		}
	}
}

func (p *loginProc) wait(t *testing.T, within time.Duration) {
	t.Helper()
	go func() {
		for range p.lines {
		}
	}()
	select {
	case err := <-p.done:
		if err != nil || !strings.Contains(p.out.String(), "Signed in to") {
			t.Fatalf("mcptray login: %v\n%s", err, p.out.String())
		}
	case <-time.After(within):
		t.Fatalf("mcptray login did not finish within %s:\n%s", within, p.out.String())
	}
}

// drive runs Chromium through the provider's pages from u: the device
// code confirmation, login and consent, until a page named done.
func (b *browser) drive(ctx context.Context, u, done string, extra ...chromedp.Action[chromedp.Void]) error {
	tab, cancelTab := chromedp.NewContext(b.ctx)
	defer cancelTab()
	tctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()
	stop := context.AfterFunc(ctx, cancel)
	defer stop()
	if err := chromedp.Do(tctx, append(extra, chromedp.Navigate(u))...); err != nil {
		return fmt.Errorf("navigate: %w", err)
	}
	var acted float64
	var st pageState
	for {
		if err := tctx.Err(); err != nil {
			return fmt.Errorf("did not reach %q (last page %q, title %q): %w", done, st.Page, st.Title, err)
		}
		var err error
		st, err = chromedp.Run(tctx, chromedp.Evaluate[pageState](pageStateJS))
		if err != nil || st.Ready != "complete" || st.Doc == acted {
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if st.Page == done {
			return nil
		}
		acted = st.Doc
		switch st.Page {
		case "device-confirm":
			err = chromedp.Do(tctx, chromedp.Click(chromedp.CSS("#confirm")))
		case "login":
			err = chromedp.Do(tctx,
				chromedp.SendKeys(chromedp.CSS("#username"), b.user),
				chromedp.SendKeys(chromedp.CSS("#password"), b.password),
				chromedp.Click(chromedp.CSS("#sign-in")))
		case "consent":
			err = chromedp.Do(tctx, chromedp.Click(chromedp.CSS("#allow")))
		default:
			acted = 0
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if err != nil && tctx.Err() == nil {
			return fmt.Errorf("on the %s page: %w", st.Page, err)
		}
	}
}

func statusJSON(t *testing.T, f *hubFixture) mcpclient.StatusReport {
	t.Helper()
	out, errOut, code := cli(t, f, "status", "--json")
	var st mcpclient.StatusReport
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil {
		t.Fatalf("mcptray status --json: exit %d\n%s\n%s", code, out, errOut)
	}
	return st
}

// TestDeviceSignInE2E: with oauth.flow "device", `mcptray login` prints
// the verification URI and the user code and polls; Chromium completes
// the verification page (confirm, sign in, consent); the login ends,
// `mcptray call` works, and status shows the auth health without tokens.
func TestDeviceSignInE2E(t *testing.T) {
	oauthPreflight(t)
	t.Parallel()
	mcp := listenProtected(t)
	p := startIdP(t, mcp.URL, time.Hour, "DEVICE_FLOW=1")
	mcp.serve(t, p)
	br := startBrowser(t, "alice", p.password)
	store := auth.NewFileStore(paths.Credentials(t.TempDir()))
	opened := 0
	f := startOAuthHub(t, map[string]string{"srv": fmt.Sprintf(`{"url": %q, "oauth": {"flow": "device"}}`, mcp.URL)}, "",
		mcpclient.HubOptions{CredentialStore: store, NoAutoLogin: true,
			OpenBrowser: func(context.Context, string) error { opened++; return nil }}, &logWriter{t: t})

	lp := startLogin(t, f, "srv")
	code := lp.after(t, "enter the code", 30*time.Second)
	complete := lp.after(t, "has the code filled in", 5*time.Second)
	if !strings.HasPrefix(complete, p.issuer) || !strings.Contains(complete, "user_code=") {
		t.Fatalf("verification_uri_complete %q", complete)
	}
	// The hub shows the pending code (tray and window read the same).
	if a := f.status("srv").Auth; a == nil || a.DeviceCode == nil || a.DeviceCode.UserCode != code {
		t.Fatalf("status does not show the pending code %q: %+v", code, a)
	}
	if err := br.drive(context.Background(), complete, "device-success"); err != nil {
		t.Fatalf("chromium: %v\nlogin output:\n%s", err, lp.out.String())
	}
	lp.wait(t, 60*time.Second)
	if opened != 0 {
		t.Errorf("a browser was opened %d times on this machine", opened)
	}

	out, errOut, rc := cli(t, f, "call", "srv", "whoami")
	if rc != 0 || !strings.Contains(out, "signed in as alice") {
		t.Fatalf("mcptray call: exit %d\n%s\n%s", rc, out, errOut)
	}
	if s := p.stats(t); s.Grants["urn:ietf:params:oauth:grant-type:device_code"] != 1 || s.Registrations != 1 {
		t.Fatalf("idp: %+v", s)
	}
	st := statusJSON(t, f)
	a := st.Servers[0].Auth
	if a == nil || !a.SignedIn || !a.RefreshToken || a.Registration != auth.RegistrationDynamic || a.AccessTokenExpiry.IsZero() || a.DeviceCode != nil {
		t.Fatalf("status auth: %+v", a)
	}
	raw, _ := json.Marshal(st)
	for _, s := range p.secrets(t) {
		if strings.Contains(string(raw), s) || strings.Contains(lp.out.String(), s) {
			t.Fatal("a token or code shows in status or the login's output")
		}
	}
}

// TestPasteBackSignInE2E: with no device grant, `mcptray login
// --no-browser` prints the authorization URL and waits on stdin; the
// browser (Chromium, which here cannot reach this machine's loopback
// address: the redirect is blocked) signs in, and a second process — the
// test — writes the redirect URL from its address bar to the login's
// stdin. A wrong paste first is refused with words, and the login waits.
func TestPasteBackSignInE2E(t *testing.T) {
	oauthPreflight(t)
	t.Parallel()
	mcp := listenProtected(t)
	p := startIdP(t, mcp.URL, time.Hour)
	mcp.serve(t, p)
	br := startBrowser(t, "alice", p.password)
	store := auth.NewFileStore(paths.Credentials(t.TempDir()))
	f := startOAuthHub(t, map[string]string{"srv": urlEntry(mcp.URL)}, "",
		mcpclient.HubOptions{CredentialStore: store, NoAutoLogin: true,
			OpenBrowser: func(context.Context, string) error { return fmt.Errorf("no browser here") }}, &logWriter{t: t})

	lp := startLogin(t, f, "srv", "--no-browser")
	authURL := lp.after(t, "Open this URL in a browser", 30*time.Second)
	redirectPrefix := ""
	if u, err := urlQuery(authURL, "redirect_uri"); err == nil {
		redirectPrefix = u
	}
	if !strings.HasPrefix(redirectPrefix, "http://127.0.0.1:") {
		t.Fatalf("redirect_uri %q", redirectPrefix)
	}
	// Chromium stands on another machine: the loopback redirect is
	// blocked; the URL it went to is what its address bar shows.
	redirected := make(chan string, 1)
	offline := chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		pattern := strings.TrimSuffix(redirectPrefix, "/callback") + "/*"
		if _, err := chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{
			URLPatterns: []*network.BlockPattern{{URLPattern: pattern, Block: true}}}); err != nil {
			return err
		}
		return chromedp.Listen(ctx, func(ev any) {
			if e, ok := ev.(*network.EventRequestWillBeSent); ok && strings.HasPrefix(e.Request.URL, redirectPrefix) {
				select {
				case redirected <- e.Request.URL:
				default:
				}
			}
		})
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	go func() {
		if err := br.drive(ctx, authURL, "never", offline); err != nil && ctx.Err() == nil {
			t.Logf("chromium: %v", err)
		}
	}()
	var got string
	select {
	case got = <-redirected:
	case <-ctx.Done():
		t.Fatalf("the browser never reached the redirect:\n%s", lp.out.String())
	}
	cancel()
	fmt.Fprintln(lp.stdin, strings.Replace(got, "state=", "state=wrong", 1))
	fmt.Fprintln(lp.stdin, got)
	lp.wait(t, 30*time.Second)
	if !strings.Contains(lp.out.String(), "not accepted") {
		t.Errorf("the wrong paste was not refused in words:\n%s", lp.out.String())
	}
	out, errOut, rc := cli(t, f, "call", "srv", "whoami")
	if rc != 0 || !strings.Contains(out, "signed in as alice") {
		t.Fatalf("mcptray call: exit %d\n%s\n%s", rc, out, errOut)
	}
}

func urlQuery(raw, key string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", err
	}
	return u.Query().Get(key), nil
}
