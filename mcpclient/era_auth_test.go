package mcpclient_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mcptray/mcptray/auth"
	fs "github.com/mcptray/mcptray/mcpclient/internal/faultserver"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// tokenGate is an OAuth-protected front for a server: /mcp takes one
// valid access token at a time and answers anything else 401; /token
// rotates the token for the current refresh token (grant_type
// refresh_token), as an authorization server does.
type tokenGate struct {
	srv *httptest.Server

	mu        sync.Mutex
	access    string // the valid access token
	refresh   string // the valid refresh token
	n         int
	refreshes int
	refused   int // 401s sent
	seen      map[string]int
}

func startTokenGate(t *testing.T, target string) *tokenGate {
	u, _ := url.Parse(target)
	g := &tokenGate{access: "at-1", refresh: "rt-1", n: 1, seen: map[string]int{}}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	rp.FlushInterval = -1
	mux := http.NewServeMux()
	mux.HandleFunc("/mcp", func(w http.ResponseWriter, r *http.Request) {
		got := r.Header.Get("Authorization")
		g.mu.Lock()
		ok := got == "Bearer "+g.access
		g.seen[got]++
		if !ok {
			g.refused++
		}
		g.mu.Unlock()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
			http.Error(w, "invalid token", http.StatusUnauthorized)
			return
		}
		rp.ServeHTTP(w, r)
	})
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		g.mu.Lock()
		defer g.mu.Unlock()
		if r.PostForm.Get("grant_type") != "refresh_token" || r.PostForm.Get("refresh_token") != g.refresh {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
			return
		}
		g.n++
		g.refreshes++
		g.access, g.refresh = "at-"+itoa(g.n), "rt-"+itoa(g.n)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": g.access, "token_type": "Bearer", "expires_in": 3600, "refresh_token": g.refresh})
	})
	g.srv = httptest.NewServer(mux)
	t.Cleanup(g.srv.Close)
	return g
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// revoke makes the server refuse the current access token (the refresh
// token stays good), as after a server-side expiry.
func (g *tokenGate) revoke() {
	g.mu.Lock()
	g.access = "revoked-" + g.access
	g.mu.Unlock()
}

func (g *tokenGate) stats() (refreshes, refused int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refreshes, g.refused
}

// TestModernHealing401Refresh: a modern-only server behind OAuth refuses
// the access token mid-life (401); the hub refreshes it once and the
// same bridges' calls are answered, from a legacy and a modern IDE.
func TestModernHealing401Refresh(t *testing.T) {
	srv := startFault(t, fs.Options{Era: fs.EraModern})
	g := startTokenGate(t, srv.URL())
	mcpURL := g.srv.URL + "/mcp"

	dir := shortTemp(t)
	f := &hubFixture{t: t, home: filepath.Join(dir, "home"), cfgPath: filepath.Join(dir, "config.json"), done: make(chan error, 1), tuning: fastTuning}
	writeConfig(t, f.cfgPath, map[string]string{"s": urlEntry(mcpURL)})
	store := auth.NewFileStore(paths.Credentials(f.home))
	creds := &auth.Credentials{
		ServerURL: mcpURL, Issuer: g.srv.URL, TokenEndpoint: g.srv.URL + "/token",
		ClientID: "mcptray-test", TokenEndpointAuthMethod: auth.AuthMethodNone, Registration: auth.RegistrationPreRegistered,
		AccessToken: "at-1", RefreshToken: "rt-1", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour),
	}
	if err := store.Save(context.Background(), auth.Key(mcpURL, ""), creds); err != nil {
		t.Fatal(err)
	}
	f.start()
	t.Cleanup(f.stop)
	f.waitState("s", "connected", 20*time.Second)
	if v := f.status("s").ProtocolVersion; v != fs.ModernVersion {
		t.Fatalf("the hub speaks %q", v)
	}
	hf := &modernHealFixture{srv: srv, hub: f}
	for _, modern := range []bool{false, true} {
		c := &eraIDE{ide: launchBridge(t, f.env(), "s", "--no-start", "--eof-grace", "200ms"), modern: modern}
		if !modern {
			c.initialize(nil)
		}
		hf.ides = append(hf.ides, c)
	}
	for round := 1; round <= 2; round++ {
		for _, c := range hf.ides {
			hf.echo(t, c)
			before, _ := g.stats()
			g.revoke()
			hf.echo(t, c) // meets the 401, answered after the refresh
			if after, _ := g.stats(); after != before+1 {
				t.Errorf("round %d, modern IDE %v: %d refreshes, want 1", round, c.modern, after-before)
			}
			if st := f.status("s"); st.State != "connected" {
				t.Errorf("state %s (%s)", st.State, st.LastError)
			}
		}
	}
	stored, err := store.Load(context.Background(), auth.Key(mcpURL, ""))
	if err != nil {
		t.Fatal(err)
	}
	g.mu.Lock()
	wantAT, wantRT := g.access, g.refresh
	g.mu.Unlock()
	if stored.AccessToken != wantAT || stored.RefreshToken != wantRT {
		t.Errorf("the store holds %s/%s, want the rotated %s/%s", stored.AccessToken, stored.RefreshToken, wantAT, wantRT)
	}
}
