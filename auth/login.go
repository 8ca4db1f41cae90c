package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// StateLifetime is how long an authorization request's state stays valid.
const StateLifetime = 10 * time.Minute

// browserGrace is how long a finished login waits for the OpenBrowser hook
// to return.
const browserGrace = 2 * time.Second

// LoginOptions configure one Login. The zero value works.
type LoginOptions struct {
	// WWWAuthenticate is the WWW-Authenticate header of the 401 or 403
	// answer that prompted the login, if any: its resource_metadata URL
	// and scope guide discovery and scope choice.
	WWWAuthenticate string
	// ExtraScopes are added to the requested scopes (step-up after a 403
	// insufficient_scope); the scopes granted before are kept.
	ExtraScopes []string
	// OnURL, if set, is called with the authorization URL before the
	// browser is opened, for users whose browser does not open (print it).
	// When it is set, a failure to open the browser is only logged. In the
	// device flow it receives the verification URI.
	OnURL func(url string)
	// NoBrowser says that no browser can be opened here (see
	// LocalBrowser) or that the user asked for none: the login uses the
	// device grant when the server offers it, else paste-back (with
	// OnPaste), else it only shows the URL (see ChooseFlow).
	NoBrowser bool
	// OnDeviceCode, if set, receives the user code and verification URI
	// of a device sign-in, to show them.
	OnDeviceCode func(DeviceCode)
	// OnPaste, if set, makes paste-back possible: in that flow it is
	// called, after OnURL, with a function that takes each redirect URL
	// the user pastes and returns nil once one finished the sign-in, or
	// what was wrong with it (the login keeps waiting for the next one,
	// unless the answer ended it, e.g. access_denied).
	OnPaste func(submit func(redirectURL string) error)
}

