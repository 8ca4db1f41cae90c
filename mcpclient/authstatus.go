package mcpclient

import (
	"context"
	"time"

	"github.com/mcptray/mcptray/auth"
)

// AuthStatus is a server's OAuth health for status and the window. It
// holds no secret: whether tokens are held, never their values.
type AuthStatus struct {
	// SignedIn: the store holds tokens for the server.
	SignedIn bool `json:"signedIn"`
	// AccessTokenExpiry is when the access token expires (zero: unknown).
	AccessTokenExpiry time.Time `json:"accessTokenExpiry,omitzero"`
	// LastRefresh is when the tokens were last refreshed (zero: not since
	// the sign-in).
	LastRefresh time.Time `json:"lastRefresh,omitzero"`
	// RefreshToken: a refresh token is held.
	RefreshToken bool `json:"refreshToken"`
	// Registration is how mcptray is known to the authorization server:
	// "pre-registered", "metadata-document" or "dynamic".
	Registration string `json:"registration,omitempty"`
	// Issuer is the authorization server the credentials belong to.
	Issuer string `json:"issuer,omitempty"`
	// LastError is the last sign-in or refresh failure, and when.
	LastError   string    `json:"lastError,omitempty"`
	LastErrorAt time.Time `json:"lastErrorAt,omitzero"`
	// DeviceCode is the code of a device sign-in waiting for the user.
	DeviceCode *auth.DeviceCode `json:"deviceCode,omitempty"`
	// SignInURL is the page a sign-in under way waits on: the
	// authorization URL, or the device flow's verification URI. It is
	// what a click on the sign-in notification opens. (The URL carries
	// the request's state and PKCE challenge, no secret.)
	SignInURL string `json:"signInUrl,omitempty"`
}

// authHealth is what the supervisor knows of its credentials, kept from
// the last store read (status must not read a keychain). Guarded by
// supervisor.mu.
type authHealth struct {
	known  bool // a store read or a sign-in happened
	status AuthStatus
}

// noteCredentials records what c says about the sign-in (nil: nothing
// stored). The caller must not hold u.mu.
func (u *supervisor) noteCredentials(c *auth.Credentials) {
	u.mu.Lock()
	defer u.mu.Unlock()
	h := &u.auth.health
	h.known = true
	s := &h.status
	if c == nil {
		s.SignedIn, s.AccessTokenExpiry, s.LastRefresh, s.RefreshToken = false, time.Time{}, time.Time{}, false
		s.Registration, s.Issuer = "", ""
		return
	}
	s.SignedIn = c.AccessToken != "" || c.RefreshToken != ""
	s.AccessTokenExpiry, s.LastRefresh, s.RefreshToken = c.Expiry, c.RefreshedAt, c.RefreshToken != ""
	s.Registration, s.Issuer = c.RegistrationMethod(), c.Issuer
}

// noteAuthError records a sign-in or refresh failure ("" clears it). The
// caller must not hold u.mu.
func (u *supervisor) noteAuthError(msg string) {
	msg = u.scrub(msg)
	u.mu.Lock()
	defer u.mu.Unlock()
	u.auth.health.known = true
	u.auth.health.status.LastError = msg
	u.auth.health.status.LastErrorAt = time.Time{}
	if msg != "" {
		u.auth.health.status.LastErrorAt = time.Now()
	}
}

// setDeviceCode shows (or, nil, hides) the code of a device sign-in.
func (u *supervisor) setDeviceCode(dc *auth.DeviceCode) {
	u.mu.Lock()
	u.auth.health.known = true
	u.auth.health.status.DeviceCode = dc
	u.pendingChanged()
	u.mu.Unlock()
	u.notify()
}

// setSignInURL shows (or, "", hides) the page a sign-in waits on.
func (u *supervisor) setSignInURL(url string) {
	u.mu.Lock()
	u.auth.health.known = true
	u.auth.health.status.SignInURL = url
	u.pendingChanged()
	u.mu.Unlock()
	u.notify()
}

// pendingChanged wakes the held requests that show the sign-in URL and
// device code. u.mu is held.
func (u *supervisor) pendingChanged() {
	if u.auth.pending != nil {
		close(u.auth.pending)
		u.auth.pending = nil
	}
}

