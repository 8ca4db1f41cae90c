package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/mcptray/mcptray/auth/flock"
)

// Timing of the token life cycle.
const (
	// ExpiryMargin: an access token expiring within this margin is
	// refreshed before use (a short-lived one half-way through its life:
	// see Credentials.RefreshAt).
	ExpiryMargin = 60 * time.Second
	// DefaultLoginTimeout bounds Login when its context has no deadline.
	DefaultLoginTimeout = 10 * time.Minute
	// lockTimeout bounds the wait for another process's refresh.
	lockTimeout = 30 * time.Second
)

// DefaultClientName is the client_name of dynamic registrations.
const DefaultClientName = "mcptray"

// Config configures a Manager. Only ServerURL and Store are required; the
// other zero values work.
type Config struct {
	// ServerURL is the MCP server's URL.
	ServerURL string
	// Resource is the RFC 8707 resource indicator. Empty: the resource the
	// server's protected resource metadata names (it must cover ServerURL),
	// else the canonical ServerURL.
	Resource string

	// ClientID and ClientSecret name a client registered with the
	// authorization server beforehand (the user's config); empty ClientID
	// means dynamic registration. Scopes, when set, replace the scopes the
	// server suggests. CallbackPort, when set, is the loopback port to use
	// (required to be free: registrations name it exactly).
	ClientID     string
	ClientSecret string
	Scopes       []string
	CallbackPort int

	// ClientMetadataURL is an https URL of a client ID metadata document
	// describing this client. It is used as the client_id, without
	// registration, with authorization servers that advertise
	// client_id_metadata_document_supported. Empty: never.
	ClientMetadataURL string

	// Flow is the sign-in flow: FlowAuto ("" too), FlowBrowser or
	// FlowDevice (always the device grant). See ChooseFlow.
	Flow string

	// HTTPClient makes every request to the servers; nil means
	// http.DefaultClient. It must not follow redirects across origins for
	// token requests (the default client does not resend bodies anyway).
	HTTPClient *http.Client

	// Store holds the credentials; LockDir holds the cross-process lock
	// files (empty: a directory under os.UserCacheDir, or os.TempDir).
	Store   Store
	LockDir string

	// OpenBrowser shows the authorization URL to the user; nil means
	// DefaultOpenBrowser.
	OpenBrowser func(ctx context.Context, url string) error

	// ClientName is the client_name of dynamic registrations; empty means
	// DefaultClientName.
	ClientName string
	// Logger receives debug and warning records; nil discards them.
	Logger *slog.Logger
	// Now is the clock for token expiry and state lifetimes; nil means
	// time.Now.
	Now func() time.Time
}

// Manager handles OAuth for one server: it hands out access tokens,
// refreshes them, runs browser logins and logs out. Its methods are safe
// for concurrent use, and several Managers (in one or several processes)
// may share one store and LockDir.
type Manager struct {
	cfg Config
	key string
	log *slog.Logger

	mu sync.Mutex // serialises refreshes within the process

	loginMu sync.Mutex
	login   *loginCall // the login in progress, if any

	testJoined func() // tests: called when a Login joins a running one
}

// loginCall is one running login that other callers join.
type loginCall struct {
	done chan struct{}
	err  error
}

// NewManager returns a Manager for cfg.ServerURL.
func NewManager(cfg Config) *Manager {
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.OpenBrowser == nil {
		cfg.OpenBrowser = DefaultOpenBrowser
	}
	if cfg.ClientName == "" {
		cfg.ClientName = DefaultClientName
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LockDir == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			cfg.LockDir = filepath.Join(dir, "mcptray", "locks")
		} else {
			cfg.LockDir = filepath.Join(os.TempDir(), fmt.Sprintf("mcptray-%d-locks", os.Getuid()))
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg.Scopes = slices.Clone(cfg.Scopes)
	return &Manager{
		cfg: cfg,
		key: Key(cfg.ServerURL, cfg.Resource),
		log: log.With(serverAttr(cfg.ServerURL)),
	}
}

// Key returns the store key of the Manager's credentials.
func (m *Manager) Key() string { return m.key }

func (m *Manager) now() time.Time { return m.cfg.Now() }

// expiring reports whether c's access token is expired or due for a
// refresh (see Credentials.RefreshAt).
func (m *Manager) expiring(c *Credentials) bool {
	at := c.RefreshAt()
	return !at.IsZero() && !m.now().Before(at)
}

// Stored returns the stored credentials (for status displays: the caller
// must not show the secrets in them), or an error matching ErrNotFound.
func (m *Manager) Stored(ctx context.Context) (*Credentials, error) {
	if m.cfg.Store == nil {
		return nil, errors.New("auth: no credential store configured")
	}
	return m.cfg.Store.Load(ctx, m.key)
}

// load reads the credentials; missing ones are ErrLoginRequired.
func (m *Manager) load(ctx context.Context) (*Credentials, error) {
	c, err := m.Stored(ctx)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: no stored credentials for %s", ErrLoginRequired, m.cfg.ServerURL)
	}
	return c, err
}

// Token returns an access token for the server. A token that is expired or
// due for a refresh (Credentials.RefreshAt) is refreshed first, under the cross-process
// lock and after re-reading the store, so a token another process rotated
// meanwhile is adopted rather than refreshed again.
//
// Errors: ErrLoginRequired (no credentials, no refresh token, or
// invalid_grant, in which case the tokens are cleared), ErrInvalidClient
// (the registration was dropped; a new Login registers again), ErrTemporary
// (server or network trouble: retry later, nothing was cleared), or a
// keychain error such as ErrKeyringTimeout.
func (m *Manager) Token(ctx context.Context) (string, error) {
	c, err := m.load(ctx)
	if err != nil {
		return "", err
	}
	if c.AccessToken != "" && !m.expiring(c) {
		return c.AccessToken, nil
	}
	return m.refresh(ctx, c.AccessToken, false)
}