// Login runs the browser login: discovery, client registration when
// needed, the authorization request with PKCE and the resource indicator,
// the loopback callback, the code exchange; the new credentials are saved
// in the store. It returns when the login finished, failed, or ctx ended
// (without a deadline, ctx is bounded by DefaultLoginTimeout).
//
// One login runs at a time per Manager: a caller arriving while one runs
// joins it and gets its result (its own options are not used). The running
// login is bound to the first caller's ctx.
func (m *Manager) Login(ctx context.Context, opts LoginOptions) error {
	m.loginMu.Lock()
	if c := m.login; c != nil {
		m.loginMu.Unlock()
		m.log.Debug("a login is already running; joining it")
		if m.testJoined != nil {
			m.testJoined()
		}
		select {
		case <-c.done:
			return c.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	c := &loginCall{done: make(chan struct{})}
	m.login = c
	m.loginMu.Unlock()

	c.err = m.runLogin(ctx, opts)

	m.loginMu.Lock()
	m.login = nil
	m.loginMu.Unlock()
	close(c.done)
	return c.err
}

// clientChoice is the client a login uses.
type clientChoice struct {
	id, secret, method string
	registered         bool   // dynamically registered (by us)
	port               int    // wanted callback port; 0: any
	strictPort         bool   // the port is required (pre-registered, configured)
	register           bool   // register after binding the port
	registration       string // RegistrationPreRegistered, …
	kind               string // for logs
}

func (m *Manager) runLogin(ctx context.Context, opts LoginOptions) error {
	if m.cfg.Store == nil {
		return errors.New("auth: no credential store configured")
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultLoginTimeout)
		defer cancel()
	}
	err := m.loginOnce(ctx, opts, false)
	var nd *noDeviceGrantError
	if errors.As(err, &nd) {
		// A registration made before the server offered the device grant
		// does not have it. Register again, once, now asking for it.
		m.log.Info("the authorization server refused the device grant to the stored client registration (made before it offered that grant); registering again", "client_id", nd.clientID, "err", nd.err)
		return m.loginOnce(ctx, opts, true)
	}
	return err
}

// noDeviceGrantError is a device authorization request refused with
// unauthorized_client for a stored dynamic registration.
type noDeviceGrantError struct {
	clientID string
	err      error
}

func (e *noDeviceGrantError) Error() string { return e.err.Error() }
func (e *noDeviceGrantError) Unwrap() error { return e.err }

// loginOnce is one attempt of runLogin. fresh: do not use the stored
// client registration, register a new client.
func (m *Manager) loginOnce(ctx context.Context, opts LoginOptions, fresh bool) error {
	ch, _ := ParseBearerChallenge(opts.WWWAuthenticate)
	d, err := m.discover(ctx, ch)
	if err != nil {
		return err
	}
	stored, err := m.Stored(ctx)
	if errors.Is(err, ErrNotFound) {
		stored, err = nil, nil
	}
	if err != nil {
		return err
	}
	if stored != nil && stored.Issuer != "" && !sameIssuer(stored.Issuer, d.as.Issuer) {
		// SEP-2352: client credentials belong to their issuer. The stored
		// registration and tokens are not used with the new one.
		m.log.Info("the authorization server changed; registering with the new one", "old_issuer", stored.Issuer, "issuer", d.as.Issuer)
		stored = nil
	}
	scopes := m.chooseScopes(d, ch, opts, stored)
	flow, why, err := ChooseFlow(m.cfg.Flow, d.as.DeviceAuthorizationEndpoint != "", opts.NoBrowser, opts.OnPaste != nil)
	if err != nil {
		return err
	}

	storedClient := stored
	if fresh && stored != nil && stored.Registered {
		storedClient = nil
	}
	cc, err := m.chooseClient(d, storedClient)
	if err != nil {
		return err
	}
	// The device grant needs no callback; a registration still names a
	// loopback redirect URI, so that the client works for browser logins.
	var ln net.Listener
	port := cc.port
	if flow != FlowDevice || cc.register {
		if ln, err = m.listen(&cc); err != nil {
			return err
		}
		port = ln.Addr().(*net.TCPAddr).Port
	}
	redirectURI := ""
	if port != 0 {
		redirectURI = "http://127.0.0.1:" + strconv.Itoa(port) + "/callback"
	}
	if cc.register {
		rr, err := m.register(ctx, &d.as, redirectURI)
		if err != nil {
			ln.Close()
			return err
		}
		cc.id, cc.secret = rr.ClientID, rr.ClientSecret
		cc.method = chooseAuthMethod(rr.TokenEndpointAuthMethod, rr.ClientSecret, d.as.TokenEndpointAuthMethodsSupported)
		cc.registered = true
		m.log.Info("registered a client", "redirect_uri", redirectURI, "auth_method", cc.method)
	}
	m.log.Debug("starting login", "flow", flow, "why", why, "client", cc.kind, "auth_method", cc.method, "redirect_uri", redirectURI, "scopes", scopes, "resource", d.resource)

	conf := &oauth2.Config{
		ClientID:     cc.id,
		ClientSecret: cc.secret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   d.as.AuthorizationEndpoint,
			TokenURL:  d.as.TokenEndpoint,
			AuthStyle: oauth2AuthStyle(cc.method),
		},
		RedirectURL: redirectURI,
		Scopes:      scopes,
	}
	if cc.method == AuthMethodNone {
		conf.ClientSecret = ""
	}
	verifier := oauth2.GenerateVerifier()
	state := newState()
	authURL := conf.AuthCodeURL(state,
		oauth2.S256ChallengeOption(verifier),
		oauth2.SetAuthURLParam("resource", d.resource))

	base := &Credentials{
		ServerURL:               m.cfg.ServerURL,
		Resource:                d.resource,
		Issuer:                  d.as.Issuer,
		AuthorizationEndpoint:   d.as.AuthorizationEndpoint,
		TokenEndpoint:           d.as.TokenEndpoint,
		RegistrationEndpoint:    d.as.RegistrationEndpoint,
		RevocationEndpoint:      d.as.RevocationEndpoint,
		ClientID:                cc.id,
		ClientSecret:            cc.secret,
		TokenEndpointAuthMethod: cc.method,
		RedirectURI:             redirectURI,
		CallbackPort:            port,
		Registered:              cc.registered,
		Registration:            cc.registration,
		Scopes:                  scopes,
	}
	if cc.register && (stored == nil || (stored.AccessToken == "" && stored.RefreshToken == "")) {
		// Keep the new registration even if this login fails, so the next
		// attempt reuses it instead of registering again. (Stored tokens
		// of another client, or of another issuer, are left alone until
		// the login succeeds.)
		if err := m.save(ctx, base); err != nil {
			if ln != nil {
				ln.Close()
			}
			return err
		}
	}
	if flow == FlowDevice {
		if ln != nil {
			ln.Close()
		}
		err := m.deviceLogin(ctx, d.as.DeviceAuthorizationEndpoint, base, scopes, opts)
		var se *ServerError
		if !fresh && cc.registered && !cc.register && errors.As(err, &se) && se.Op == "device authorization" && se.Code == "unauthorized_client" {
			return &noDeviceGrantError{clientID: cc.id, err: err}
		}
		return err
	}
	cb := &callback{
		m:           m,
		port:        port,
		redirectURI: redirectURI,
		state:       state,
		created:     m.now(),
		issuer:      d.as.Issuer,
		checkIss:    d.as.IssParameterSupported,
		exchange: func(ctx context.Context, code string) error {
			return m.exchange(ctx, conf, code, verifier, base)
		},
		ctx:    ctx,
		result: make(chan error, 1),
	}
	srv := &http.Server{Handler: cb, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		_ = srv.Close()
	}()

	if opts.OnURL != nil {
		opts.OnURL(authURL)
	}
	browserErr := make(chan error, 1)
	if flow == FlowPasteBack {
		m.log.Info("paste-back sign-in: waiting for the redirect URL to be pasted")
		browserErr = nil
		opts.OnPaste(cb.paste)
	} else {
		go func() { browserErr <- m.cfg.OpenBrowser(ctx, authURL) }()
	}

	for {
		select {
		case err := <-cb.result:
			if err == nil {
				m.log.Info("login finished")
			}
			if browserErr != nil {
				// Let the browser hook finish (it normally has returned
				// long before), so nothing of the login outlives it.
				t := time.NewTimer(browserGrace)
				select {
				case <-browserErr:
				case <-t.C:
				case <-ctx.Done():
				}
				t.Stop()
			}
			return err
		case err := <-browserErr:
			browserErr = nil
			if err != nil {
				if opts.OnURL == nil {
					return fmt.Errorf("auth: could not open a browser for the login to %s: %w", m.cfg.ServerURL, err)
				}
				m.log.Warn("could not open a browser; open the printed URL by hand", "err", err)
			}
		case <-ctx.Done():
			return fmt.Errorf("auth: the login to %s did not complete: %w", m.cfg.ServerURL, ctx.Err())
		}
	}
}

