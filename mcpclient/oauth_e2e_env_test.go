package mcpclient_test

// Fixtures of the OAuth end-to-end tests (oauth_e2e_test.go): a private
// D-Bus session with gnome-keyring (or a missing or hanging Secret
// Service), oidc-provider as the authorization server, an mcp-go server
// that accepts only its tokens, and headless Chromium signing in.

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/mcptray/mcptray/auth/keyringtest"
	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/internal/testenv"
	"github.com/mcptray/mcptray/mcpclient/ipc"
)

// ---- private D-Bus session ---------------------------------------------------

// envBinDir names, in a child process, the directory of the binaries the
// parent built.
const envBinDir = "MCPTRAY_OAUTHE2E_BINDIR"

// inPrivateBus runs t in a private D-Bus session with mode's Secret
// Service (keyringtest.Real, None or Hang; never the user's own): in the
// test's own process it builds the binaries, re-runs the test alone in
// the session, reports its output and verdict and returns false, so the
// caller returns at once. In that child it returns true.
func inPrivateBus(t *testing.T, mode string, childTimeout time.Duration) bool {
	t.Helper()
	ok := keyringtest.SetupWith(t, mode, keyringtest.Options{
		Timeout: childTimeout,
		// Built once here, shared with the child.
		Env: func() []string { return []string{envBinDir + "=" + bins(t)} },
	})
	if ok && keyringtest.InChild() {
		testBins(t)
	}
	return ok
}

// testBins is bins(t). In a child process it links the binaries the
// parent built into this process's own bin dir (so that bins, and
// launchBridge, use them without a build: the child's HOME, and so its Go
// build cache, is empty).
func testBins(t testing.TB) string {
	if d := os.Getenv(envBinDir); d != "" {
		binOnce.Do(func() {
			dir, err := os.MkdirTemp("", "mcptray-bin-")
			if err != nil {
				binErr = err
				return
			}
			binDir = dir
			for _, name := range []string{"mcptray", "mcptray-bridge"} {
				if err := linkOrCopy(filepath.Join(d, name), filepath.Join(dir, name)); err != nil {
					binErr = err
					return
				}
			}
		})
	}
	return bins(t)
}

func linkOrCopy(src, dst string) error {
	if os.Link(src, dst) == nil {
		return nil
	}
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o755)
}

// ---- the authorization server (oidc-provider) ------------------------------

// idp is a running oidc-provider (testdata/oidc/provider.mjs).
type idp struct {
	issuer   string
	password string // alice's
	rsID     string // the resource server's introspection client
	rsSecret string
	out      *lockedBuf
	client   *http.Client
}

type idpStats struct {
	Grants        map[string]int `json:"grants"`
	Errors        map[string]int `json:"errors"`
	Registrations int            `json:"registrations"`
	Logins        int            `json:"logins"`
	BadPasswords  int            `json:"badPasswords"`
	Consents      int            `json:"consents"`
	HeldRefreshes int            `json:"heldRefreshes"`
	RevokedGrants int            `json:"revokedGrants"`
}

// invalidGrants counts token requests refused with invalid_grant.
func (s idpStats) invalidGrants() int {
	n := 0
	for k, v := range s.Errors {
		if strings.HasSuffix(k, ":invalid_grant") {
			n += v
		}
	}
	return n
}

