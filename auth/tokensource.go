package auth

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Timing of a TokenSource's cache.
const (
	// NoTokenRecheck is how long a TokenSource believes that the store
	// holds no usable token before it asks the store again.
	NoTokenRecheck = 30 * time.Second
	// tokenRecheck is how long a token whose expiry the store does not
	// know is used before the store is asked again.
	tokenRecheck = 5 * time.Minute
)

// TokenSource hands out a Manager's access token for the requests of a
// session, and caches it so that a request does not read the store (which
// may be a slow keychain) each time. Its methods are safe for concurrent
// use.
//
// The cache holds either a token, until it is due for a refresh
// (Credentials.RefreshAt) or for tokenRecheck when the store does not know
// its expiry, or the fact that the store has no usable token, for
// NoTokenRecheck, so that a server that needs no sign-in costs no store
// read per request. Invalidate empties it.
//
// The generation rule: a lookup that started before an Invalidate does not
// put its result in the cache. It may have read the very token that the
// server has just rejected, and caching that would send the rejected token
// again after the refresh (the caller still gets the result it asked for).
type TokenSource struct {
	m    *Manager
	seen func(token string, c *Credentials)

	mu   sync.Mutex
	tok  string    // the cached token; "" with exp set: none stored
	exp  time.Time // the cache is valid before exp; zero: empty
	gen  uint64    // counts invalidations (the generation rule)
	last string    // the token handed out last, for Refresh (never logged)
}

// NewTokenSource returns a TokenSource for m with an empty cache. seen,
// when not nil, is called with each token read from the store or refreshed
// (not with cached ones), before the token is cached or returned, together
// with the stored credentials when they could be read (else nil): a caller
// that scrubs secrets from its logs learns them there.
func NewTokenSource(m *Manager, seen func(token string, c *Credentials)) *TokenSource {
	if seen == nil {
		seen = func(string, *Credentials) {}
	}
	return &TokenSource{m: m, seen: seen}
}

// Manager returns the Manager the tokens come from.
func (s *TokenSource) Manager() *Manager { return s.m }

// Token returns the access token to send, from the cache or else from
// Manager.Token (which refreshes a token that is due, under the
// cross-process lock, or adopts one rotated elsewhere).
//
// It returns "" and a nil error when there is no token to send: nothing is
// stored, the refresh token was rejected, or the client registration was
// (Manager.Token's ErrLoginRequired and ErrInvalidClient). That answer is
// cached for NoTokenRecheck. Other errors are Manager.Token's: ErrTemporary,
// the context's, or the store's; they are not cached.
func (s *TokenSource) Token(ctx context.Context) (string, error) {
	now := s.m.now()
	s.mu.Lock()
	gen := s.gen
	if now.Before(s.exp) {
		tok := s.tok
		s.mu.Unlock()
		return tok, nil
	}
	s.mu.Unlock()

	tok, err := s.m.Token(ctx)
	if errors.Is(err, ErrLoginRequired) || errors.Is(err, ErrInvalidClient) {
		s.mu.Lock()
		s.last = ""
		if s.gen == gen {
			s.tok, s.exp = "", now.Add(NoTokenRecheck)
		}
		s.mu.Unlock()
		return "", nil
	}
	if err != nil {
		return "", err
	}
	exp := now.Add(tokenRecheck)
	c, err := s.m.Stored(ctx)
	if err != nil {
		c = nil
	}
	if c != nil && c.AccessToken == tok && !c.Expiry.IsZero() {
		exp = c.RefreshAt()
	}
	s.seen(tok, c)
	s.mu.Lock()
	s.last = tok
	if s.gen == gen {
		s.tok, s.exp = tok, exp
	}
	s.mu.Unlock()
	return tok, nil
}

// Invalidate empties the cache: the next Token asks the Manager again.
// Call it when the server rejects the token (401), and when credentials
// may have changed in the store (a sign-in). Lookups already under way
// then do not cache what they find (the generation rule).
func (s *TokenSource) Invalidate() {
	s.mu.Lock()
	s.invalidateLocked()
	s.mu.Unlock()
}

func (s *TokenSource) invalidateLocked() {
	s.tok, s.exp = "", time.Time{}
	s.gen++
}

// Forget empties the cache, as Invalidate does, and forgets the token
// handed out last, so that Refresh has nothing to refresh: for a sign-out.
func (s *TokenSource) Forget() {
	s.mu.Lock()
	s.invalidateLocked()
	s.last = ""
	s.mu.Unlock()
}

// Cached reports whether the cache holds a token (due for a refresh or
// not): the session built with the last Token carries one.
func (s *TokenSource) Cached() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tok != ""
}

// Refresh is for a 401: the server rejected the token handed out last. It
// empties the cache and calls Manager.Refresh with that token once, which
// refreshes it or adopts a different one another process or goroutine
// stored meanwhile. The new token is not cached: the next Token reads it
// from the store (lookups that raced the refresh do not cache the rejected
// token, by the generation rule).
//
// It returns "" and a nil error when no token was handed out since the
// last ErrLoginRequired answer or Forget: there is nothing to refresh, and
// a sign-in is needed. Errors are Manager.Refresh's.
func (s *TokenSource) Refresh(ctx context.Context) (string, error) {
	s.mu.Lock()
	stale := s.last
	s.invalidateLocked()
	s.mu.Unlock()
	if stale == "" {
		return "", nil
	}
	tok, err := s.m.Refresh(ctx, stale)
	if err == nil {
		c, serr := s.m.Stored(ctx)
		if serr != nil {
			c = nil
		}
		s.seen(tok, c)
	}
	// A lookup that started during the refresh may have read the rejected
	// token, and one that started before it was rejected may not have
	// cached it yet: neither caches it.
	s.Invalidate()
	return tok, err
}