// newState returns 256 random bits, base64url encoded.
func newState() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// chooseScopes: the configured scopes, else the challenge's, else the
// PRM's scopes_supported, else none. A step-up (insufficient_scope or
// ExtraScopes) keeps what was granted and adds what is asked for.
func (m *Manager) chooseScopes(d *discovery, ch BearerChallenge, opts LoginOptions, stored *Credentials) []string {
	var base []string
	switch {
	case len(m.cfg.Scopes) > 0:
		base = m.cfg.Scopes
	case len(ch.Scope) > 0:
		base = ch.Scope
	case d.prm != nil && len(d.prm.ScopesSupported) > 0:
		base = d.prm.ScopesSupported
	}
	out := slices.Clone(base)
	if ch.InsufficientScope() || len(opts.ExtraScopes) > 0 {
		if stored != nil {
			out = union(stored.Scopes, out)
		}
		out = union(out, ch.Scope)
	}
	return union(out, opts.ExtraScopes)
}

// union appends the elements of b missing from a, keeping order.
func union(a, b []string) []string {
	out := slices.Clone(a)
	for _, s := range b {
		if s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// chooseClient decides which client the login uses: the configured one,
// a client ID metadata document, the stored registration, or a new one.
func (m *Manager) chooseClient(d *discovery, stored *Credentials) (clientChoice, error) {
	supported := d.as.TokenEndpointAuthMethodsSupported
	switch {
	case m.cfg.ClientID != "":
		return clientChoice{
			id: m.cfg.ClientID, secret: m.cfg.ClientSecret,
			method: chooseAuthMethod("", m.cfg.ClientSecret, supported),
			port:   m.cfg.CallbackPort, strictPort: m.cfg.CallbackPort != 0,
			registration: RegistrationPreRegistered, kind: "pre-registered",
		}, nil
	case m.cfg.ClientMetadataURL != "" && d.as.ClientIDMetadataDocumentSupported:
		return clientChoice{
			id: m.cfg.ClientMetadataURL, method: AuthMethodNone,
			port: m.cfg.CallbackPort, strictPort: m.cfg.CallbackPort != 0,
			registration: RegistrationMetadataDocument, kind: "client ID metadata document",
		}, nil
	case stored != nil && stored.Registered && stored.ClientID != "" && stored.CallbackPort != 0 &&
		stored.TokenEndpoint == d.as.TokenEndpoint && sameIssuer(stored.Issuer, d.as.Issuer) &&
		(m.cfg.CallbackPort == 0 || m.cfg.CallbackPort == stored.CallbackPort):
		return clientChoice{
			id: stored.ClientID, secret: stored.ClientSecret,
			method:       chooseAuthMethod(stored.TokenEndpointAuthMethod, stored.ClientSecret, supported),
			registered:   true,
			port:         stored.CallbackPort,
			registration: RegistrationDynamic,
			kind:         "stored registration",
		}, nil
	}
	if d.as.RegistrationEndpoint == "" {
		_, _, err := ChooseRegistration("", m.cfg.ClientMetadataURL, d.as.ClientIDMetadataDocumentSupported, false)
		return clientChoice{}, fmt.Errorf("%w (issuer %s)", err, d.as.Issuer)
	}
	return clientChoice{
		port: m.cfg.CallbackPort, strictPort: m.cfg.CallbackPort != 0,
		register: true, registration: RegistrationDynamic, kind: "new registration",
	}, nil
}

// sameIssuer compares issuer identifiers. An empty stored one (credentials
// stored before the issuer was kept) matches any.
func sameIssuer(stored, current string) bool {
	return stored == "" || canonicalURL(stored) == canonicalURL(current)
}

// listen binds the loopback callback listener on 127.0.0.1 (never another
// address). When a stored registration's port is taken, it binds a fresh
// port and marks the client for a fresh registration; a required port
// that is taken is a *PortInUseError.
func (m *Manager) listen(cc *clientChoice) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cc.port)))
	if err == nil {
		return ln, nil
	}
	if cc.port == 0 {
		return nil, fmt.Errorf("auth: cannot listen on 127.0.0.1 for the login callback: %w", err)
	}
	if cc.strictPort {
		return nil, &PortInUseError{Port: cc.port, Err: err}
	}
	m.log.Info("the registered callback port is taken; using a fresh port and a fresh registration", "port", cc.port)
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("auth: cannot listen on 127.0.0.1 for the login callback: %w", err)
	}
	*cc = clientChoice{register: true, registration: RegistrationDynamic, kind: "new registration (port taken)"}
	return ln, nil
}

