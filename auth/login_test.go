package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/mcptray/mcptray/auth/internal/oauthtest"
)

func TestLoginDiscoveryVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		opts        oauthtest.Options
		noChallenge bool
		// metadata paths that must not be requested
		forbidden []string
	}{
		{name: "2025-11-25 PRM from challenge, RFC 8414",
			forbidden: []string{"/.well-known/oauth-protected-resource"}},
		{name: "path-based PRM without challenge, OpenID",
			opts: oauthtest.Options{PRMNotInChallenge: true, Metadata: oauthtest.MetaOpenID}},
		{name: "root PRM, issuer path, RFC 8414 path insertion, separate AS",
			opts: oauthtest.Options{PRMPath: "/.well-known/oauth-protected-resource", PRMNotInChallenge: true,
				IssuerPath: "/tenant1", SeparateAS: true},
			forbidden: []string{"/.well-known/oauth-authorization-server"}},
		{name: "custom PRM from challenge, OpenID path appending",
			opts: oauthtest.Options{PRMPath: "/custom/metadata/location.json", IssuerPath: "/tenant1",
				Metadata: oauthtest.MetaOpenIDAppend, SeparateAS: true},
			forbidden: []string{"/.well-known/oauth-authorization-server"}},
		{name: "OpenID path insertion",
			opts: oauthtest.Options{IssuerPath: "/tenant1", Metadata: oauthtest.MetaOpenID, SeparateAS: true}},
		{name: "2025-03-26 no PRM, metadata at the origin",
			opts: oauthtest.Options{PRMPath: oauthtest.NoPRM}, noChallenge: true},
		{name: "2025-03-26 no PRM, no metadata, default endpoints",
			opts: oauthtest.Options{PRMPath: oauthtest.NoPRM, Metadata: oauthtest.MetaNone}, noChallenge: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tt.opts)
			m := h.manager(nil)
			opts := LoginOptions{WWWAuthenticate: h.srv.Challenge()}
			if tt.noChallenge {
				opts.WWWAuthenticate = "Bearer"
			}
			h.login(m, opts)
			h.token(m)

			c := h.stored(m)
			if c.Issuer != h.srv.Issuer() {
				t.Errorf("issuer = %q, want %q", c.Issuer, h.srv.Issuer())
			}
			if c.Resource != h.srv.ServerURL() || !c.Registered || c.TokenEndpointAuthMethod != AuthMethodNone {
				t.Errorf("stored credentials: resource %q registered %v method %q", c.Resource, c.Registered, c.TokenEndpointAuthMethod)
			}
			wantRedirect := "http://127.0.0.1:" + strconv.Itoa(c.CallbackPort) + "/callback"
			if c.RedirectURI != wantRedirect {
				t.Errorf("redirect URI %q, want %q", c.RedirectURI, wantRedirect)
			}

			// Dynamic registration asks for what a desktop client needs.
			regs := h.srv.Registrations()
			if len(regs) != 1 {
				t.Fatalf("%d registrations, want 1", len(regs))
			}
			r := regs[0]
			if r["application_type"] != "native" || r["token_endpoint_auth_method"] != "none" ||
				r["client_name"] != DefaultClientName ||
				fmt.Sprint(r["grant_types"]) != "[authorization_code refresh_token]" ||
				fmt.Sprint(r["response_types"]) != "[code]" ||
				fmt.Sprint(r["redirect_uris"]) != "["+wantRedirect+"]" {
				t.Errorf("registration request = %v", r)
			}

			// PKCE S256 and the resource indicator on authorize and token.
			ar := h.srv.AuthorizeRequests()[0]
			if ar.Get("code_challenge_method") != "S256" || ar.Get("resource") != h.srv.ServerURL() {
				t.Errorf("authorization request: method %q resource %q", ar.Get("code_challenge_method"), ar.Get("resource"))
			}
			tr := h.srv.TokenRequests()[0]
			if tr.Form.Get("code_verifier") == "" || tr.Form.Get("resource") != h.srv.ServerURL() {
				t.Errorf("token request lacks code_verifier or resource")
			}
			for _, p := range h.srv.WellKnownRequests() {
				if slices.Contains(tt.forbidden, p) {
					t.Errorf("requested %s, which this layout forbids (requests: %v)", p, h.srv.WellKnownRequests())
				}
			}
			if pages := h.browser.Pages(); len(pages) != 1 || pages[0].Status != 200 || !strings.Contains(pages[0].Body, "Signed in") {
				t.Errorf("browser pages = %+v", pages)
			}
		})
	}
}