// Refresh is for an access token the server rejected with 401: it refreshes
// once, unless the store already holds a different access token (another
// process or goroutine refreshed meanwhile), which is returned instead.
// staleAccessToken is the rejected token. Errors as for Token.
func (m *Manager) Refresh(ctx context.Context, staleAccessToken string) (string, error) {
	return m.refresh(ctx, staleAccessToken, true)
}

// refresh refreshes under the in-process mutex and the cross-process lock.
// force refreshes even an unexpired token, unless it differs from stale.
func (m *Manager) refresh(ctx context.Context, stale string, force bool) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	unlock, err := m.lock(ctx)
	if err != nil {
		return "", err
	}
	defer unlock()

	c, err := m.load(ctx)
	if err != nil {
		return "", err
	}
	if c.AccessToken != "" && !m.expiring(c) && (!force || c.AccessToken != stale) {
		if c.AccessToken != stale {
			m.log.Debug("adopted an access token refreshed by someone else")
		}
		return c.AccessToken, nil
	}
	if c.RefreshToken == "" {
		if c.AccessToken == "" {
			return "", fmt.Errorf("%w: not signed in to %s", ErrLoginRequired, m.cfg.ServerURL)
		}
		return "", fmt.Errorf("%w: the access token for %s expired and there is no refresh token", ErrLoginRequired, m.cfg.ServerURL)
	}
	if m.cfg.ClientID != "" && m.cfg.ClientID == c.ClientID {
		c.ClientSecret = m.cfg.ClientSecret // the config may have a newer secret
	}

	m.log.Debug("refreshing the access token", "token_endpoint", c.TokenEndpoint)
	n, err := m.refreshTokens(ctx, c)
	if err == nil {
		if err := m.cfg.Store.Save(ctx, m.key, n); err != nil {
			return "", fmt.Errorf("auth: store refreshed tokens: %w", err)
		}
		m.log.Debug("access token refreshed", "rotated", n.RefreshToken != c.RefreshToken, "expiry", n.Expiry)
		return n.AccessToken, nil
	}

	var se *ServerError
	if !errors.As(err, &se) || se.Temporary() {
		m.log.Warn("token refresh failed; will retry later", "err", err)
		return "", err
	}
	switch se.Code {
	case "invalid_grant":
		m.log.Info("the refresh token was rejected; a new login is needed", "err", err)
		c.clearTokens()
		if serr := m.cfg.Store.Save(ctx, m.key, c); serr != nil {
			m.log.Warn("could not clear rejected tokens", "err", serr)
		}
		return "", fmt.Errorf("%w: %w", ErrLoginRequired, err)
	case "invalid_client", "unauthorized_client":
		if c.Registered {
			m.log.Info("the client registration was rejected; dropping it, the next login registers again", "err", err)
			c.clearRegistration()
		} else {
			m.log.Warn("the configured client was rejected; check oauth.clientId and clientSecret", "err", err)
			c.clearTokens()
		}
		if serr := m.cfg.Store.Save(ctx, m.key, c); serr != nil {
			m.log.Warn("could not drop the rejected registration", "err", serr)
		}
		return "", fmt.Errorf("%w: %w", ErrInvalidClient, err)
	}
	if se.StatusCode == http.StatusUnauthorized {
		// Client authentication failed without a recognised code.
		return "", fmt.Errorf("%w: %w", ErrInvalidClient, err)
	}
	m.log.Warn("token refresh failed", "err", err)
	return "", err
}

// lock takes the cross-process lock of this server's credentials.
func (m *Manager) lock(ctx context.Context) (func(), error) {
	sum := sha256.Sum256([]byte(m.key))
	path := filepath.Join(m.cfg.LockDir, "oauth-"+hex.EncodeToString(sum[:12])+".lock")
	lctx, cancel := context.WithTimeout(ctx, lockTimeout)
	defer cancel()
	l, err := flock.Acquire(lctx, path)
	if err != nil {
		return nil, fmt.Errorf("auth: credentials lock: %w", err)
	}
	return l.Unlock, nil
}

// Logout revokes the refresh and access tokens where the authorization
// server has a revocation endpoint (RFC 7009), then deletes the stored
// credentials, registration included. Revocation failures are logged, not
// returned: the local logout happens regardless. Logging out with nothing
// stored is not an error.
func (m *Manager) Logout(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	unlock, err := m.lock(ctx)
	if err != nil {
		return err
	}
	defer unlock()
	c, err := m.Stored(ctx)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if c.RevocationEndpoint != "" {
		if c.RefreshToken != "" {
			if err := m.revoke(ctx, c, c.RefreshToken, "refresh_token"); err != nil {
				m.log.Warn("revoking the refresh token failed", "err", err)
			}
		}
		if c.AccessToken != "" {
			if err := m.revoke(ctx, c, c.AccessToken, "access_token"); err != nil {
				m.log.Warn("revoking the access token failed", "err", err)
			}
		}
	}
	if err := m.cfg.Store.Delete(ctx, m.key); err != nil {
		return fmt.Errorf("auth: delete credentials: %w", err)
	}
	m.log.Info("logged out")
	return nil
}
