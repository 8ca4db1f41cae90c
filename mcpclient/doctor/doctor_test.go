package doctor_test

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/doctor"
	"github.com/mcptray/mcptray/mcpclient/internal/faultserver"
	"github.com/mcptray/mcptray/mcpclient/ipc"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// fixture is a config file and a state dir for one doctor run.
type fixture struct {
	t       *testing.T
	dir     string
	cfgPath string
	home    string
	env     map[string]string
}

func newFixture(t *testing.T) *fixture {
	dir, err := os.MkdirTemp("", "dr")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return &fixture{t: t, dir: dir, cfgPath: filepath.Join(dir, "config.json"), home: filepath.Join(dir, "h"), env: map[string]string{}}
}

// config writes the config: servers as name → entry JSON, plus caFile.
func (f *fixture) config(caFile string, servers map[string]string) {
	f.t.Helper()
	var parts []string
	for n, e := range servers {
		parts = append(parts, fmt.Sprintf("%q: %s", n, e))
	}
	doc := fmt.Sprintf(`{"mcpServers": {%s}`, strings.Join(parts, ", "))
	if caFile != "" {
		doc += fmt.Sprintf(`, "caFile": %q`, caFile)
	}
	doc += "}\n"
	if err := os.WriteFile(f.cfgPath, []byte(doc), 0o600); err != nil {
		f.t.Fatal(err)
	}
}

func direct(*http.Request) (*url.URL, error) { return nil, nil }

func (f *fixture) run(server string, proxy func(*http.Request) (*url.URL, error)) *doctor.Report {
	f.t.Helper()
	if proxy == nil {
		proxy = direct
	}
	rep := doctor.Run(context.Background(), doctor.Options{
		ConfigPath: f.cfgPath, Home: f.home, Server: server, Proxy: proxy, Timeout: 5 * time.Second,
		LookupEnv: func(k string) (string, bool) { v, ok := f.env[k]; return v, ok },
	})
	if testing.Verbose() {
		var b bytes.Buffer
		rep.Write(&b, nil)
		f.t.Log("\n" + b.String())
	}
	return rep
}

// expect checks one finding's status and that its summary (and fix)
// contain the given words.
func expect(t *testing.T, rep *doctor.Report, server, check string, st doctor.Status, words ...string) doctor.Finding {
	t.Helper()
	f, ok := rep.Find(server, check)
	if !ok {
		t.Fatalf("no %s finding for %q in %+v", check, server, rep.Findings)
	}
	if f.Status != st {
		t.Errorf("%s/%s: status %s (%s → %s), want %s", server, check, f.Status, f.Summary, f.Fix, st)
	}
	text := f.Summary + " → " + f.Fix
	for _, w := range words {
		if !strings.Contains(text, w) {
			t.Errorf("%s/%s: %q lacks %q", server, check, text, w)
		}
	}
	return f
}

func startFault(t *testing.T, transport string) *faultserver.Server {
	t.Helper()
	fs, err := faultserver.Start(faultserver.Options{Transport: transport})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fs.Close)
	return fs
}

// tlsFront is an HTTPS server (httptest's certificate: example.com,
// 127.0.0.1, ::1; not trusted by the system) in front of target.
func tlsFront(t *testing.T, target string) (*httptest.Server, string) {
	t.Helper()
	tu, _ := url.Parse(target)
	rp := &httputil.ReverseProxy{
		Rewrite:       func(r *httputil.ProxyRequest) { r.SetURL(tu) },
		FlushInterval: -1,
		ErrorLog:      log.New(io.Discard, "", 0),
	}
	srv := httptest.NewUnstartedServer(rp)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshakes that doctor refuses
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, ca
}

