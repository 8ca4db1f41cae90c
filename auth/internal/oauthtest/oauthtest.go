// Package oauthtest is a fake OAuth 2.1 authorization server and protected
// MCP resource for tests, strict where a real one is: exact redirect URIs,
// PKCE S256 verification, the resource indicator on authorize, token and
// refresh, client authentication by the registered method, single-use
// codes, rotating refresh tokens. Its knobs select the discovery layout
// (RFC 9728 PRM location, RFC 8414 or OpenID metadata, issuer paths, the
// 2025-03-26 fallback) and inject failures.
package oauthtest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
)

// Metadata layouts of the authorization server.
const (
	MetaOAuth        = "oauth"         // /.well-known/oauth-authorization-server[/path]
	MetaOpenID       = "openid"        // /.well-known/openid-configuration[/path]
	MetaOpenIDAppend = "openid-append" // [/path]/.well-known/openid-configuration
	MetaNone         = "none"          // no metadata: 2025-03-26 default endpoints
)

// Client is a registered client.
type Client struct {
	ID, Secret   string
	AuthMethod   string   // none | client_secret_basic | client_secret_post
	RedirectURIs []string // empty: any http://127.0.0.1 or localhost URI
	// GrantTypes are the grants it may use; empty: any (pre-registered).
	GrantTypes []string
}

// Options select the server's layout and behaviour. The zero value is a
// 2025-11-25 server: PRM at the path-based location and in the challenge,
// RFC 8414 metadata, dynamic registration of public clients, revocation,
// rotating refresh tokens, one-hour access tokens.
type Options struct {
	// PRMPath is where the protected resource metadata is served: ""
	// means /.well-known/oauth-protected-resource/mcp; NoPRM means none
	// (2025-03-26: the MCP server's origin is the authorization server).
	PRMPath string
	// PRMNotInChallenge leaves resource_metadata out of WWW-Authenticate.
	PRMNotInChallenge bool
	// PRMResource overrides the resource named in the PRM.
	PRMResource string
	// ScopesSupported is the PRM's scopes_supported; ChallengeScope the
	// scope of the 401 challenge.
	ScopesSupported []string
	ChallengeScope  []string

	// SeparateAS runs the authorization server on its own listener.
	SeparateAS bool
	// IssuerPath is the issuer's path, e.g. "/tenant1".
	IssuerPath string
	// Metadata is the metadata layout (MetaOAuth when empty).
	Metadata string
	// AuthMethods is token_endpoint_auth_methods_supported; the first is
	// assigned to dynamically registered clients (default none).
	AuthMethods []string
	// NoRegistration disables dynamic client registration.
	NoRegistration bool
	// Clients are pre-registered.
	Clients []Client
	// IssParameter advertises and sends the RFC 9207 iss parameter;
	// WrongIss sends a wrong one.
	IssParameter, WrongIss bool
	// NoRevocation leaves out the revocation endpoint.
	NoRevocation bool
	// NoRotation keeps refresh tokens across refreshes.
	NoRotation bool
	// AccessTTL is expires_in in seconds (3600 when zero).
	AccessTTL int
	// Deny answers every authorization request with error=access_denied.
	Deny bool
	// ClientIDMetadataDocuments advertises client_id_metadata_document_supported
	// and accepts https client IDs without registration.
	ClientIDMetadataDocuments bool
	// DeviceFlow advertises and serves the device authorization grant
	// (RFC 8628) to clients whose grant types include it. The fake's user
	// approves every code at once: the first poll gets the tokens.
	DeviceFlow bool
}

// DeviceGrantType is the device authorization grant (RFC 8628).
const DeviceGrantType = "urn:ietf:params:oauth:grant-type:device_code"

// NoPRM as Options.PRMPath serves no protected resource metadata.
const NoPRM = "-"

// TokenRequest is a token endpoint request as the server saw it.
type TokenRequest struct {
	Form       url.Values
	AuthMethod string // how the client authenticated
	ClientID   string
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	opts Options
	// RS serves the MCP resource (/mcp) and the PRM; AS the authorization
	// server (the same server unless Options.SeparateAS).
	RS, AS *httptest.Server

	mu        sync.Mutex
	clients   map[string]*Client
	codes     map[string]*codeGrant
	access    map[string]grant
	refresh   map[string]*refreshGrant
	secrets   []string
	authReqs  []url.Values
	tokenReqs []TokenRequest
	regReqs   []map[string]any
	revoked   []string
	wellKnown []string
	tokenFail []failure
	beforeTok func(form url.Values)
	nextID    int
	devices   map[string]*deviceGrant
	devReqs   []string // client ids of device authorization requests
}