func TestLoginScopeChoice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opts  oauthtest.Options
		cfg   []string
		extra []string
		want  string // the scope parameter sent
	}{
		{name: "challenge scope wins", opts: oauthtest.Options{ChallengeScope: []string{"mcp:basic"}, ScopesSupported: []string{"a", "b"}}, want: "mcp:basic"},
		{name: "else scopes_supported", opts: oauthtest.Options{ScopesSupported: []string{"mcp:basic", "mcp:read", "mcp:write"}}, want: "mcp:basic mcp:read mcp:write"},
		{name: "else none", want: ""},
		{name: "configured scopes replace", opts: oauthtest.Options{ScopesSupported: []string{"a"}}, cfg: []string{"x", "y"}, want: "x y"},
		{name: "extra scopes added", opts: oauthtest.Options{ChallengeScope: []string{"mcp:basic"}}, extra: []string{"mcp:write"}, want: "mcp:basic mcp:write"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tt.opts)
			m := h.manager(func(c *Config) { c.Scopes = tt.cfg })
			h.login(m, LoginOptions{ExtraScopes: tt.extra})
			ar := h.srv.AuthorizeRequests()[0]
			if got := ar.Get("scope"); got != tt.want || (tt.want == "" && ar.Has("scope")) {
				t.Errorf("scope = %q (present %v), want %q", got, ar.Has("scope"), tt.want)
			}
		})
	}
}

func TestLoginStepUpKeepsGrantedScopes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthtest.Options{ChallengeScope: []string{"mcp:basic"}})
	m := h.manager(nil)
	h.login(m, LoginOptions{})
	// A 403 asks for mcp:write: the new login keeps mcp:basic.
	h.login(m, LoginOptions{WWWAuthenticate: `Bearer error="insufficient_scope", scope="mcp:write"`})
	reqs := h.srv.AuthorizeRequests()
	if got := reqs[1].Get("scope"); got != "mcp:basic mcp:write" {
		t.Fatalf("step-up scope = %q, want %q", got, "mcp:basic mcp:write")
	}
	if got := h.stored(m).Scopes; !slices.Equal(got, []string{"mcp:basic", "mcp:write"}) {
		t.Fatalf("stored scopes = %v", got)
	}
	if n := len(h.srv.Registrations()); n != 1 {
		t.Fatalf("%d registrations, want the stored one reused", n)
	}
}

func TestTokenEndpointAuthMethods(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		opts   oauthtest.Options
		cfg    func(*Config)
		method string
	}{
		{name: "dynamic none", method: AuthMethodNone},
		{name: "dynamic client_secret_basic", opts: oauthtest.Options{AuthMethods: []string{AuthMethodClientSecretBasic}}, method: AuthMethodClientSecretBasic},
		{name: "dynamic client_secret_post", opts: oauthtest.Options{AuthMethods: []string{AuthMethodClientSecretPost}}, method: AuthMethodClientSecretPost},
		{name: "pre-registered basic, no registration endpoint",
			opts: oauthtest.Options{NoRegistration: true, AuthMethods: []string{AuthMethodClientSecretBasic},
				Clients: []oauthtest.Client{{ID: "pre-registered-client", Secret: "SECRET-pre-registered", AuthMethod: AuthMethodClientSecretBasic}}},
			cfg:    func(c *Config) { c.ClientID, c.ClientSecret = "pre-registered-client", "SECRET-pre-registered" },
			method: AuthMethodClientSecretBasic},
		{name: "pre-registered post",
			opts: oauthtest.Options{NoRegistration: true, AuthMethods: []string{AuthMethodClientSecretPost},
				Clients: []oauthtest.Client{{ID: "pre/registered:client", Secret: "SECRET-pre:reg&post", AuthMethod: AuthMethodClientSecretPost}}},
			cfg:    func(c *Config) { c.ClientID, c.ClientSecret = "pre/registered:client", "SECRET-pre:reg&post" },
			method: AuthMethodClientSecretPost},
		{name: "pre-registered public client",
			opts:   oauthtest.Options{NoRegistration: true, Clients: []oauthtest.Client{{ID: "public", AuthMethod: AuthMethodNone}}},
			cfg:    func(c *Config) { c.ClientID = "public" },
			method: AuthMethodNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tt.opts)
			m := h.manager(tt.cfg)
			h.login(m, LoginOptions{})
			h.clock.Advance(2 * 3600e9)
			h.token(m) // refreshes
			reqs := h.srv.TokenRequests()
			if len(reqs) != 2 {
				t.Fatalf("%d token requests, want 2", len(reqs))
			}
			for _, r := range reqs {
				if r.AuthMethod != tt.method || r.ClientID == "" {
					t.Errorf("%s request authenticated with %q (client %q), want %q", r.Form.Get("grant_type"), r.AuthMethod, r.ClientID, tt.method)
				}
			}
			if c := h.stored(m); c.TokenEndpointAuthMethod != tt.method || c.Registered != (tt.cfg == nil) {
				t.Errorf("stored method %q registered %v", c.TokenEndpointAuthMethod, c.Registered)
			}
		})
	}
}