func TestHealthyServerWithHub(t *testing.T) {
	fs := startFault(t, "")
	f := newFixture(t)
	f.config("", map[string]string{"ok": fmt.Sprintf(`{"url": %q}`, fs.URL()), "off": `{"url": "https://off.example/mcp", "disabled": true}`})

	// A running hub: doctor reports it and its view of the server.
	hub, err := mcpclient.NewHub(mcpclient.HubOptions{ConfigPath: f.cfgPath, Home: f.home, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- hub.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitConnected(t, hub, "ok")

	rep := f.run("", nil)
	expect(t, rep, "", doctor.CheckConfig, doctor.OK, "2 servers", "1 disabled")
	expect(t, rep, "", doctor.CheckHub, doctor.OK, "running", "headless")
	expect(t, rep, "", doctor.CheckProxyEnv, doctor.Info, "no proxy")
	expect(t, rep, "ok", doctor.CheckHubState, doctor.OK, "connected")
	expect(t, rep, "ok", doctor.CheckProxy, doctor.Info, "direct")
	expect(t, rep, "ok", doctor.CheckDNS, doctor.OK, "IP address")
	expect(t, rep, "ok", doctor.CheckTCP, doctor.OK, fs.Addr())
	expect(t, rep, "ok", doctor.CheckHTTP, doctor.OK, "reachable")
	expect(t, rep, "ok", doctor.CheckResourceMeta, doctor.Info, "does not use OAuth")
	expect(t, rep, "ok", doctor.CheckInitialize, doctor.OK, "Streamable HTTP", "tools")
	expect(t, rep, "off", doctor.CheckServer, doctor.Info, "disabled")
	if _, ok := rep.Find("ok", doctor.CheckTLS); ok {
		t.Error("a TLS finding for an http:// server")
	}
	if _, ok := rep.Find("ok", doctor.CheckLogin); ok {
		t.Error("a login finding for a server without OAuth")
	}
	if rep.Broken() {
		t.Errorf("a healthy setup is broken: %+v", rep.Findings)
	}
	// The JSON form names statuses in words.
	b, _ := json.Marshal(rep)
	if !bytes.Contains(b, []byte(`"status":"ok"`)) {
		t.Errorf("JSON: %s", b)
	}
}

func waitConnected(t *testing.T, hub *mcpclient.Hub, name string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ctx, c := context.WithTimeout(context.Background(), time.Second)
		_, err := ipc.Request(ctx, hub.Socket(), ipc.Hello{Op: ipc.OpPing})
		c()
		if err == nil {
			for _, s := range hub.Snapshot(false) {
				if s.Name == name && s.State == mcpclient.StateConnected {
					return
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server %s did not connect", name)
}

// connectProxy is a forward proxy: CONNECT tunnels (to one fixed address,
// whatever host is asked for) and plain absolute-URI requests.
type connectProxy struct {
	srv     *httptest.Server
	target  string // host:port every tunnel goes to
	deny    bool
	mu      sync.Mutex
	tunnels []string
}

func startProxy(t *testing.T, target string, deny bool) *connectProxy {
	p := &connectProxy{target: target, deny: deny}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *connectProxy) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "only CONNECT here", http.StatusMethodNotAllowed)
		return
	}
	p.mu.Lock()
	p.tunnels = append(p.tunnels, r.Host)
	p.mu.Unlock()
	if p.deny {
		http.Error(w, "blocked by policy", http.StatusForbidden)
		return
	}
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		http.Error(w, "no hijack", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusOK)
	conn, buf, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	go func() {
		defer up.Close()
		defer conn.Close()
		go func() { io.Copy(up, buf); up.(*net.TCPConn).CloseWrite() }()
		io.Copy(conn, up)
	}()
}

func (p *connectProxy) url() *url.URL { u, _ := url.Parse(p.srv.URL); return u }

func (p *connectProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.tunnels...)
}

// A server reachable only through a forward proxy: its name does not even
// resolve here (the proxy maps it), the certificate is trusted via caFile.
func TestServerBehindProxy(t *testing.T) {
	fs := startFault(t, "")
	front, ca := tlsFront(t, "http://"+fs.Addr())
	p := startProxy(t, front.Listener.Addr().String(), false)
	f := newFixture(t)
	f.config(ca, map[string]string{"corp": `{"url": "https://example.com/mcp"}`})
	f.env["HTTPS_PROXY"] = p.srv.URL
	f.env["NO_PROXY"] = "localhost"
	viaProxy := func(*http.Request) (*url.URL, error) { return p.url(), nil }

	rep := f.run("corp", viaProxy)
	expect(t, rep, "", doctor.CheckProxyEnv, doctor.Info, "HTTPS_PROXY="+p.srv.URL, "NO_PROXY=localhost")
	expect(t, rep, "", doctor.CheckCAFile, doctor.OK, "1 certificate")
	expect(t, rep, "corp", doctor.CheckProxy, doctor.Info, "through the proxy "+p.srv.URL)
	if d, _ := rep.Find("corp", doctor.CheckDNS); d.Status == doctor.Fail {
		t.Errorf("DNS through a proxy must not fail: %+v", d)
	}
	expect(t, rep, "corp", doctor.CheckTCP, doctor.OK, p.url().Host, "proxy")
	expect(t, rep, "corp", doctor.CheckTLS, doctor.OK, "example.com")
	expect(t, rep, "corp", doctor.CheckHTTP, doctor.OK, "through "+p.srv.URL)
	expect(t, rep, "corp", doctor.CheckInitialize, doctor.OK, "Streamable HTTP")
	if rep.Broken() {
		t.Errorf("broken: %+v", rep.Findings)
	}
	for _, h := range p.seen() {
		if h != "example.com:443" {
			t.Errorf("the proxy was asked for %q", h)
		}
	}
	if len(p.seen()) == 0 {
		t.Error("nothing went through the proxy")
	}

	// A proxy that refuses the tunnel.
	deny := startProxy(t, front.Listener.Addr().String(), true)
	rep = f.run("corp", func(*http.Request) (*url.URL, error) { return deny.url(), nil })
	expect(t, rep, "corp", doctor.CheckHTTP, doctor.Fail, "refused the tunnel", "403")
	expect(t, rep, "corp", doctor.CheckTLS, doctor.Skip)
	if !rep.Broken() {
		t.Error("a refused tunnel is not broken")
	}
}

func TestUntrustedCertificate(t *testing.T) {
	fs := startFault(t, "")
	front, ca := tlsFront(t, "http://"+fs.Addr())
	u := front.URL + "/mcp"
	f := newFixture(t)

	f.config("", map[string]string{"tls": fmt.Sprintf(`{"url": %q}`, u)})
	rep := f.run("", nil)
	expect(t, rep, "tls", doctor.CheckTCP, doctor.OK)
	expect(t, rep, "tls", doctor.CheckTLS, doctor.Fail, "does not trust", `"caFile"`, f.cfgPath)
	expect(t, rep, "tls", doctor.CheckHTTP, doctor.Skip)
	expect(t, rep, "tls", doctor.CheckInitialize, doctor.Skip)
	if !rep.Broken() {
		t.Error("an untrusted certificate is not broken")
	}

	// The fix the finding suggests works.
	f.config(ca, map[string]string{"tls": fmt.Sprintf(`{"url": %q}`, u)})
	rep = f.run("", nil)
	expect(t, rep, "tls", doctor.CheckTLS, doctor.OK, "TLS 1.3")
	expect(t, rep, "tls", doctor.CheckInitialize, doctor.OK)
	if rep.Broken() {
		t.Errorf("still broken with caFile: %+v", rep.Findings)
	}

	// The same server by a name its certificate does not carry.
	port := front.Listener.Addr().(*net.TCPAddr).Port
	f.config(ca, map[string]string{"tls": fmt.Sprintf(`{"url": "https://localhost:%d/mcp"}`, port)})
	rep = f.run("", nil)
	expect(t, rep, "tls", doctor.CheckTLS, doctor.Fail, "hostname mismatch", "example.com", "not localhost")
}

func TestRefusedPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	f := newFixture(t)
	f.config("", map[string]string{"down": fmt.Sprintf(`{"url": "http://%s/mcp"}`, addr)})
	rep := f.run("down", nil)
	expect(t, rep, "down", doctor.CheckTCP, doctor.Fail, "connection refused", addr, "port")
	expect(t, rep, "down", doctor.CheckHTTP, doctor.Skip)
	expect(t, rep, "down", doctor.CheckInitialize, doctor.Skip)
	if !rep.Broken() {
		t.Error("a refused port is not broken")
	}
}