type deviceGrant struct {
	client, resource string
	scopes           []string
	used             bool
}

type codeGrant struct {
	client, redirect, challenge, resource string
	scopes                                []string
	used                                  bool
}

type grant struct {
	client   string
	scopes   []string
	resource string
}

type refreshGrant struct {
	grant
	used bool
}

type failure struct {
	status int
	code   string
}

// New starts a server; it is closed when the test ends.
func New(t interface{ Cleanup(func()) }, opts Options) *Server {
	if opts.Metadata == "" {
		opts.Metadata = MetaOAuth
	}
	if opts.AccessTTL == 0 {
		opts.AccessTTL = 3600
	}
	s := &Server{
		opts:    opts,
		clients: map[string]*Client{},
		codes:   map[string]*codeGrant{},
		access:  map[string]grant{},
		refresh: map[string]*refreshGrant{},
		devices: map[string]*deviceGrant{},
	}
	for _, c := range opts.Clients {
		c := c
		if c.AuthMethod == "" {
			c.AuthMethod = "client_secret_basic"
		}
		s.clients[c.ID] = &c
		if c.Secret != "" {
			s.secrets = append(s.secrets, c.Secret)
		}
	}
	s.RS = httptest.NewServer(http.HandlerFunc(s.serveRS))
	t.Cleanup(s.RS.Close)
	s.AS = s.RS
	if opts.SeparateAS {
		s.AS = httptest.NewServer(http.HandlerFunc(s.serveAS))
		t.Cleanup(s.AS.Close)
	}
	return s
}

// ServerURL is the MCP server's URL.
func (s *Server) ServerURL() string { return s.RS.URL + "/mcp" }

// Issuer is the authorization server's issuer identifier.
func (s *Server) Issuer() string {
	if s.opts.PRMPath == NoPRM && s.opts.Metadata == MetaNone {
		return s.AS.URL
	}
	return s.AS.URL + s.opts.IssuerPath
}

func (s *Server) prmPath() string {
	if s.opts.PRMPath == "" {
		return "/.well-known/oauth-protected-resource/mcp"
	}
	return s.opts.PRMPath
}

func (s *Server) metadataPath() string {
	p := s.opts.IssuerPath
	switch s.opts.Metadata {
	case MetaOpenID:
		return "/.well-known/openid-configuration" + p
	case MetaOpenIDAppend:
		return p + "/.well-known/openid-configuration"
	case MetaNone:
		return ""
	}
	return "/.well-known/oauth-authorization-server" + p
}

// endpoint returns the path of an AS endpoint ("authorize", "token", ...).
func (s *Server) endpoint(name string) string {
	if s.opts.Metadata == MetaNone {
		return "/" + name
	}
	return s.opts.IssuerPath + "/" + name
}

// Challenge is the WWW-Authenticate header of a 401 from the resource.
func (s *Server) Challenge() string {
	var parts []string
	if s.opts.PRMPath != NoPRM && !s.opts.PRMNotInChallenge {
		parts = append(parts, fmt.Sprintf("resource_metadata=%q", s.RS.URL+s.prmPath()))
	}
	if len(s.opts.ChallengeScope) > 0 {
		parts = append(parts, fmt.Sprintf("scope=%q", strings.Join(s.opts.ChallengeScope, " ")))
	}
	if len(parts) == 0 {
		return "Bearer"
	}
	return "Bearer " + strings.Join(parts, ", ")
}

func (s *Server) serveRS(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/mcp":
		s.serveResource(w, r)
	case s.opts.PRMPath != NoPRM && r.URL.Path == s.prmPath():
		res := s.opts.PRMResource
		if res == "" {
			res = s.ServerURL()
		}
		doc := map[string]any{"resource": res, "authorization_servers": []string{s.Issuer()}}
		if s.opts.ScopesSupported != nil {
			doc["scopes_supported"] = s.opts.ScopesSupported
		}
		writeJSON(w, http.StatusOK, doc)
	case s.AS == s.RS:
		s.serveAS(w, r)
	default:
		s.noteWellKnown(r)
		http.NotFound(w, r)
	}
}

func (s *Server) noteWellKnown(r *http.Request) {
	if strings.Contains(r.URL.Path, "/.well-known/") {
		s.mu.Lock()
		s.wellKnown = append(s.wellKnown, r.URL.Path)
		s.mu.Unlock()
	}
}

