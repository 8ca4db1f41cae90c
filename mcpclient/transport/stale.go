package transport

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"syscall"
)

// StaleConnError is a request that failed on a reused keep-alive
// connection the server had already closed (it closes idle connections
// after a while, and a request can be sent just as it does): the
// connection ended before any answer, so the server did not process the
// request. Go's own client retries such requests when they are idempotent;
// an MCP POST is not, so the hub retries it — NotSent reports these.
type StaleConnError struct{ Err error }

func (e *StaleConnError) Error() string {
	return "the server had closed the kept-alive connection: " + e.Err.Error()
}

func (e *StaleConnError) Unwrap() error { return e.Err }

// do sends req like client.Do, and tells a failure on a stale kept-alive
// connection (reused, and closed before any answer) by a *StaleConnError.
func do(client *http.Client, req *http.Request) (*http.Response, error) {
	var reused, answered atomic.Bool
	trace := &httptrace.ClientTrace{
		GotConn:              func(i httptrace.GotConnInfo) { reused.Store(i.Reused) },
		GotFirstResponseByte: func() { answered.Store(true) },
	}
	resp, err := client.Do(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
	if err != nil && reused.Load() && !answered.Load() && req.Context().Err() == nil && connDropped(err) {
		return nil, &StaleConnError{Err: err}
	}
	return resp, err
}

// connDropped reports a connection the peer closed or reset.
func connDropped(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
