package transport

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"syscall"
	"time"
)

// SessionError reports that the upstream no longer knows the session a
// request carried: 404 (the spec's answer) or 400 (what the reference
// server-everything answers after a restart).
type SessionError struct {
	Status int
	Body   string
}

func (e *SessionError) Error() string {
	return fmt.Sprintf("upstream rejected the session (HTTP %d%s)", e.Status, bodySuffix(e.Body))
}

// StatusError is an HTTP error status from the upstream that is not about
// the session or authorization.
type StatusError struct {
	Status     int
	RetryAfter time.Duration
	Body       string
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("upstream answered HTTP %d %s%s", e.Status, http.StatusText(e.Status), bodySuffix(e.Body))
}

// Temporary reports statuses worth a retry after a pause.
func (e *StatusError) Temporary() bool {
	return e.Status >= 500 || e.Status == http.StatusTooManyRequests || e.Status == http.StatusRequestTimeout
}

// StreamError reports a response or event stream that broke off or carried
// something that is not JSON-RPC. The session it belonged to is unusable.
type StreamError struct {
	Err     error
	Garbage bool
}

func (e *StreamError) Error() string {
	if e.Garbage {
		return fmt.Sprintf("upstream sent garbage on the event stream: %v", e.Err)
	}
	return fmt.Sprintf("upstream event stream broke: %v", e.Err)
}

func (e *StreamError) Unwrap() error { return e.Err }

// AuthError reports an HTTP 401 or 403 from the upstream.
type AuthError struct {
	Status          int
	WWWAuthenticate string
}

func (e *AuthError) Error() string {
	if e.Status == http.StatusForbidden {
		return "upstream refused access (HTTP 403 Forbidden)"
	}
	return "upstream requires authorization (HTTP 401 Unauthorized)"
}

// ConfigError is a problem with a server's configuration: retrying will
// not help until the config changes.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// UnsentError is why a request was not sent at all: its connection was
// closed or broken before the call began. The server never saw it, so
// any request (a tools/call too) may be sent again. It unwraps to the
// connection's own error.
type UnsentError struct{ Err error }

func (e *UnsentError) Error() string { return e.Err.Error() }
func (e *UnsentError) Unwrap() error { return e.Err }

// ErrConnClosed is returned for calls on a connection that was torn down.
var ErrConnClosed = errors.New("upstream connection was closed for a rebuild")

func bodySuffix(b string) string {
	if b == "" {
		return ""
	}
	return ": " + b
}

// NotSent reports errors after which the upstream certainly did not run
// the request: it could not be delivered or was refused before processing.
func NotSent(err error) bool {
	var un *UnsentError
	if errors.As(err, &un) {
		return true
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status == http.StatusTooManyRequests || se.Status == http.StatusServiceUnavailable ||
			se.Status == http.StatusBadGateway
	}
	var sess *SessionError
	if errors.As(err, &sess) {
		return true
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" {
		return true
	}
	var stale *StaleConnError
	if errors.As(err, &stale) {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// ShortBody trims an HTTP error body for messages.
func ShortBody(b []byte) string {
	const max = 200
	s := string(b)
	if len(s) > max {
		s = s[:max] + "…"
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 && s[i] != ' ' {
			return sanitize(s)
		}
	}
	return s
}

func sanitize(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r < 0x20 {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}
