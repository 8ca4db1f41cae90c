package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// Sentinel errors. Test for them with errors.Is; the errors returned carry
// more detail in their message.
var (
	// ErrNotFound means the store holds no credentials under the key.
	ErrNotFound = errors.New("auth: no stored credentials")

	// ErrKeyringTimeout means the OS keychain did not answer in time; it may
	// be locked and showing an unlock prompt nobody answers. (A locked
	// keychain that cannot show a prompt fails at once with a "locked"
	// error instead.) The error returned is a *KeyringTimeoutError.
	ErrKeyringTimeout = errors.New("auth: the keychain did not answer")

	// ErrLoginRequired means there are no usable tokens: nothing is stored,
	// the access token expired with no refresh token, or the authorization
	// server rejected the refresh token (invalid_grant). A browser login
	// (Manager.Login) is needed.
	ErrLoginRequired = errors.New("auth: login required")

	// ErrInvalidClient means the authorization server no longer accepts the
	// client (invalid_client or unauthorized_client). A dynamically
	// registered client has been dropped from the store; the next Login
	// registers again. A pre-registered client (Config.ClientID) needs its
	// configuration fixed.
	ErrInvalidClient = errors.New("auth: the authorization server rejected the client")

	// ErrTemporary marks failures worth retrying later with backoff: server
	// errors (5xx, 429, temporarily_unavailable), timeouts and network
	// errors. They never cause a logout.
	ErrTemporary = errors.New("auth: temporary failure")

	// ErrCallbackPortInUse means the loopback callback port that a
	// pre-registered client (or an explicit Config.CallbackPort) needs is
	// taken by another program. The error returned is a *PortInUseError.
	ErrCallbackPortInUse = errors.New("auth: callback port in use")

	// ErrAccessDenied means the user (or the authorization server) declined
	// the authorization request (error=access_denied on the callback).
	ErrAccessDenied = errors.New("auth: access denied")
)

// KeyringTimeoutError reports a keychain call that did not finish within
// its timeout. It matches ErrKeyringTimeout.
type KeyringTimeoutError struct {
	Op      string        // "load", "save", "delete" or "probe"
	Timeout time.Duration // the timeout that ran out
}

// Error implements error.
func (e *KeyringTimeoutError) Error() string {
	return fmt.Sprintf("the keychain did not answer within %s (%s); it may be locked or prompting", e.Timeout, e.Op)
}

// Is reports whether target is ErrKeyringTimeout.
func (e *KeyringTimeoutError) Is(target error) bool { return target == ErrKeyringTimeout }

// PortInUseError reports a callback port that could not be bound. It
// matches ErrCallbackPortInUse.
type PortInUseError struct {
	Port int
	Err  error
}

// Error implements error.
func (e *PortInUseError) Error() string {
	return fmt.Sprintf("the OAuth callback port %d on 127.0.0.1 is in use by another program; the client registration requires exactly this port: free it, or configure another oauth.callbackPort registered with the authorization server", e.Port)
}

// Is reports whether target is ErrCallbackPortInUse.
func (e *PortInUseError) Is(target error) bool { return target == ErrCallbackPortInUse }

// Unwrap returns the listen error.
func (e *PortInUseError) Unwrap() error { return e.Err }

// AuthorizationError is an error answered on the login callback
// (the error parameter of RFC 6749 section 4.1.2.1), or one that ended
// the polling of a device sign-in (RFC 8628 section 3.5: access_denied,
// expired_token). With Code "access_denied" it matches ErrAccessDenied.
type AuthorizationError struct {
	Code        string // e.g. "access_denied"
	Description string // error_description, shortened; text from the server
}

// Error implements error. The words for a declined sign-in and for an
// expired device code say what the user can do; the caller, which knows
// the server's name, says how.
func (e *AuthorizationError) Error() string {
	detail := e.Code
	if e.Description != "" {
		detail += ": " + e.Description
	}
	switch e.Code {
	case "access_denied":
		return "auth: the sign-in was declined (" + detail + "); signing in again asks anew"
	case "expired_token":
		return "auth: the sign-in code expired before the sign-in was approved (" + detail + "); signing in again gives a new code"
	}
	msg := "auth: the authorization server refused the login: " + e.Code
	if e.Description != "" {
		msg += " (" + e.Description + ")"
	}
	return msg
}

// Is reports whether target is ErrAccessDenied and the code is access_denied.
func (e *AuthorizationError) Is(target error) bool {
	return target == ErrAccessDenied && e.Code == "access_denied"
}

// ServerError is a failed request to an authorization server endpoint
// (token, registration, revocation, metadata): an error answer, an
// unexpected status or a network failure. Its message holds the endpoint,
// the status and the OAuth error code and description, never a request or
// response body. It matches ErrTemporary when the failure is temporary.
type ServerError struct {
	Op          string // "token", "refresh", "registration", "revocation", "metadata"
	URL         string // the endpoint, without query
	StatusCode  int    // 0 for a network failure
	Code        string // OAuth "error"
	Description string // OAuth "error_description", shortened
	Err         error  // the network error, if any
}

// Error implements error.
func (e *ServerError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "auth: %s request to %s failed", e.Op, e.URL)
	if e.StatusCode != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.StatusCode)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, ": %s", e.Code)
	}
	if e.Description != "" {
		fmt.Fprintf(&b, " (%s)", e.Description)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

// Unwrap returns the network error, if any.
func (e *ServerError) Unwrap() error { return e.Err }

// Temporary reports whether retrying later may succeed: 5xx, 429,
// temporarily_unavailable, server_error, timeouts and network errors. A
// canceled context is not temporary.
func (e *ServerError) Temporary() bool {
	switch {
	case e.Code == "temporarily_unavailable" || e.Code == "server_error" || e.Code == "slow_down":
		return true
	case e.StatusCode >= 500 || e.StatusCode == http.StatusTooManyRequests:
		return true
	case e.StatusCode != 0:
		return false
	case e.Err == nil:
		return false
	case errors.Is(e.Err, context.Canceled):
		return false
	}
	var ne net.Error
	return errors.Is(e.Err, context.DeadlineExceeded) || errors.As(e.Err, &ne) || isNetworkError(e.Err)
}

// Is reports whether target is ErrTemporary and the failure is temporary.
func (e *ServerError) Is(target error) bool { return target == ErrTemporary && e.Temporary() }

// isNetworkError reports errors below HTTP (refused, reset, DNS).
func isNetworkError(err error) bool {
	var oe *net.OpError
	var de *net.DNSError
	return errors.As(err, &oe) || errors.As(err, &de)
}

// shorten bounds server-provided text placed into errors and logs.
func shorten(s string) string {
	const max = 200
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}

// errNoSessionBus explains a missing Secret Service on Linux and BSD.
var errNoSessionBus = errors.New("no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set), so no Secret Service keyring")