// startIdP runs oidc-provider with Node 22 on a free port; resource is the
// MCP server's URL, ttl the access tokens' lifetime; env is added to its
// environment (e.g. DEVICE_FLOW=1).
func startIdP(t *testing.T, resource string, ttl time.Duration, env ...string) *idp {
	t.Helper()
	node := testenv.Node22(t)
	module := filepath.Join(testenv.NPMDir(t), "node_modules", "oidc-provider", "lib", "index.js")
	if _, err := os.Stat(module); err != nil {
		testenv.Require(t, "oidc-provider ("+module+")")
	}
	script, err := filepath.Abs(filepath.Join("testdata", "oidc", "provider.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{
		password: "pw-" + randHex(8),
		rsID:     "mcp-resource-server",
		rsSecret: "rs-" + randHex(16),
		out:      &lockedBuf{},
		client:   &http.Client{Timeout: 10 * time.Second},
	}
	port := testenv.FreePort(t)
	p.issuer = "http://127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(node, script, strconv.Itoa(port))
	cmd.Env = append(os.Environ(),
		"OIDC_PROVIDER_MODULE="+module,
		"MCP_RESOURCE="+resource,
		"ACCESS_TOKEN_TTL="+strconv.Itoa(int(ttl/time.Second)),
		"RS_CLIENT_ID="+p.rsID, "RS_CLIENT_SECRET="+p.rsSecret,
		"PASSWORD="+p.password)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = p.out, p.out
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := p.client.Get(p.issuer + "/.well-known/oauth-authorization-server")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-exited:
			t.Fatalf("oidc-provider exited:\n%s", p.out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("oidc-provider did not come up: %v\n%s", err, p.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *idp) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	resp, err := p.client.Get(p.issuer + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func (p *idp) admin(t testing.TB, path string) {
	t.Helper()
	resp, err := p.client.Post(p.issuer+path, "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %s", path, resp.Status)
	}
}

func (p *idp) stats(t testing.TB) idpStats {
	t.Helper()
	var s idpStats
	p.getJSON(t, "/admin/stats", &s)
	return s
}

// secrets returns every token, code and verifier the server issued or
// received. Never print them.
func (p *idp) secrets(t testing.TB) []string {
	t.Helper()
	var s []string
	p.getJSON(t, "/admin/secrets", &s)
	return s
}

type introspection struct {
	Active bool            `json:"active"`
	Sub    string          `json:"sub"`
	Scope  string          `json:"scope"`
	Aud    json.RawMessage `json:"aud"`
}

func (i introspection) audience() []string {
	var one string
	if json.Unmarshal(i.Aud, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(i.Aud, &many)
	return many
}

// introspect asks the provider about a token (RFC 7662), as the resource
// server's client.
func (p *idp) introspect(ctx context.Context, token string) (introspection, error) {
	form := url.Values{"token": {token}, "token_type_hint": {"access_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.issuer+"/token/introspection", strings.NewReader(form.Encode()))
	if err != nil {
		return introspection{}, err
	}
	req.SetBasicAuth(p.rsID, p.rsSecret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := p.client.Do(req)
	if err != nil {
		return introspection{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return introspection{}, fmt.Errorf("introspection: %s", resp.Status)
	}
	var r introspection
	err = json.NewDecoder(resp.Body).Decode(&r)
	return r, err
}

// ---- the protected MCP server ----------------------------------------------

// protectedMCP is an mcp-go Streamable HTTP server that accepts only
// access tokens the idp issued for it (checked by introspection on every
// request) and publishes RFC 9728 metadata naming the idp.
type protectedMCP struct {
	URL    string // http://127.0.0.1:PORT/mcp
	origin string
	idp    *idp
	ln     net.Listener
	srv    *http.Server

	unauthorized atomic.Int64 // 401 answers
	authorized   atomic.Int64 // requests with a valid token
}

const subHeader = "X-Protected-Test-Sub"

type subKey struct{}

// listenProtected reserves the server's address (the idp needs its URL
// as the resource before the server can start).
func listenProtected(t *testing.T) *protectedMCP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	origin := "http://" + ln.Addr().String()
	return &protectedMCP{URL: origin + "/mcp", origin: origin, ln: ln}
}

func (s *protectedMCP) serve(t *testing.T, p *idp) {
	t.Helper()
	s.idp = p
	ms := server.NewMCPServer("protected-test", "1.0.0", server.WithToolCapabilities(true))
	ms.AddTool(mcp.NewTool("whoami", mcp.WithDescription("Names the signed-in user.")),
		func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			sub, _ := ctx.Value(subKey{}).(string)
			return mcp.NewToolResultText("signed in as " + sub), nil
		})
	streamable := server.NewStreamableHTTPServer(ms,
		server.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
			return context.WithValue(ctx, subKey{}, r.Header.Get(subHeader))
		}))
	prm, _ := json.Marshal(map[string]any{
		"resource":                 s.URL,
		"authorization_servers":    []string{p.issuer},
		"scopes_supported":         []string{"mcp:tools"},
		"bearer_methods_supported": []string{"header"},
		"resource_name":            "mcptray e2e protected server",
	})
	mux := http.NewServeMux()
	servePRM := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(prm)
	}
	mux.HandleFunc("GET /.well-known/oauth-protected-resource", servePRM)
	mux.HandleFunc("GET /.well-known/oauth-protected-resource/mcp", servePRM)
	mux.Handle("/mcp", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del(subHeader)
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		challenge := fmt.Sprintf(`Bearer resource_metadata="%s/.well-known/oauth-protected-resource", scope="mcp:tools"`, s.origin)
		if !ok || tok == "" {
			s.unauthorized.Add(1)
			w.Header().Set("WWW-Authenticate", challenge)
			http.Error(w, "authorization required", http.StatusUnauthorized)
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
		in, err := p.introspect(ctx, tok)
		cancel()
		if err != nil {
			http.Error(w, "cannot check the token now", http.StatusServiceUnavailable)
			return
		}
		if !in.Active || !slices.Contains(in.audience(), s.URL) || !slices.Contains(strings.Fields(in.Scope), "mcp:tools") {
			s.unauthorized.Add(1)
			w.Header().Set("WWW-Authenticate", challenge+`, error="invalid_token", error_description="the access token is not valid for this server"`)
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		s.authorized.Add(1)
		r.Header.Set(subHeader, in.Sub)
		streamable.ServeHTTP(w, r)
	}))
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.srv.Serve(s.ln) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.srv.Shutdown(ctx)
		_ = s.srv.Close()
	})
}

// ---- the browser (headless Chromium through chromedp) ----------------------

// chromiumPath finds Debian's chromium.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testenv.Require(t, "chromium (apt package chromium)")
	return ""
}