// exchange trades the authorization code for tokens (PKCE verifier and
// resource indicator included) and saves the credentials.
func (m *Manager) exchange(ctx context.Context, conf *oauth2.Config, code, verifier string, base *Credentials) error {
	hctx := context.WithValue(ctx, oauth2.HTTPClient, m.cfg.HTTPClient)
	tok, err := conf.Exchange(hctx, code,
		oauth2.VerifierOption(verifier),
		oauth2.SetAuthURLParam("resource", base.Resource))
	if err != nil {
		return exchangeError(conf.Endpoint.TokenURL, err)
	}
	c := base.clone()
	c.AccessToken, c.RefreshToken, c.TokenType = tok.AccessToken, tok.RefreshToken, tok.TokenType
	secs := tok.ExpiresIn
	if secs == 0 {
		if v := tok.Extra("expires_in"); v != nil {
			secs = parseExpiresIn(fmt.Sprint(v))
		}
	}
	if secs > 0 {
		c.IssuedAt = m.now()
		c.Expiry = c.IssuedAt.Add(time.Duration(secs) * time.Second)
	}
	if s, ok := tok.Extra("scope").(string); ok && strings.TrimSpace(s) != "" {
		c.Scopes = strings.Fields(s)
	}

	return m.save(ctx, c)
}

// save stores c under the in-process mutex and the cross-process lock.
func (m *Manager) save(ctx context.Context, c *Credentials) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	if err := m.cfg.Store.Save(ctx, m.key, c); err != nil {
		return fmt.Errorf("auth: store the credentials: %w", err)
	}
	return nil
}
