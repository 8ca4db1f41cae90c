package mcpclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"sync"
	"time"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/paths"
	"github.com/mcptray/mcptray/mcpclient/transport"
)

// OAuth in the supervisor. Each server that answers 401 gets an
// auth.Manager and an auth.TokenSource (the token cache); the session asks
// the TokenSource for a token before every request, the supervisor
// refreshes once on a 401, and goes to needs_login when no token can be
// had. A browser login stores new credentials; the supervisor then
// re-reads the store (through the Manager) and rebuilds the session.

// credentials is the hub's credential store, opened on first use (probing
// the keychain may take seconds; bridges must not wait for it).
type credentials struct {
	home  string
	fixed auth.Store // injected (tests)

	open    sync.Mutex // one opening attempt at a time
	mu      sync.Mutex // guards the fields below: status reads them
	mode    string     // the config's credentialStore: the next opening uses it
	opened  string     // the mode store was opened with
	store   auth.Store
	warning string
	err     error
	failed  time.Time // when the last attempt failed
}

// storeRetry is how long a failure to open the store is reported before
// the next attempt.
const storeRetry = 30 * time.Second

// get opens the store on first use. The store outlives whoever asked
// first, so the attempt is not bound to the caller's context; a failure is
// retried after storeRetry rather than kept for the hub's lifetime.
func (c *credentials) get(context.Context) (auth.Store, error) {
	c.open.Lock()
	defer c.open.Unlock()
	c.mu.Lock()
	store, err, failed, mode := c.store, c.err, c.failed, c.mode
	c.mu.Unlock()
	if store != nil || (err != nil && time.Since(failed) < storeRetry) {
		return store, err
	}
	warning := ""
	store = c.fixed
	if store == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		store, warning, err = auth.OpenStore(ctx, mode, paths.Credentials(c.home), auth.KeyringOptions{})
		cancel()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.store, c.warning, c.err, c.opened = store, warning, err, mode
	if err != nil {
		c.failed = time.Now()
	}
	return c.store, c.err
}

// describe names the store for status, with the fallback warning: the
// store's current one when it has one (an auth.AutoStore, whose keychain
// may have become usable since it was opened), else the one from opening.
func (c *credentials) describe() (name, warning string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.store == nil {
		return "", ""
	}
	warning = c.warning
	if w, ok := c.store.(interface{ Warning() string }); ok {
		warning = w.Warning()
	}
	if inUse, want, restart := c.restartNeeded(); restart {
		note := fmt.Sprintf("the config asks for credentialStore %q, but this hub opened %q: restart the hub (quit the tray app, or stop `mcptray serve`) to switch; credentials saved in one store are not carried over to another", want, inUse)
		if warning != "" {
			note = warning + "; " + note
		}
		warning = note
	}
	return c.store.Name(), warning
}

// setMode takes the credentialStore of a reloaded config. Until the store
// is opened (a server's first 401), the next opening uses it, and one that
// failed is retried at once; an open store stays until the hub restarts,
// and describe says so. It reports which of the two happened.
func (c *credentials) setMode(mode string) (inUse string, restart bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mode != mode && c.store == nil {
		c.err = nil
	}
	c.mode = mode
	inUse, _, restart = c.restartNeeded()
	return inUse, restart
}

// restartNeeded reports an open store of another mode than the config's
// (never for an injected store). c.mu is held.
func (c *credentials) restartNeeded() (inUse, want string, restart bool) {
	norm := func(m string) string {
		if m == "" {
			return auth.StoreAuto
		}
		return m
	}
	inUse, want = norm(c.opened), norm(c.mode)
	return inUse, want, c.store != nil && c.fixed == nil && inUse != want
}

// authState is a server's OAuth bookkeeping, guarded by upstream.mu.
type authState struct {
	mgr        *auth.Manager
	mgrKey     string // what mgr was built for
	challenge  string // the last WWW-Authenticate of a 401/403
	autoOpened bool   // the browser was opened once without being asked
	stepUps    int    // step-up logins for insufficient_scope
	bgLogins   int    // logins started by the supervisor that have not ended
	signedIn   bool   // the current session carries a token
	// tokens is mgr's token cache (it has its own lock); it is replaced
	// with mgr.
	tokens *auth.TokenSource
	health authHealth // for status (authstatus.go)
	// end is what the last sign-in came to; held counts the requests
	// waiting for a sign-in (signin_hold.go).
	end  signInEnd
	held int
	// pending is closed (and replaced) when the sign-in URL or device
	// code changes, for held requests that show them; nil until needed.
	pending chan struct{}
}