// browser drives headless Chromium through sign-ins: it opens the
// authorization URL in a new tab, fills in the login form, allows the
// consent, and waits until the redirect reached mcptray's loopback
// listener and its page says "Signed in".
type browser struct {
	t        *testing.T
	ctx      context.Context // the browser's first tab; new tabs derive from it
	out      *lockedBuf      // chromium's own output
	user     string
	password string

	mu        sync.Mutex
	hook      func(ctx context.Context, url string) error // replaces the sign-in when set
	opens     int
	callbacks []string // URLs of the callback requests (they hold codes: never print)
	pages     []string // "login", "consent" … per sign-in, for the log
	lastErr   error
}

func startBrowser(t *testing.T, user, password string) *browser {
	t.Helper()
	exe := chromiumPath(t)
	b := &browser{t: t, out: &lockedBuf{}, user: user, password: password}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // root, in a container
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("password-store", "basic"), // never the test's Secret Service
		chromedp.UserDataDir(t.TempDir()),
		chromedp.CombinedOutput(b.out),
	)
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(func() {
		bcancel()
		acancel()
	})
	// The first call starts the browser; its context must carry no
	// timeout (that would stop the browser), so the wait is bounded here.
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(bctx) }()
	select {
	case err := <-started:
		if err != nil {
			t.Fatalf("start chromium: %v\n%s", err, b.out.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("chromium did not start within 30 s\n%s", b.out.String())
	}
	b.ctx = bctx
	return b
}

type pageState struct {
	Href  string  `json:"href"`
	Page  string  `json:"page"`
	Title string  `json:"title"`
	Doc   float64 `json:"doc"`
	Error string  `json:"error"`
	Ready string  `json:"ready"`
}

const pageStateJS = `({
  href: location.href,
  page: (document.body && document.body.dataset.page) || "",
  title: document.title,
  doc: performance.timeOrigin,
  error: ((document.getElementById("error") || {}).textContent) || "",
  ready: document.readyState,
})`

// Open is the hub's OpenBrowser hook.
func (b *browser) Open(ctx context.Context, authURL string) error {
	b.mu.Lock()
	b.opens++
	hook := b.hook
	b.mu.Unlock()
	if hook != nil {
		return hook(ctx, authURL)
	}
	err := b.signIn(ctx, authURL)
	b.mu.Lock()
	b.lastErr = err
	b.mu.Unlock()
	return err
}

func (b *browser) signIn(ctx context.Context, authURL string) error {
	u, err := url.Parse(authURL)
	if err != nil {
		return err
	}
	redirect := u.Query().Get("redirect_uri")
	if !strings.HasPrefix(redirect, "http://127.0.0.1:") {
		return fmt.Errorf("the redirect URI %q is not a loopback one", redirect)
	}
	tab, cancelTab := chromedp.NewContext(b.ctx)
	defer cancelTab()
	stop := context.AfterFunc(ctx, cancelTab)
	defer stop()
	tctx, cancel := context.WithTimeout(tab, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, chromedp.Navigate(authURL)); err != nil {
		return fmt.Errorf("navigate to the authorization URL: %w", err)
	}
	var seen []string
	defer func() {
		b.mu.Lock()
		b.pages = append(b.pages, strings.Join(seen, " → "))
		b.mu.Unlock()
	}()
	var acted float64
	var st pageState
	for {
		if err := tctx.Err(); err != nil {
			return fmt.Errorf("the sign-in did not finish (last page %q, title %q): %w", st.Page, st.Title, err)
		}
		var err error
		st, err = chromedp.Run(tctx, chromedp.Evaluate[pageState](pageStateJS))
		if err != nil || st.Ready != "complete" {
			time.Sleep(50 * time.Millisecond) // navigating
			continue
		}
		if strings.HasPrefix(st.Href, redirect) {
			b.mu.Lock()
			b.callbacks = append(b.callbacks, st.Href)
			b.mu.Unlock()
			seen = append(seen, "mcptray: "+st.Title)
			if strings.HasPrefix(st.Title, "Signed in") {
				return nil
			}
			return fmt.Errorf("the sign-in ended on mcptray's page %q", st.Title)
		}
		if st.Doc == acted {
			time.Sleep(50 * time.Millisecond) // the page we acted on is still there
			continue
		}
		switch st.Page {
		case "login":
			if st.Error != "" {
				return fmt.Errorf("the login page says: %s", st.Error)
			}
			acted = st.Doc
			seen = append(seen, "login")
			err = chromedp.Do(tctx,
				chromedp.SendKeys(chromedp.CSS("#username"), b.user),
				chromedp.SendKeys(chromedp.CSS("#password"), b.password),
				chromedp.Click(chromedp.CSS("#sign-in")))
		case "consent":
			acted = st.Doc
			seen = append(seen, "consent")
			err = chromedp.Do(tctx, chromedp.Click(chromedp.CSS("#allow")))
		default:
			if strings.Contains(strings.ToLower(st.Title), "oops") || strings.Contains(strings.ToLower(st.Title), "error") {
				text, _ := chromedp.Run(tctx, chromedp.Evaluate[string](`document.body ? document.body.innerText.slice(0, 300) : ""`))
				return fmt.Errorf("the authorization server shows an error page %q: %s", st.Title, oneLineText(text))
			}
			time.Sleep(50 * time.Millisecond)
			continue
		}
		if err != nil && tctx.Err() == nil {
			return fmt.Errorf("filling in the %s page: %w", st.Page, err)
		}
	}
}

func (b *browser) setHook(h func(ctx context.Context, url string) error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.hook = h
}

func (b *browser) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opens
}