// serveResource is the protected MCP endpoint: 200 with a valid token.
func (s *Server) serveResource(w http.ResponseWriter, r *http.Request) {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	_, valid := s.access[tok]
	s.mu.Unlock()
	if ok && valid {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ok"))
		return
	}
	h := s.Challenge()
	if ok {
		h += `, error="invalid_token"`
	}
	w.Header().Set("WWW-Authenticate", h)
	w.WriteHeader(http.StatusUnauthorized)
}

func (s *Server) serveAS(w http.ResponseWriter, r *http.Request) {
	if mp := s.metadataPath(); mp != "" && r.URL.Path == mp {
		s.noteWellKnown(r)
		writeJSON(w, http.StatusOK, s.metadata())
		return
	}
	switch r.URL.Path {
	case s.endpoint("authorize"):
		s.authorize(w, r)
	case s.endpoint("token"):
		s.token(w, r)
	case s.endpoint("register"):
		s.register(w, r)
	case s.endpoint("revoke"):
		s.revoke(w, r)
	case s.endpoint("device"):
		s.deviceAuthorization(w, r)
	default:
		s.noteWellKnown(r)
		http.NotFound(w, r)
	}
}

func (s *Server) metadata() map[string]any {
	base := s.AS.URL
	md := map[string]any{
		"issuer":                           s.Issuer(),
		"authorization_endpoint":           base + s.endpoint("authorize"),
		"token_endpoint":                   base + s.endpoint("token"),
		"response_types_supported":         []string{"code"},
		"grant_types_supported":            []string{"authorization_code", "refresh_token"},
		"code_challenge_methods_supported": []string{"S256"},
	}
	if !s.opts.NoRegistration {
		md["registration_endpoint"] = base + s.endpoint("register")
	}
	if !s.opts.NoRevocation {
		md["revocation_endpoint"] = base + s.endpoint("revoke")
	}
	if len(s.opts.AuthMethods) > 0 {
		md["token_endpoint_auth_methods_supported"] = s.opts.AuthMethods
	}
	if s.opts.IssParameter {
		md["authorization_response_iss_parameter_supported"] = true
	}
	if s.opts.ClientIDMetadataDocuments {
		md["client_id_metadata_document_supported"] = true
	}
	if s.deviceFlow() {
		md["device_authorization_endpoint"] = base + s.endpoint("device")
		md["grant_types_supported"] = []string{"authorization_code", "refresh_token", DeviceGrantType}
	}
	return md
}