// maxStepUps bounds step-up logins for one server.
const maxStepUps = 2 // with the first sign-in, at most 3 authorization requests

// manager returns the server's auth.Manager for its current config, or nil
// when the server's own headers carry authorization.
func (u *supervisor) manager(ctx context.Context, r config.Resolved, cfg config.Server, client *http.Client) (*auth.Manager, error) {
	if r.Headers.Get("Authorization") != "" || u.creds == nil {
		return nil, nil
	}
	store, err := u.creds.get(ctx)
	if err != nil {
		return nil, fmt.Errorf("credential store: %w", err)
	}
	o := cfg.OAuth
	if o == nil {
		o = &config.OAuth{}
	}
	u.secrets.Add(o.ClientSecret)
	u.mu.Lock()
	defer u.mu.Unlock()
	meta := u.clientMetadataURL(o)
	key := fmt.Sprintf("%s|%s|%s|%t|%v|%d|%s|%s", r.URL, o.Resource, o.ClientID, o.ClientSecret != "", o.Scopes, o.CallbackPort, meta, o.Flow)
	if u.auth.mgr != nil && u.auth.mgrKey == key {
		return u.auth.mgr, nil
	}
	u.auth.mgr = auth.NewManager(auth.Config{
		ServerURL: r.URL, Resource: o.Resource,
		ClientID: o.ClientID, ClientSecret: o.ClientSecret, Scopes: o.Scopes, CallbackPort: o.CallbackPort,
		ClientMetadataURL: meta, Flow: o.Flow,
		HTTPClient: &http.Client{Transport: client.Transport, Timeout: 30 * time.Second},
		Store:      store, LockDir: paths.AuthLocks(u.home),
		OpenBrowser: u.browserOpener(), Logger: u.log,
	})
	u.auth.mgrKey = key
	u.auth.tokens = auth.NewTokenSource(u.auth.mgr, u.sawToken)
	return u.auth.mgr, nil
}

// clientMetadataURL is the server's client ID metadata document URL: its
// oauth.clientMetadataUrl, else the config's top-level one, else the
// hub's option. u.mu is held.
func (u *supervisor) clientMetadataURL(o *config.OAuth) string {
	switch {
	case o != nil && o.ClientMetadataURL != "":
		return o.ClientMetadataURL
	case u.global.ClientMetadataURL != "":
		return u.global.ClientMetadataURL
	}
	return u.clientMeta
}

// tokenSource returns the token cache of m for a session (nil for a nil
// m): the server's, or, for a Manager already replaced by a config
// change, one of its own.
func (u *supervisor) tokenSource(m *auth.Manager) *auth.TokenSource {
	if m == nil {
		return nil
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if ts := u.auth.tokens; ts != nil && ts.Manager() == m {
		return ts
	}
	return auth.NewTokenSource(m, u.sawToken)
}

// sawToken makes a token and the stored credentials' secrets known, before
// the token is sent.
func (u *supervisor) sawToken(tok string, c *auth.Credentials) {
	u.secrets.AddToken(tok)
	u.knowCredentials(c) // the refresh token and client secret too
	if c != nil {
		u.noteCredentials(c)
	}
}

// bearer returns the Authorization value for the next request, or "" when
// there is no token (the server may not need one; a 401 will tell). ts
// caches the token, and remembers for auth.NoTokenRecheck that there is
// none (a sign-in, a 401 or a rebuild after credentials appeared clears
// that), so servers without OAuth do not cost a keychain read per request.
func (u *supervisor) bearer(ctx context.Context, ts *auth.TokenSource) (string, error) {
	if ts == nil {
		return "", nil
	}
	tok, err := ts.Token(ctx)
	switch {
	case err == nil:
	case !errors.Is(err, auth.ErrTemporary) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded):
		// The store failed (a locked or hanging keychain): go on without a
		// token, so servers that need none keep working; one that does
		// answers 401 and the state says why.
		u.log.Warn("no access token: the credential store failed", "err", err)
		return "", nil
	default:
		return "", fmt.Errorf("getting an access token: %w", err)
	}
	if tok == "" {
		return "", nil // no token stored (or it was rejected and cleared)
	}
	return "Bearer " + tok, nil
}