func TestLoginIssuerCheck(t *testing.T) {
	t.Parallel()
	t.Run("matching iss", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthtest.Options{IssParameter: true, SeparateAS: true, IssuerPath: "/tenant"})
		m := h.manager(nil)
		h.login(m, LoginOptions{})
	})
	t.Run("wrong iss", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthtest.Options{IssParameter: true, WrongIss: true})
		m := h.manager(nil)
		err := h.note(m.Login(context.Background(), LoginOptions{WWWAuthenticate: h.srv.Challenge()}))
		var ae *AuthorizationError
		if !errors.As(err, &ae) || ae.Code != "invalid_issuer" {
			t.Fatalf("Login = %v, want an invalid_issuer AuthorizationError", err)
		}
		if n := h.srv.CountGrant("authorization_code"); n != 0 {
			t.Fatalf("the code was exchanged despite the wrong issuer")
		}
		if p := h.browser.Pages(); len(p) != 1 || p[0].Status != 400 {
			t.Fatalf("pages = %+v", p)
		}
	})
}

func TestLoginAccessDenied(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthtest.Options{Deny: true})
	m := h.manager(nil)
	err := h.note(m.Login(context.Background(), LoginOptions{WWWAuthenticate: h.srv.Challenge()}))
	wantIs(t, err, ErrAccessDenied)
	p := h.browser.Pages()
	if len(p) != 1 || p[0].Status != 400 || !strings.Contains(p[0].Body, "Sign-in declined") || !strings.Contains(p[0].Body, "access_denied") {
		t.Fatalf("page = %+v", p)
	}
	c := h.stored(m) // the registration is kept, no tokens
	if c.AccessToken != "" || c.ClientID == "" {
		t.Fatalf("after a denied login: token %v client %q", c.AccessToken != "", c.ClientID)
	}
	_, err = m.Token(context.Background())
	wantIs(t, h.note(err), ErrLoginRequired)

	// The user tries again and consents: the registration is reused.
	h.srv.SetDeny(false)
	h.login(m, LoginOptions{})
	h.token(m)
	if n := len(h.srv.Registrations()); n != 1 {
		t.Fatalf("%d registrations, want 1", n)
	}
}

// TestCallbackEdgeCases sends bad answers to the callback before the real
// one: each gets a readable page and the listener stays healthy.
func TestCallbackEdgeCases(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthtest.Options{})
	m := h.manager(nil)
	type check struct {
		name, query, host, path string
		status                  int
		text                    string
	}
	var got []string
	h.browser.Before = func(authURL string) {
		state := stateOf(t, authURL)
		cb, _ := url.Parse(redirectOf(t, authURL))
		checks := []check{
			{name: "missing state", query: "code=abc", status: 400, text: "no state"},
			{name: "wrong state", query: "code=abc&state=" + strings.Repeat("A", 43), status: 400, text: "does not match"},
			{name: "missing code", query: "state=" + url.QueryEscape(state), status: 400, text: "neither an authorization code"},
			{name: "foreign Host", query: "code=abc&state=" + url.QueryEscape(state), host: "evil.example:" + cb.Port(), status: 403, text: "refused"},
			{name: "foreign Host, same port, other name", query: "state=x", host: "attacker.test:" + cb.Port(), status: 403},
			{name: "other path", path: "/favicon.ico", status: 404},
			{name: "root", path: "/", status: 404},
		}
		for _, c := range checks {
			u := *cb
			u.RawQuery = c.query
			if c.path != "" {
				u.Path = c.path
			}
			p, err := oauthtest.Do(context.Background(), u.String(), c.host)
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			h.noteText(p.Body)
			if p.Status != c.status || !strings.Contains(p.Body, c.text) {
				t.Errorf("%s: status %d, body %q; want %d containing %q", c.name, p.Status, p.Body, c.status, c.text)
			}
			got = append(got, c.name)
		}
	}
	h.login(m, LoginOptions{})
	h.token(m)
	if len(got) != 7 {
		t.Fatalf("ran %d checks", len(got))
	}
	// The listener is gone once the login is over.
	if _, err := oauthtest.Get(context.Background(), h.stored(m).RedirectURI); err == nil {
		t.Fatal("the callback listener still answers after the login")
	}
}