// pendingWatch returns a channel closed at the next change of the
// sign-in URL or device code.
func (u *supervisor) pendingWatch() <-chan struct{} {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.auth.pending == nil {
		u.auth.pending = make(chan struct{})
	}
	return u.auth.pending
}

// authStatus is the server's AuthStatus, nil for a server that has not
// used OAuth. u.mu is held.
func (u *supervisor) authStatus() *AuthStatus {
	if !u.auth.health.known && u.auth.mgr == nil {
		return nil
	}
	s := u.auth.health.status
	// A server that has never asked for a sign-in, holds no credentials
	// and has no oauth settings does not use OAuth: it has no auth health
	// to show ("not signed in" would read as a problem).
	if !s.SignedIn && s.Registration == "" && s.LastError == "" && s.DeviceCode == nil && s.SignInURL == "" &&
		u.cfg.OAuth == nil && u.state != StateNeedsLogin && u.state != StateLoggingIn {
		return nil
	}
	if s.DeviceCode != nil {
		dc := *s.DeviceCode
		s.DeviceCode = &dc
	}
	return &s
}

// LoginOptions are how a sign-in reaches the user besides a browser on
// this machine (mcptray login, the tray).
type LoginOptions struct {
	// OnURL receives the authorization URL (the verification URI in the
	// device flow), for when no browser opens.
	OnURL func(url string)
	// NoBrowser: open no browser (login --no-browser): the device grant
	// when the server offers it, else paste-back through OnPaste.
	NoBrowser bool
	// OnDeviceCode receives the code of a device sign-in.
	OnDeviceCode func(auth.DeviceCode)
	// OnPaste receives the function that takes a pasted redirect URL
	// (paste-back; see auth.LoginOptions.OnPaste).
	OnPaste func(submit func(redirectURL string) error)
}

// authLoginOptions turns the hub's options into auth's for one login,
// showing a device code in the status while it is pending.
func (u *supervisor) authLoginOptions(challenge string, extra []string, o LoginOptions) auth.LoginOptions {
	noBrowser := o.NoBrowser || (u.openBrowser == nil && !auth.LocalBrowser())
	return auth.LoginOptions{
		WWWAuthenticate: challenge, ExtraScopes: extra,
		NoBrowser: noBrowser, OnPaste: o.OnPaste,
		OnURL: u.onURL(o.OnURL),
		OnDeviceCode: func(dc auth.DeviceCode) {
			u.setDeviceCode(&dc)
			if dc.VerificationURIComplete != "" {
				u.setSignInURL(dc.VerificationURIComplete)
			} else {
				u.setSignInURL(dc.VerificationURI)
			}
			u.setState(StateLoggingIn, "enter the code "+dc.UserCode+" at "+dc.VerificationURI, time.Time{})
			if o.OnDeviceCode != nil {
				o.OnDeviceCode(dc)
			}
		},
	}
}

// onURL wraps a caller's OnURL so that the URL is also the sign-in URL
// status shows, unless a device code is pending (its URL, with the code
// filled in where the server gives one, is already set). nil stays nil:
// auth fails a login whose browser cannot open only when OnURL is nil.
func (u *supervisor) onURL(fn func(string)) func(string) {
	if fn == nil {
		return nil
	}
	return func(url string) {
		u.mu.Lock()
		device := u.auth.health.status.DeviceCode != nil
		u.mu.Unlock()
		if !device {
			u.setSignInURL(url)
		}
		fn(url)
	}
}

// browserOpener is the manager's OpenBrowser: it notes the URL as the
// sign-in URL, then opens it with the hub's opener (nil: the OS default).
func (u *supervisor) browserOpener() func(ctx context.Context, url string) error {
	open := u.openBrowser
	if open == nil {
		open = auth.DefaultOpenBrowser
	}
	return func(ctx context.Context, url string) error {
		u.setSignInURL(url)
		return open(ctx, url)
	}
}

// noteLoginEnd records how a sign-in ended: the device code and the
// sign-in URL go away,
// the stored credentials and the error (or none) are noted.
func (u *supervisor) noteLoginEnd(ctx context.Context, m *auth.Manager, err error) {
	u.setDeviceCode(nil)
	u.setSignInURL("")
	if c, serr := m.Stored(ctx); serr == nil {
		u.noteCredentials(c)
	}
	if err != nil {
		u.noteAuthError("sign-in failed: " + err.Error())
	} else {
		u.noteAuthError("")
	}
}