// dropCachedToken forgets the cached token (or its absence); lookups under
// way do not cache what they find (see auth.TokenSource).
func (u *supervisor) dropCachedToken() {
	u.mu.Lock()
	ts := u.auth.tokens
	u.mu.Unlock()
	if ts != nil {
		ts.Invalidate()
	}
}

// afterUnauthorized handles a 401 while connecting: one refresh (or the
// adoption of a token another process rotated) and a retry, else
// needs_login. It reports whether to retry the connect at once.
func (u *supervisor) afterUnauthorized(ctx context.Context, ae *transport.AuthError) (retry bool, err error) {
	u.mu.Lock()
	ts := u.auth.tokens
	u.auth.challenge = ae.WWWAuthenticate
	u.mu.Unlock()
	if ts == nil {
		return false, nil
	}
	// The token sent last is refreshed (or one rotated meanwhile adopted);
	// a request that looks the token up meanwhile does not cache the
	// rejected one. The sawToken hook learns a rotated refresh token.
	tok, err := ts.Refresh(ctx)
	if err != nil {
		if errors.Is(err, auth.ErrTemporary) {
			return false, err
		}
		u.log.Info("refresh did not help; a sign-in is needed", "err", err)
		u.noteAuthError("refresh failed: " + err.Error())
		return false, nil
	}
	return tok != "", nil // "": no token was sent, nothing to refresh
}

// Login runs a browser sign-in for the server through its Manager. Callers
// arriving while one runs join it. onURL receives the authorization URL.
func (u *supervisor) Login(ctx context.Context, onURL func(string), userAsked bool) error {
	return u.LoginWith(ctx, LoginOptions{OnURL: onURL}, userAsked)
}

// LoginWith is Login with the device and paste-back hooks of opts.
func (u *supervisor) LoginWith(ctx context.Context, opts LoginOptions, userAsked bool) error {
	cfg, g := u.config()
	r, err := u.resolve(cfg)
	if err != nil {
		return err
	}
	if r.Headers.Get("Authorization") != "" {
		return fmt.Errorf("mcptray: server %q sends its own Authorization header from the config; remove it to sign in with OAuth", u.name)
	}
	client, err := u.httpClient(g)
	if err != nil {
		return err
	}
	m, err := u.manager(ctx, r, cfg, client)
	if err != nil {
		return fmt.Errorf("mcptray: cannot sign in to %q: %w", u.name, err)
	}
	if m == nil {
		return fmt.Errorf("mcptray: no credential store is available for %q", u.name)
	}
	u.mu.Lock()
	challenge := u.auth.challenge
	if userAsked {
		u.auth.autoOpened = false
		u.auth.stepUps = 0
	}
	prev := u.state
	u.mu.Unlock()
	var extra []string
	if ch, ok := auth.ParseBearerChallenge(challenge); ok && ch.InsufficientScope() {
		extra = ch.Scope
	}
	u.setState(StateLoggingIn, "waiting for the browser sign-in", time.Time{})
	if c, err := m.Stored(ctx); err == nil {
		u.knowCredentials(c) // a registered client's secret, before it is sent
	}
	err = m.Login(ctx, u.authLoginOptions(challenge, extra, opts))
	u.noteLoginEnd(ctx, m, err)
	backgroundEnded(ctx) // a held request that wakes sees no sign-in under way
	u.signInEnded(err)   // requests held for it go on (signin_hold.go)
	if c, serr := m.Stored(ctx); serr == nil {
		u.knowCredentials(c) // the new tokens and registration
	}
	if err != nil {
		reason := "sign-in failed: " + err.Error()
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			reason = "sign-in was not completed"
		}
		// Restore a state only if nothing moved on meanwhile: the
		// supervisor may have reconnected (e.g. its own refresh worked)
		// while the browser was open, and a working session must not be
		// shown, or refused, as needing a sign-in.
		u.mu.Lock()
		still, live := u.state == StateLoggingIn, u.cur != nil
		u.mu.Unlock()
		switch {
		case !still:
		case live || prev == StateConnected:
			u.setState(StateConnected, "", time.Time{})
		default:
			u.setState(StateNeedsLogin, reason, time.Time{})
		}
		return fmt.Errorf("mcptray: signing in to %q failed: %w", u.name, err)
	}
	u.log.Info("signed in; rebuilding the session")
	u.dropCachedToken() // the rebuild must use the new token, not the cached one
	u.graceful.Store(true)
	u.forceRebuild()
	return nil
}