func TestCallbackStateReplay(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthtest.Options{})
	m := h.manager(nil)
	var replay oauthtest.Page
	var cbURL string
	h.browser.Before = func(authURL string) {
		cbURL = redirectOf(t, authURL) + "?state=" + url.QueryEscape(stateOf(t, authURL))
	}
	// While the code is being exchanged, the same answer arrives again.
	h.srv.BeforeToken(func(form url.Values) {
		if form.Get("grant_type") != "authorization_code" {
			return
		}
		p, err := oauthtest.Get(context.Background(), cbURL+"&code="+url.QueryEscape(form.Get("code")))
		must(t, err)
		replay = p
		h.noteText(p.Body)
	})
	h.login(m, LoginOptions{})
	if replay.Status != 400 || !strings.Contains(replay.Body, "already received") {
		t.Fatalf("replayed answer: %d %q", replay.Status, replay.Body)
	}
	if n := h.srv.CountGrant("authorization_code"); n != 1 {
		t.Fatalf("%d code exchanges, want 1", n)
	}
}

func TestCallbackStateExpires(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthtest.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	m := h.manager(func(c *Config) {
		c.OpenBrowser = func(ctx context.Context, u string) error {
			h.clock.Advance(StateLifetime + 1)
			err := h.browser.Open(ctx, u)
			cancel() // the user gives up
			return err
		}
	})
	err := h.note(m.Login(ctx, LoginOptions{WWWAuthenticate: h.srv.Challenge()}))
	wantIs(t, err, context.Canceled)
	p := h.browser.Pages()
	if len(p) != 1 || p[0].Status != 400 || !strings.Contains(p[0].Body, "expired") {
		t.Fatalf("pages = %+v", p)
	}
	if h.srv.CountGrant("authorization_code") != 0 {
		t.Fatal("an expired state's code was exchanged")
	}
}

func TestLoginPortTaken(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthtest.Options{})
	m := h.manager(nil)
	h.login(m, LoginOptions{})
	first := h.stored(m)

	// The recorded port is free: the registration is reused on it.
	h.login(m, LoginOptions{})
	if c := h.stored(m); c.CallbackPort != first.CallbackPort || c.ClientID != first.ClientID || len(h.srv.Registrations()) != 1 {
		t.Fatalf("registration not reused: port %d→%d, client %q→%q", first.CallbackPort, c.CallbackPort, first.ClientID, c.ClientID)
	}

	// Someone takes the port: a fresh port and a fresh registration.
	ln, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(first.CallbackPort))
	must(t, err)
	defer ln.Close()
	h.login(m, LoginOptions{})
	c := h.stored(m)
	if c.CallbackPort == first.CallbackPort || c.ClientID == first.ClientID || len(h.srv.Registrations()) != 2 {
		t.Fatalf("port %d, client %q, %d registrations: want a fresh port and registration", c.CallbackPort, c.ClientID, len(h.srv.Registrations()))
	}
	h.token(m)
}

func TestPreRegisteredPortTaken(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	h := newHarness(t, oauthtest.Options{NoRegistration: true,
		Clients: []oauthtest.Client{{ID: "app", AuthMethod: AuthMethodNone}}})
	m := h.manager(func(c *Config) { c.ClientID, c.CallbackPort = "app", port })
	err = h.note(m.Login(context.Background(), LoginOptions{}))
	wantIs(t, err, ErrCallbackPortInUse)
	if !strings.Contains(err.Error(), strconv.Itoa(port)) {
		t.Fatalf("error does not name port %d: %v", port, err)
	}
	if len(h.browser.Opened()) != 0 {
		t.Fatal("a browser was opened")
	}
}