// expectedResource is the resource indicator clients must send.
func (s *Server) expectedResource() string {
	if s.opts.PRMResource != "" {
		return s.opts.PRMResource
	}
	return s.ServerURL()
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authReqs = append(s.authReqs, q)
	cl, ok := s.clients[q.Get("client_id")]
	if !ok && s.opts.ClientIDMetadataDocuments && strings.HasPrefix(q.Get("client_id"), "https://") {
		cl, ok = &Client{ID: q.Get("client_id"), AuthMethod: "none"}, true
		s.clients[cl.ID] = cl
	}
	redirect := q.Get("redirect_uri")
	if !ok || !redirectAllowed(cl, redirect) {
		http.Error(w, "unknown client or redirect_uri", http.StatusBadRequest)
		return
	}
	back, _ := url.Parse(redirect)
	rq := back.Query()
	rq.Set("state", q.Get("state"))
	if s.opts.IssParameter {
		iss := s.Issuer()
		if s.opts.WrongIss {
			iss = "https://evil.example"
		}
		rq.Set("iss", iss)
	}
	fail := func(code, desc string) {
		rq.Set("error", code)
		rq.Set("error_description", desc)
		back.RawQuery = rq.Encode()
		http.Redirect(w, r, back.String(), http.StatusFound)
	}
	switch {
	case s.opts.Deny:
		fail("access_denied", "the user declined")
		return
	case q.Get("response_type") != "code":
		fail("unsupported_response_type", "want code")
		return
	case q.Get("code_challenge") == "" || q.Get("code_challenge_method") != "S256":
		fail("invalid_request", "PKCE S256 required")
		return
	case q.Get("resource") != s.expectedResource():
		fail("invalid_target", "wrong resource "+q.Get("resource"))
		return
	}
	code := s.newSecret("code")
	s.codes[code] = &codeGrant{
		client: cl.ID, redirect: redirect, challenge: q.Get("code_challenge"),
		resource: q.Get("resource"), scopes: strings.Fields(q.Get("scope")),
	}
	rq.Set("code", code)
	back.RawQuery = rq.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func redirectAllowed(c *Client, uri string) bool {
	if len(c.RedirectURIs) > 0 {
		return slices.Contains(c.RedirectURIs, uri)
	}
	u, err := url.Parse(uri)
	return err == nil && u.Scheme == "http" && (u.Hostname() == "127.0.0.1" || u.Hostname() == "localhost")
}

// clientAuth authenticates the client of a token or revocation request.
func (s *Server) clientAuth(r *http.Request) (*Client, string, bool) {
	var id, secret, method string
	if u, p, ok := r.BasicAuth(); ok {
		id, _ = url.QueryUnescape(u)
		secret, _ = url.QueryUnescape(p)
		method = "client_secret_basic"
	} else if r.PostForm.Get("client_secret") != "" {
		id, secret, method = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), "client_secret_post"
	} else {
		id, method = r.PostForm.Get("client_id"), "none"
	}
	c, ok := s.clients[id]
	if !ok || c.AuthMethod != method || c.Secret != secret {
		return nil, method, false
	}
	return c, method, true
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		oauthError(w, http.StatusBadRequest, "invalid_request", "want a POSTed form")
		return
	}
	s.mu.Lock()
	hook := s.beforeTok
	s.mu.Unlock()
	if hook != nil {
		hook(r.PostForm)
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	cl, method, ok := s.clientAuth(r)
	tr := TokenRequest{Form: r.PostForm, AuthMethod: method}
	if cl != nil {
		tr.ClientID = cl.ID
	}
	s.tokenReqs = append(s.tokenReqs, tr)
	if v := r.PostForm.Get("code_verifier"); v != "" {
		s.secrets = append(s.secrets, v)
	}
	if len(s.tokenFail) > 0 {
		f := s.tokenFail[0]
		s.tokenFail = s.tokenFail[1:]
		oauthError(w, f.status, f.code, "injected failure")
		return
	}
	if !ok {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	resource := r.PostForm.Get("resource")
	if resource != s.expectedResource() {
		oauthError(w, http.StatusBadRequest, "invalid_target", "wrong or missing resource")
		return
	}
	var g grant
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		c, ok := s.codes[r.PostForm.Get("code")]
		switch {
		case !ok || c.used || c.client != cl.ID:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown or used code")
			return
		case c.redirect != r.PostForm.Get("redirect_uri"):
			oauthError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri mismatch")
			return
		case pkceChallenge(r.PostForm.Get("code_verifier")) != c.challenge:
			oauthError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
			return
		case c.resource != resource:
			oauthError(w, http.StatusBadRequest, "invalid_target", "resource differs from the authorization request")
			return
		}
		c.used = true
		g = grant{client: cl.ID, scopes: c.scopes, resource: resource}
	case "refresh_token":
		rt, ok := s.refresh[r.PostForm.Get("refresh_token")]
		if !ok || rt.used || rt.client != cl.ID {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown, revoked or already used refresh token")
			return
		}
		if !s.opts.NoRotation {
			rt.used = true
		}
		g = rt.grant
	case DeviceGrantType:
		d, ok := s.devices[r.PostForm.Get("device_code")]
		if !ok || d.used || d.client != cl.ID {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "unknown or used device code")
			return
		}
		d.used = true
		g = grant{client: cl.ID, scopes: d.scopes, resource: resource}
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "")
		return
	}
	at := s.newSecret("at")
	s.access[at] = g
	resp := map[string]any{
		"access_token": at,
		"token_type":   "Bearer",
		"expires_in":   s.opts.AccessTTL,
	}
	if len(g.scopes) > 0 {
		resp["scope"] = strings.Join(g.scopes, " ")
	}
	if r.PostForm.Get("grant_type") == "refresh_token" && s.opts.NoRotation {
		// keep the refresh token
	} else {
		rt := s.newSecret("rt")
		s.refresh[rt] = &refreshGrant{grant: g}
		resp["refresh_token"] = rt
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var req map[string]any
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_client_metadata", "not JSON")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.regReqs = append(s.regReqs, req)
	var uris []string
	for _, u := range asSlice(req["redirect_uris"]) {
		uris = append(uris, u)
	}
	if len(uris) == 0 {
		oauthError(w, http.StatusBadRequest, "invalid_redirect_uri", "no redirect_uris")
		return
	}
	method := "none"
	if len(s.opts.AuthMethods) > 0 {
		method = s.opts.AuthMethods[0]
	}
	s.nextID++
	grants := asSlice(req["grant_types"])
	if len(grants) == 0 {
		grants = []string{"authorization_code"} // RFC 7591's default
	}
	c := &Client{ID: fmt.Sprintf("client-%d", s.nextID), AuthMethod: method, RedirectURIs: uris, GrantTypes: grants}
	resp := map[string]any{"client_id": c.ID, "redirect_uris": uris, "token_endpoint_auth_method": method}
	if method != "none" {
		c.Secret = s.newSecret("cs")
		resp["client_secret"] = c.Secret
	}
	s.clients[c.ID] = c
	writeJSON(w, http.StatusCreated, resp)
}