func TestUnresolvableHost(t *testing.T) {
	f := newFixture(t)
	f.config("", map[string]string{"typo": `{"url": "https://mcp.nonexistent.invalid/mcp"}`})
	rep := f.run("typo", nil)
	expect(t, rep, "typo", doctor.CheckDNS, doctor.Fail, "mcp.nonexistent.invalid")
	expect(t, rep, "typo", doctor.CheckTCP, doctor.Skip)
}

// oauthServer is an MCP endpoint that wants a login, with the metadata a
// client needs to get one.
func oauthServer(t *testing.T, withMetadata bool) *httptest.Server {
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("/mcp", func(w http.ResponseWriter, r *http.Request) {
		if withMetadata {
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer resource_metadata="%s/.well-known/oauth-protected-resource/mcp", scope="read"`, srv.URL))
		} else {
			w.Header().Set("WWW-Authenticate", `Bearer realm="x"`)
		}
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	})
	if withMetadata {
		mux.HandleFunc("/.well-known/oauth-protected-resource/mcp", func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(map[string]any{"resource": srv.URL + "/mcp", "authorization_servers": []string{srv.URL + "/as"}})
		})
		mux.HandleFunc("/.well-known/oauth-authorization-server/as", func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(map[string]any{
				"issuer": srv.URL + "/as", "authorization_endpoint": srv.URL + "/as/authorize", "token_endpoint": srv.URL + "/as/token",
				"registration_endpoint": srv.URL + "/as/register", "code_challenge_methods_supported": []string{"S256"},
			})
		})
	}
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestOAuthMetadata(t *testing.T) {
	withMD := oauthServer(t, true)
	without := oauthServer(t, false)
	fs := startFault(t, "")
	f := newFixture(t)
	f.config("", map[string]string{
		"login":  fmt.Sprintf(`{"url": %q}`, withMD.URL+"/mcp"),
		"nometa": fmt.Sprintf(`{"url": %q}`, without.URL+"/mcp"),
		"plain":  fmt.Sprintf(`{"url": %q}`, fs.URL()),
	})
	rep := f.run("", nil)

	expect(t, rep, "login", doctor.CheckHTTP, doctor.OK, "401")
	expect(t, rep, "login", doctor.CheckResourceMeta, doctor.OK, "authorization server "+withMD.URL+"/as")
	expect(t, rep, "login", doctor.CheckAuthServer, doctor.OK, "dynamic registration", "PKCE S256")
	expect(t, rep, "login", doctor.CheckLogin, doctor.Info, "unknown until OAuth lands")
	expect(t, rep, "login", doctor.CheckInitialize, doctor.Warn, "needs a login", "mcptray login login")

	expect(t, rep, "nometa", doctor.CheckResourceMeta, doctor.Fail, "401 but publishes no OAuth metadata", "header")
	expect(t, rep, "nometa", doctor.CheckInitialize, doctor.Fail, "no OAuth sign-in", "Authorization")
	if _, ok := rep.Find("nometa", doctor.CheckLogin); ok {
		t.Error("a login finding for a server without OAuth")
	}

	expect(t, rep, "plain", doctor.CheckResourceMeta, doctor.Info, "none published")
	if _, ok := rep.Find("plain", doctor.CheckAuthServer); ok {
		t.Error("authorization server checked for a server without OAuth")
	}
}

func TestLegacySSEServer(t *testing.T) {
	fs := startFault(t, faultserver.TransportSSE)
	f := newFixture(t)
	f.config("", map[string]string{
		"auto":  fmt.Sprintf(`{"url": %q}`, fs.URL()),
		"sse":   fmt.Sprintf(`{"url": %q, "transport": "sse"}`, fs.URL()),
		"wrong": fmt.Sprintf(`{"url": %q, "transport": "streamable-http"}`, fs.URL()),
	})
	rep := f.run("", nil)
	expect(t, rep, "auto", doctor.CheckInitialize, doctor.OK, "legacy SSE")
	expect(t, rep, "sse", doctor.CheckInitialize, doctor.OK, "legacy SSE")
	expect(t, rep, "wrong", doctor.CheckInitialize, doctor.Fail, "no Streamable HTTP endpoint", `"transport": "sse"`)
}

func TestConfigProblems(t *testing.T) {
	f := newFixture(t)
	rep := f.run("", nil)
	expect(t, rep, "", doctor.CheckConfig, doctor.Info, "no config file yet", "mcptray add")
	expect(t, rep, "", doctor.CheckHub, doctor.Info, "no hub is running")
	expect(t, rep, "", doctor.CheckCredentials, doctor.Info, "keyring/file")
	if rep.Broken() {
		t.Error("a fresh setup is broken")
	}

	if err := os.WriteFile(f.cfgPath, []byte(`{"mcpServers": {"x": {"url": "https://x", "bogus": 1}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	rep = f.run("", nil)
	expect(t, rep, "", doctor.CheckConfig, doctor.Fail, `server "x"`, `field "bogus"`)
	if !rep.Broken() {
		t.Error("a bad config is not broken")
	}

	f.config("", map[string]string{"e": `{"url": "https://${env:MCP_HOST}/mcp", "headers": {"Authorization": "Bearer ${env:TOKEN}"}}`})
	rep = f.run("e", nil)
	expect(t, rep, "e", doctor.CheckServer, doctor.Fail, "MCP_HOST", "not set")

	f.config("", map[string]string{"e": `{"url": "https://example.com/mcp"}`})
	rep = f.run("nope", nil)
	expect(t, rep, "nope", doctor.CheckServer, doctor.Fail, `no server named "nope"`, "mcptray list")

	f.env["HTTPS_PROXY"] = "http://user:hunter2@proxy.corp:3128"
	f.env["ALL_PROXY"] = "socks5://x:1080"
	rep = f.run("nope", nil)
	pe := expect(t, rep, "", doctor.CheckProxyEnv, doctor.Info, "proxy.corp:3128")
	if strings.Contains(pe.Summary, "hunter2") {
		t.Errorf("the proxy password is shown: %s", pe.Summary)
	}
	delete(f.env, "HTTPS_PROXY")
	rep = f.run("nope", nil)
	expect(t, rep, "", doctor.CheckProxyEnv, doctor.Warn, "ALL_PROXY", "HTTPS_PROXY")
}

// The report renders each finding with its fix.
func TestWrite(t *testing.T) {
	rep := &doctor.Report{Findings: []doctor.Finding{
		{Check: "config", Status: doctor.OK, Summary: "fine"},
		{Server: "a", Check: "tcp", Status: doctor.Fail, Summary: "refused", Fix: "start it"},
	}}
	var b bytes.Buffer
	rep.Write(&b, map[string]string{"a": "http://a/mcp"})
	out := b.String()
	for _, w := range []string{"setup\n", "ok", "server a  http://a/mcp\n", "FAIL", "→ start it", "1 problem"} {
		if !strings.Contains(out, w) {
			t.Errorf("missing %q in\n%s", w, out)
		}
	}
}

// TestForeignSocket: a hub socket whose directory another user made first
// (the temp-dir fallback for a deep state dir) is reported as broken, with
// the fix, and doctor sends nothing to it.
func TestForeignSocket(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to make a directory another user owns")
	}
	f := newFixture(t)
	f.home = filepath.Join(f.home, strings.Repeat("d", 60), strings.Repeat("e", 60))
	if err := os.MkdirAll(f.home, 0o700); err != nil {
		t.Fatal(err)
	}
	sock := paths.Socket(f.home)
	if filepath.Dir(sock) == f.home {
		t.Fatalf("the socket %s did not fall back to the temp dir", sock)
	}
	dir := filepath.Dir(sock)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chown(dir, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	rep := f.run("", nil)
	h := expect(t, rep, "", doctor.CheckHub, doctor.Fail, "refusing", "65534")
	if !strings.Contains(h.Fix, "Remove") || !strings.Contains(h.Fix, dir) {
		t.Errorf("the fix does not say what to remove: %q", h.Fix)
	}
}

// TestMovedEndpoint: an endpoint that answers 301 with its new address
// works for the hub (it keeps the POST), so doctor, which uses the hub's
// HTTP client, must find initialize working too instead of calling it
// broken the way a client that turns the POST into a GET would.
func TestMovedEndpoint(t *testing.T) {
	fs := startFault(t, "")
	moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/old" {
			http.NotFound(w, r)
			return
		}
		http.Redirect(w, r, fs.URL(), http.StatusMovedPermanently)
	}))
	t.Cleanup(moved.Close)
	f := newFixture(t)
	f.config("", map[string]string{"moved": fmt.Sprintf(`{"url": %q}`, moved.URL+"/old")})
	rep := f.run("moved", nil)
	expect(t, rep, "moved", doctor.CheckInitialize, doctor.OK, "Streamable HTTP")
}

// TestEraProbe: doctor probes each server's era as the hub does and says
// what it sent, what answered, which era it chose and why.
func TestEraProbe(t *testing.T) {
	start := func(era string) *faultserver.Server {
		s, err := faultserver.Start(faultserver.Options{Era: era})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(s.Close)
		return s
	}
	modern, dual, legacy := start(faultserver.EraModern), start(faultserver.EraDual), start(faultserver.EraLegacy)
	silent := start(faultserver.EraLegacy)
	silent.Inject(faultserver.Fault{Kind: faultserver.Stall, Method: "server/discover", Count: -1})
	f := newFixture(t)
	f.config("", map[string]string{
		"silent":        fmt.Sprintf(`{"url": %q}`, silent.URL()),
		"modern":        fmt.Sprintf(`{"url": %q}`, modern.URL()),
		"dual":          fmt.Sprintf(`{"url": %q}`, dual.URL()),
		"legacy":        fmt.Sprintf(`{"url": %q}`, legacy.URL()),
		"pinned":        fmt.Sprintf(`{"url": %q, "protocolVersion": "2025-06-18"}`, dual.URL()),
		"pinned-modern": fmt.Sprintf(`{"url": %q, "protocolVersion": "2026-07-28"}`, legacy.URL()),
	})
	rep := f.run("", nil)
	expect(t, rep, "modern", doctor.CheckEra, doctor.OK, "modern era (MCP 2026-07-28)", "server/discover", "DiscoverResult")
	expect(t, rep, "modern", doctor.CheckInitialize, doctor.OK, "server/discover", "2026-07-28 (modern)")
	expect(t, rep, "dual", doctor.CheckEra, doctor.OK, "modern era")
	expect(t, rep, "legacy", doctor.CheckEra, doctor.Info, "legacy era", "HTTP 400", "not a 2026-07-28 answer")
	expect(t, rep, "legacy", doctor.CheckInitialize, doctor.OK, "protocol 2025-11-25")
	expect(t, rep, "silent", doctor.CheckEra, doctor.Warn, "server/discover", "was not answered within 2.5s", "initialize beside it")
	expect(t, rep, "silent", doctor.CheckInitialize, doctor.OK, "protocol 2025-11-25")
	expect(t, rep, "pinned", doctor.CheckEra, doctor.Info, "pins protocolVersion 2025-06-18")
	expect(t, rep, "pinned", doctor.CheckInitialize, doctor.OK, "2025-06-18")
	expect(t, rep, "pinned-modern", doctor.CheckInitialize, doctor.Fail, "pinned protocolVersion 2026-07-28")
}
