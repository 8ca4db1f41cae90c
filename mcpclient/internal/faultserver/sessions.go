package faultserver

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net/http"
	"sync"
)

type sessionState int

const (
	sessionUnknown sessionState = iota
	sessionLive
	sessionTerminated
	sessionForgotten
)

type sessionEntry struct {
	state  sessionState
	status int // HTTP status for a forgotten session
}

// sessionManager is the mcp-go SessionIdManager of one server instance. It
// mints IDs, tracks which are live, terminated (DELETE) or forgotten (by a
// ForgetSession fault), so that the middleware and mcp-go agree on what the
// instance knows. A fresh instance (Restart) knows no ID at all.
type sessionManager struct {
	mu sync.Mutex
	m  map[string]sessionEntry
}

var errUnknownSession = errors.New("faultserver: session not found")

func newSessionManager() *sessionManager {
	return &sessionManager{m: make(map[string]sessionEntry)}
}

// Generate implements server.SessionIdManager.
func (m *sessionManager) Generate() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	id := "mcp-session-" + hex.EncodeToString(b[:])
	m.mu.Lock()
	m.m[id] = sessionEntry{state: sessionLive}
	m.mu.Unlock()
	return id
}

// Validate implements server.SessionIdManager.
func (m *sessionManager) Validate(id string) (bool, error) {
	switch m.lookup(id).state {
	case sessionLive:
		return false, nil
	case sessionTerminated:
		return true, nil
	default:
		return false, errUnknownSession
	}
}

// Terminate implements server.SessionIdManager.
func (m *sessionManager) Terminate(id string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.m[id]; e.state == sessionLive {
		m.m[id] = sessionEntry{state: sessionTerminated}
	}
	return false, nil
}

func (m *sessionManager) lookup(id string) sessionEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.m[id]
}

// forget marks id as forgotten; every later request carrying it is answered
// with status.
func (m *sessionManager) forget(id string, status int) {
	m.mu.Lock()
	m.m[id] = sessionEntry{state: sessionForgotten, status: status}
	m.mu.Unlock()
}

// discardWriter is a ResponseWriter for requests the server makes to mcp-go
// itself (cleanup of a forgotten session).
type discardWriter struct{ h http.Header }

func (d *discardWriter) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}
func (d *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d *discardWriter) WriteHeader(int)             {}