// deviceAuthorization is the device authorization endpoint: a client
// whose registration lacks the device grant gets unauthorized_client (as
// oidc-provider answers), others a device code at an interval of 1 s.
func (s *Server) deviceAuthorization(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost || !s.deviceFlow() {
		oauthError(w, http.StatusBadRequest, "invalid_request", "want a POSTed form")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cl, _, ok := s.clientAuth(r)
	if cl != nil {
		s.devReqs = append(s.devReqs, cl.ID)
	}
	if !ok {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if len(cl.GrantTypes) > 0 && !slices.Contains(cl.GrantTypes, DeviceGrantType) {
		oauthError(w, http.StatusBadRequest, "unauthorized_client", "the client is not allowed the device grant")
		return
	}
	dc := s.newSecret("dc")
	s.devices[dc] = &deviceGrant{client: cl.ID, resource: r.PostForm.Get("resource"), scopes: strings.Fields(r.PostForm.Get("scope"))}
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":      dc,
		"user_code":        fmt.Sprintf("CODE-%04d", len(s.devices)),
		"verification_uri": s.AS.URL + s.endpoint("device-verify"),
		"expires_in":       600,
		"interval":         1,
	})
}

func (s *Server) deviceFlow() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opts.DeviceFlow
}

// SetDeviceFlow switches Options.DeviceFlow (an authorization server that
// starts offering the device grant).
func (s *Server) SetDeviceFlow(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.DeviceFlow = on
}

// DeviceAuthorizationRequests are the client ids that asked the device
// authorization endpoint for a code, in order.
func (s *Server) DeviceAuthorizationRequests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.devReqs)
}

func (s *Server) revoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, _, ok := s.clientAuth(r); !ok {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "")
		return
	}
	tok := r.PostForm.Get("token")
	s.revoked = append(s.revoked, r.PostForm.Get("token_type_hint"))
	delete(s.access, tok)
	delete(s.refresh, tok)
	w.WriteHeader(http.StatusOK)
}

// newSecret returns a recognisable random secret and remembers it.
func (s *Server) newSecret(kind string) string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	v := "SECRET-" + kind + "-" + hex.EncodeToString(b)
	s.secrets = append(s.secrets, v)
	return v
}

func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func asSlice(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, e := range l {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// --- knobs and records -----------------------------------------------------

// FailToken makes the next token endpoint request answer status and code.
func (s *Server) FailToken(status int, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenFail = append(s.tokenFail, failure{status, code})
}

// BeforeToken runs fn at the start of every token request, before the
// server looks at it (fn may make requests of its own).
func (s *Server) BeforeToken(fn func(form url.Values)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beforeTok = fn
}

// RevokeAllRefreshTokens makes every refresh token invalid (invalid_grant).
func (s *Server) RevokeAllRefreshTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.refresh)
}

// ForgetClient deletes a registration (the server then answers
// invalid_client).
func (s *Server) ForgetClient(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.clients, id)
}

// SetDeny switches Options.Deny.
func (s *Server) SetDeny(deny bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opts.Deny = deny
}

// AccessTokenValid reports whether tok is a live access token.
func (s *Server) AccessTokenValid(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.access[tok]
	return ok
}

// Secrets returns every secret the server issued or saw: tokens, codes,
// client secrets, PKCE verifiers.
func (s *Server) Secrets() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.secrets)
}

// AuthorizeRequests returns the query of every authorization request.
func (s *Server) AuthorizeRequests() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.authReqs)
}

// TokenRequests returns every token endpoint request.
func (s *Server) TokenRequests() []TokenRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tokenReqs)
}

// CountGrant counts token requests of a grant type.
func (s *Server) CountGrant(grantType string) int {
	n := 0
	for _, r := range s.TokenRequests() {
		if r.Form.Get("grant_type") == grantType {
			n++
		}
	}
	return n
}

// Registrations returns the body of every registration request.
func (s *Server) Registrations() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.regReqs)
}

// Revocations returns the token_type_hint of every revocation request.
func (s *Server) Revocations() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.revoked)
}

// WellKnownRequests returns the paths of the metadata requests that hit an
// unserved or served .well-known path, in order.
func (s *Server) WellKnownRequests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.wellKnown)
}
