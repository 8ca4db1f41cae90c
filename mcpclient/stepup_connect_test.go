package mcpclient_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/paths"
)

// scopeServer is a 2026-07-28 server and its authorization server in one:
// the MCP endpoint wants the scope "admin" for every request, server/discover
// (the hub's connect) too, while its 401 challenge names only "read". The
// authorization server approves at once and grants what was asked, or
// never "admin" when grantAdmin is false.
type scopeServer struct {
	srv        *httptest.Server
	grantAdmin bool

	mu         sync.Mutex
	authorized []string            // the scope of each authorization request
	codes      map[string]string   // code → scope
	tokens     map[string][]string // access token → scopes
	mcpCalls   int                 // requests to the MCP endpoint
}

func startScopeServer(t *testing.T, grantAdmin bool) *scopeServer {
	s := &scopeServer{grantAdmin: grantAdmin, codes: map[string]string{}, tokens: map[string][]string{}}
	mux := http.NewServeMux()
	base := func() string { return s.srv.URL }
	prm := func() string { return base() + "/.well-known/oauth-protected-resource/mcp" }
	writeJSON := func(w http.ResponseWriter, status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /.well-known/oauth-protected-resource/mcp", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"resource": base() + "/mcp", "authorization_servers": []string{base()}, "scopes_supported": []string{"read", "admin"}})
	})
	mux.HandleFunc("GET /.well-known/oauth-authorization-server", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{
			"issuer": base(), "authorization_endpoint": base() + "/authorize", "token_endpoint": base() + "/token",
			"registration_endpoint": base() + "/register", "response_types_supported": []string{"code"},
			"grant_types_supported": []string{"authorization_code", "refresh_token"}, "code_challenge_methods_supported": []string{"S256"},
			"token_endpoint_auth_methods_supported": []string{"none"},
		})
	})
	mux.HandleFunc("POST /register", func(w http.ResponseWriter, r *http.Request) {
		var reg map[string]any
		_ = json.NewDecoder(r.Body).Decode(&reg)
		reg["client_id"] = "scope-client"
		reg["token_endpoint_auth_method"] = "none"
		writeJSON(w, 201, reg)
	})
	mux.HandleFunc("GET /authorize", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		s.mu.Lock()
		s.authorized = append(s.authorized, q.Get("scope"))
		code := fmt.Sprintf("code-%d", len(s.authorized))
		s.codes[code] = q.Get("scope")
		s.mu.Unlock()
		to, _ := url.Parse(q.Get("redirect_uri"))
		v := to.Query()
		v.Set("code", code)
		v.Set("state", q.Get("state"))
		to.RawQuery = v.Encode()
		http.Redirect(w, r, to.String(), http.StatusFound)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		s.mu.Lock()
		scope, ok := s.codes[r.PostForm.Get("code")]
		var granted []string
		for _, sc := range strings.Fields(scope) {
			if sc != "admin" || s.grantAdmin {
				granted = append(granted, sc)
			}
		}
		tok := fmt.Sprintf("tok-%d", len(s.tokens)+1)
		s.tokens[tok] = granted
		s.mu.Unlock()
		if !ok || r.PostForm.Get("grant_type") != "authorization_code" {
			writeJSON(w, 400, map[string]any{"error": "invalid_grant"})
			return
		}
		writeJSON(w, 200, map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600, "scope": strings.Join(granted, " ")})
	})
	mux.HandleFunc("/mcp", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		s.mu.Lock()
		s.mcpCalls++
		scopes, known := s.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
		s.mu.Unlock()
		switch {
		case !known:
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer scope="read", resource_metadata=%q`, prm()))
			writeJSON(w, 401, map[string]any{"error": "invalid_token"})
			return
		case !strings.Contains(" "+strings.Join(scopes, " ")+" ", " admin "):
			w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer error="insufficient_scope", scope="read admin", resource_metadata=%q`, prm()))
			writeJSON(w, 403, map[string]any{"error": "insufficient_scope"})
			return
		}
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		_ = json.NewDecoder(r.Body).Decode(&m)
		if m.ID == nil {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		result := map[string]any{"resultType": "complete"}
		if m.Method == "server/discover" {
			result["supportedVersions"] = []string{"2026-07-28"}
			result["capabilities"] = map[string]any{}
		}
		writeJSON(w, 200, map[string]any{"jsonrpc": "2.0", "id": m.ID, "result": result})
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *scopeServer) stats() (authorized []string, mcpCalls int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.authorized...), s.mcpCalls
}

// approveAtOnce is a browser whose user approves at once: it follows the
// redirects to the hub's loopback callback.
func approveAtOnce(ctx context.Context, authURL string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.Body.Close()
}

// TestConnectStepUp: a 403 insufficient_scope to the hub's own connect
// (a 2026-07-28 server/discover carries the token) is a sign-in matter,
// as it is for a request: the hub signs in again for the scopes the
// challenge names and connects with the new token. When the server never
// grants them, the hub gives up after the step-ups allowed (at most 3
// authorization requests in all) and waits in needs_login, without
// trying the refused token again. Before, it retried the connect with
// backoff forever with the token it had.
func TestConnectStepUp(t *testing.T) {
	for _, grant := range []bool{true, false} {
		t.Run(fmt.Sprintf("granted=%v", grant), func(t *testing.T) {
			t.Parallel()
			s := startScopeServer(t, grant)
			store := auth.NewFileStore(paths.Credentials(filepath.Join(shortTemp(t), "h")))
			logs := &lockedBuf{}
			t.Cleanup(func() {
				if t.Failed() {
					t.Logf("hub log:\n%s", logs)
				}
			})
			f := startOAuthHub(t, map[string]string{"s": urlEntry(s.srv.URL + "/mcp")}, "",
				mcpclient.HubOptions{CredentialStore: store, OpenBrowser: approveAtOnce}, logs)
			f.waitState("s", mcpclient.StateNeedsLogin, 10*time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			if err := f.hub.Login(ctx, "s", nil); err != nil {
				t.Fatalf("login: %v", err)
			}
			if grant {
				f.waitState("s", mcpclient.StateConnected, 10*time.Second)
				if authorized, _ := s.stats(); len(authorized) != 2 || !strings.Contains(authorized[1], "admin") {
					t.Errorf("authorization requests asked for scopes %q, want a first sign-in and a step-up with admin", authorized)
				}
				return
			}
			st := f.waitState("s", mcpclient.StateNeedsLogin, 10*time.Second)
			if !strings.Contains(st.LastError, "insufficient_scope") {
				t.Errorf("needs_login for %q, want the insufficient_scope named", st.LastError)
			}
			authorized, calls := s.stats()
			if len(authorized) != 3 {
				t.Errorf("%d authorization requests (%q), want 3: a first sign-in and 2 step-ups", len(authorized), authorized)
			}
			time.Sleep(1500 * time.Millisecond)
			if _, later := s.stats(); later != calls {
				t.Errorf("the hub sent %d more requests with the refused token while it waits for a sign-in", later-calls)
			}
		})
	}
}