func TestLoginJoinsRunningLogin(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthtest.Options{})
	release := make(chan struct{})
	opened := make(chan struct{})
	m := h.manager(func(c *Config) {
		c.OpenBrowser = func(ctx context.Context, u string) error {
			close(opened)
			<-release
			return h.browser.Open(ctx, u)
		}
	})
	joined := make(chan struct{}, 4)
	m.testJoined = func() { joined <- struct{}{} }

	var wg sync.WaitGroup
	errs := make([]error, 3)
	wg.Add(1)
	go func() { defer wg.Done(); errs[0] = m.Login(context.Background(), LoginOptions{}) }()
	<-opened
	for i := 1; i < 3; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = m.Login(context.Background(), LoginOptions{}) }()
	}
	<-joined
	<-joined
	close(release)
	wg.Wait()
	for i, err := range errs {
		if h.note(err) != nil {
			t.Errorf("Login %d: %v", i, err)
		}
	}
	if n := len(h.srv.AuthorizeRequests()); n != 1 {
		t.Fatalf("%d authorization requests, want 1", n)
	}
}

func TestLoginRefusals(t *testing.T) {
	t.Parallel()
	t.Run("no registration endpoint and no client ID", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthtest.Options{NoRegistration: true})
		err := h.note(h.manager(nil).Login(context.Background(), LoginOptions{}))
		if err == nil || !strings.Contains(err.Error(), "oauth.clientId") {
			t.Fatalf("Login = %v", err)
		}
	})
	t.Run("PRM for another resource", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthtest.Options{PRMResource: "https://evil.example.com/mcp"})
		err := h.note(h.manager(nil).Login(context.Background(), LoginOptions{WWWAuthenticate: h.srv.Challenge()}))
		if err == nil || !strings.Contains(err.Error(), "evil.example.com") {
			t.Fatalf("Login = %v", err)
		}
		if len(h.srv.AuthorizeRequests()) != 0 || len(h.browser.Opened()) != 0 {
			t.Fatal("authorization went ahead")
		}
	})
	t.Run("browser does not open", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthtest.Options{})
		m := h.manager(func(c *Config) {
			c.OpenBrowser = func(context.Context, string) error { return errors.New("no display") }
		})
		err := h.note(m.Login(context.Background(), LoginOptions{}))
		if err == nil || !strings.Contains(err.Error(), "no display") {
			t.Fatalf("Login = %v", err)
		}
	})
	t.Run("browser does not open, URL printed", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthtest.Options{})
		m := h.manager(func(c *Config) {
			c.OpenBrowser = func(context.Context, string) error { return errors.New("no display") }
		})
		err := h.note(m.Login(context.Background(), LoginOptions{OnURL: func(u string) {
			go func() { _, _ = oauthtest.Get(context.Background(), u) }() // the user pastes it
		}}))
		if err != nil {
			t.Fatalf("Login = %v", err)
		}
		h.token(m)
	})
}

func TestLoginClientIDMetadataDocument(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthtest.Options{ClientIDMetadataDocuments: true})
	const doc = "https://mcptray.example/client-metadata.json"
	m := h.manager(func(c *Config) { c.ClientMetadataURL = doc })
	h.login(m, LoginOptions{})
	if len(h.srv.Registrations()) != 0 {
		t.Fatal("registered although the server takes client ID metadata documents")
	}
	if got := h.srv.AuthorizeRequests()[0].Get("client_id"); got != doc {
		t.Fatalf("client_id = %q", got)
	}
	h.token(m)
}

func TestLoginReRegistersAfterInvalidClient(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthtest.Options{})
	m := h.manager(nil)
	h.login(m, LoginOptions{})
	old := h.stored(m).ClientID
	h.srv.ForgetClient(old)
	h.clock.Advance(2 * 3600e9)
	_, err := m.Token(context.Background())
	wantIs(t, h.note(err), ErrInvalidClient)
	if c := h.stored(m); c.ClientID != "" || c.RefreshToken != "" || c.Registered {
		t.Fatalf("registration not dropped: client %q", c.ClientID)
	}
	h.login(m, LoginOptions{})
	if c := h.stored(m); c.ClientID == old || len(h.srv.Registrations()) != 2 {
		t.Fatalf("no new registration: client %q", c.ClientID)
	}
	h.token(m)
}