// Logout revokes and deletes the server's credentials, clears its cookies
// and rebuilds (which then needs a sign-in).
func (u *supervisor) Logout(ctx context.Context) error {
	cfg, g := u.config()
	r, err := u.resolve(cfg)
	if err != nil {
		return err
	}
	client, err := u.httpClient(g)
	if err != nil {
		return err
	}
	m, err := u.manager(ctx, r, cfg, client)
	if err != nil {
		return err
	}
	if m != nil {
		if err := m.Logout(ctx); err != nil && !errors.Is(err, auth.ErrNotFound) {
			return fmt.Errorf("mcptray: signing out of %q: %w", u.name, err)
		}
	}
	jar, _ := cookiejar.New(nil)
	u.mu.Lock()
	u.jar = jar
	u.auth.autoOpened = true // signed out on purpose: do not pop a browser
	u.auth.signedIn = false
	u.auth.health = authHealth{known: true}
	ts := u.auth.tokens
	u.mu.Unlock()
	if ts != nil {
		ts.Forget() // no cached token, and none to refresh on a 401
	}
	u.forceRebuild()
	return nil
}

// forceRebuild makes the supervisor connect again now, whatever its state.
func (u *supervisor) forceRebuild() {
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// maybeAutoLogin opens the browser once per server when an IDE needs a
// server that needs a sign-in; it reports whether it did.
func (u *supervisor) maybeAutoLogin() bool {
	u.mu.Lock()
	if u.auth.autoOpened || u.creds == nil || u.noAutoLogin || u.state == StateLoggingIn {
		u.mu.Unlock()
		return false
	}
	u.auth.autoOpened = true
	u.mu.Unlock()
	u.loginInBackground("automatic sign-in")
	return true
}

// signingIn reports a sign-in under way: one the supervisor started (it
// may not have reached the browser yet) or any login in progress.
func (u *supervisor) signingIn() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.auth.bgLogins > 0 || u.state == StateLoggingIn
}

// loginInBackground runs a sign-in owned by the supervisor (it ends with
// the supervisor, or after auth.DefaultLoginTimeout).
func (u *supervisor) loginInBackground(what string) {
	u.mu.Lock()
	u.auth.bgLogins++
	u.mu.Unlock()
	ended := sync.OnceFunc(func() {
		u.mu.Lock()
		u.auth.bgLogins--
		u.mu.Unlock()
	})
	started := u.bg.Go(func() {
		defer ended()
		u.mu.Lock()
		rctx := u.runCtx
		u.mu.Unlock()
		ctx, cancel := context.WithTimeout(rctx, auth.DefaultLoginTimeout)
		defer cancel()
		// Login ends it before it wakes the requests held for it.
		ctx = context.WithValue(ctx, backgroundLoginKey{}, ended)
		if err := u.Login(ctx, nil, false); err != nil {
			u.log.Warn("background sign-in failed", "what", what, "err", err)
			ended()
			u.signInEnded(err) // also when it failed before the browser step
		}
	})
	if !started {
		ended() // the supervisor has stopped
	}
}

// backgroundLoginKey carries, in a background sign-in's context, the
// function that stops counting it (signingIn).
type backgroundLoginKey struct{}

// backgroundEnded stops counting the background sign-in ctx belongs to,
// if it is one.
func backgroundEnded(ctx context.Context) {
	if f, ok := ctx.Value(backgroundLoginKey{}).(func()); ok {
		f()
	}
}

// insufficientScope reports a 403 asking for more scopes.
func insufficientScope(ae *transport.AuthError) bool {
	ch, ok := auth.ParseBearerChallenge(ae.WWWAuthenticate)
	return ok && ch.InsufficientScope()
}

// stepUp starts a step-up login for more scopes, at most maxStepUps times.
func (u *supervisor) stepUp(ae *transport.AuthError) bool {
	u.mu.Lock()
	if u.auth.stepUps >= maxStepUps || u.creds == nil {
		u.mu.Unlock()
		return false
	}
	u.auth.stepUps++
	u.auth.challenge = ae.WWWAuthenticate
	u.mu.Unlock()
	u.loginInBackground("step-up sign-in")
	return true
}

// storedTokens reports whether the store holds tokens for the server (for
// noticing a sign-in made by another process).
func (u *supervisor) storedTokens(ctx context.Context) bool {
	u.mu.Lock()
	m := u.auth.mgr
	u.mu.Unlock()
	if m == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := m.Stored(ctx)
	return err == nil && c != nil && (c.AccessToken != "" || c.RefreshToken != "")
}