func (b *browser) pageLog() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.pages)
}

func (b *browser) callbackURLs() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.callbacks)
}

func oneLineText(s string) string { return strings.Join(strings.Fields(s), " ") }

// ---- hub ---------------------------------------------------------------------

// oauthTuning is quick but leaves tokens alone between calls: no idle
// pings within a test step.
var oauthTuning = mcpclient.Tuning{
	HoldTimeout:      25 * time.Second,
	ConnectTimeout:   20 * time.Second,
	ProbeInterval:    2 * time.Minute,
	ProbeTimeout:     5 * time.Second,
	FirstConnectWait: 3 * time.Second,
	Backoff:          mcpclient.Backoff{Base: 100 * time.Millisecond, Cap: time.Second, Jitter: 0.2},
}

// startOAuthHub runs an in-process hub with opts (ConfigPath, Home,
// Tuning and Logger are filled in); its log goes to logs.
func startOAuthHub(t *testing.T, servers map[string]string, extraConfig string, opts mcpclient.HubOptions, logs io.Writer) *hubFixture {
	t.Helper()
	dir := shortTemp(t)
	f := &hubFixture{t: t, home: filepath.Join(dir, "home"), cfgPath: filepath.Join(dir, "config.json"),
		done: make(chan error, 1), logw: &logWriter{t: t}, tuning: oauthTuning}
	writeConfig(t, f.cfgPath, servers)
	if extraConfig != "" {
		b, err := os.ReadFile(f.cfgPath)
		if err != nil {
			t.Fatal(err)
		}
		b = bytes.Replace(b, []byte("{\n  \"mcpServers\""), []byte("{\n  "+extraConfig+",\n  \"mcpServers\""), 1)
		if err := os.WriteFile(f.cfgPath, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	opts.ConfigPath, opts.Home, opts.Tuning = f.cfgPath, f.home, oauthTuning
	opts.ReloadInterval = 100 * time.Millisecond
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	hub, err := mcpclient.NewHub(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.hub = hub
	ctx, cancel := context.WithCancel(context.Background())
	f.cancel = cancel
	go func() { f.done <- hub.Run(ctx) }()
	t.Cleanup(f.stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		pctx, c := context.WithTimeout(context.Background(), time.Second)
		_, err := ipc.Request(pctx, hub.Socket(), ipc.Hello{Op: ipc.OpPing})
		c()
		if err == nil {
			return f
		}
		select {
		case err := <-f.done:
			t.Fatalf("hub exited: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("hub did not come up: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// cli runs the real mcptray binary against the hub.
func cli(t *testing.T, f *hubFixture, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(testBins(t), "mcptray"), args...)
	cmd.Env = f.env()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		t.Fatalf("mcptray %v: %v", args, err)
	}
	return out.String(), errb.String(), code
}

// ---- secrets -----------------------------------------------------------------

// needles are secrets that must appear nowhere; their values are never
// printed, only their kind and index.
type needles struct {
	mu   sync.Mutex
	list []needle
}

type needle struct{ kind, value string }

func (n *needles) add(kind string, vals ...string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, v := range vals {
		if len(v) < 8 {
			continue
		}
		dup := false
		for _, x := range n.list {
			if x.value == v {
				dup = true
				break
			}
		}
		if !dup {
			n.list = append(n.list, needle{kind, v})
		}
	}
}

func (n *needles) count() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.list)
}

// check reports each secret found in text, by kind and position only.
func (n *needles) check(t *testing.T, where, text string) {
	t.Helper()
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, x := range n.list {
		if j := strings.Index(text, x.value); j >= 0 {
			t.Errorf("%s contains a secret: %s #%d (%d chars) at byte %d", where, x.kind, i, len(x.value), j)
		}
	}
}

// redact replaces the secrets in text, for printing diagnostics.
func (n *needles) redact(text string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, x := range n.list {
		text = strings.ReplaceAll(text, x.value, "[REDACTED "+x.kind+"]")
	}
	return text
}

// codeFromCallback returns the code and state of a callback URL.
func codeFromCallback(raw string) []string {
	u, err := url.Parse(raw)
	if err != nil {
		return nil
	}
	return []string{u.Query().Get("code")}
}

// lockedBuf is a buffer safe for concurrent writers.
type lockedBuf struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
