package auth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mcptray/mcptray/auth/internal/oauthtest"
)

const hour = time.Hour

func TestTokenWithoutCredentials(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthtest.Options{})
	_, err := h.manager(nil).Token(context.Background())
	wantIs(t, h.note(err), ErrLoginRequired)
	_, err = h.manager(nil).Refresh(context.Background(), "")
	wantIs(t, h.note(err), ErrLoginRequired)
}

func TestTokenRefreshesBeforeExpiry(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthtest.Options{})
	m := h.manager(nil)
	h.login(m, LoginOptions{})
	first := h.token(m)
	oldRT := h.stored(m).RefreshToken

	h.clock.Advance(hour - 2*ExpiryMargin)
	if tok := h.token(m); tok != first || h.srv.CountGrant("refresh_token") != 0 {
		t.Fatal("refreshed a token that is not expiring yet")
	}
	h.clock.Advance(ExpiryMargin + time.Second) // now within the margin
	second := h.token(m)
	if second == first || h.srv.CountGrant("refresh_token") != 1 {
		t.Fatalf("no refresh within the expiry margin")
	}
	c := h.stored(m)
	if c.RefreshToken == oldRT || c.RefreshToken == "" {
		t.Fatal("the rotated refresh token was not stored")
	}
	if !c.Expiry.Equal(h.clock.Now().Add(hour)) {
		t.Fatalf("expiry %v, want now+1h", c.Expiry)
	}
	for _, r := range h.srv.TokenRequests() {
		if r.Form.Get("grant_type") == "refresh_token" && r.Form.Get("resource") != h.srv.ServerURL() {
			t.Fatalf("refresh without the resource indicator: %q", r.Form.Get("resource"))
		}
	}
}

// TestRefreshAdoptsTokenRotatedElsewhere simulates two processes: two
// Managers with their own store handles on one credentials file and one
// lock directory.
func TestRefreshAdoptsTokenRotatedElsewhere(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthtest.Options{})
	path := filepath.Join(h.dir, "shared.json")
	other := func(c *Config) { c.Store = NewFileStore(path) }
	m1, m2 := h.manager(other), h.manager(other)
	h.login(m1, LoginOptions{})
	stale := h.token(m2)

	h.clock.Advance(2 * hour)
	fresh := h.token(m1) // process 1 refreshes and rotates
	if got := h.token(m2); got != fresh {
		t.Fatal("process 2 did not adopt the rotated token")
	}
	if n := h.srv.CountGrant("refresh_token"); n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
	// Process 2 got a 401 for its old token: the newer stored one is
	// adopted without another refresh.
	got, err := m2.Refresh(context.Background(), stale)
	if h.note(err) != nil || got != fresh || h.srv.CountGrant("refresh_token") != 1 {
		t.Fatalf("Refresh(stale) = %v, refreshes %d", err, h.srv.CountGrant("refresh_token"))
	}
	// A 401 for the current token refreshes once.
	got, err = m2.Refresh(context.Background(), fresh)
	if h.note(err) != nil || got == fresh || h.srv.CountGrant("refresh_token") != 2 {
		t.Fatalf("Refresh(current) = %v, refreshes %d", err, h.srv.CountGrant("refresh_token"))
	}
}

func TestConcurrentRefreshRefreshesOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthtest.Options{})
	path := filepath.Join(h.dir, "shared.json")
	var ms []*Manager
	for range 4 {
		ms = append(ms, h.manager(func(c *Config) { c.Store = NewFileStore(path) }))
	}
	h.login(ms[0], LoginOptions{})
	h.clock.Advance(2 * hour)
	var wg sync.WaitGroup
	toks := make([]string, 2*len(ms))
	errs := make([]error, len(toks))
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			toks[i], errs[i] = ms[i%len(ms)].Token(context.Background())
		}()
	}
	wg.Wait()
	for i := range toks {
		if h.note(errs[i]) != nil || toks[i] != toks[0] {
			t.Fatalf("caller %d: %v (same token: %v)", i, errs[i], toks[i] == toks[0])
		}
	}
	if n := h.srv.CountGrant("refresh_token"); n != 1 {
		t.Fatalf("%d refreshes, want 1", n)
	}
}

func TestRefreshInvalidGrant(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthtest.Options{})
	m := h.manager(nil)
	h.login(m, LoginOptions{})
	h.srv.RevokeAllRefreshTokens()
	h.clock.Advance(2 * hour)
	_, err := m.Token(context.Background())
	wantIs(t, h.note(err), ErrLoginRequired)
	c := h.stored(m)
	if c.AccessToken != "" || c.RefreshToken != "" || c.ClientID == "" {
		t.Fatalf("tokens not cleared or registration lost (client %q)", c.ClientID)
	}
	_, err = m.Token(context.Background())
	wantIs(t, h.note(err), ErrLoginRequired)
	if n := h.srv.CountGrant("refresh_token"); n != 1 {
		t.Fatalf("%d refresh attempts, want 1", n)
	}
	h.login(m, LoginOptions{}) // a new login works with the same registration
	h.token(m)
	if n := len(h.srv.Registrations()); n != 1 {
		t.Fatalf("%d registrations", n)
	}
}

func TestRefreshServerTrouble(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
		code   string
	}{
		{"503", http.StatusServiceUnavailable, ""},
		{"500 server_error", http.StatusInternalServerError, "server_error"},
		{"429", http.StatusTooManyRequests, ""},
		{"400 temporarily_unavailable", http.StatusBadRequest, "temporarily_unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, oauthtest.Options{})
			m := h.manager(nil)
			h.login(m, LoginOptions{})
			before := h.stored(m)
			h.clock.Advance(2 * hour)
			h.srv.FailToken(tt.status, tt.code)
			_, err := m.Token(context.Background())
			wantIs(t, h.note(err), ErrTemporary)
			if errors.Is(err, ErrLoginRequired) || errors.Is(err, ErrInvalidClient) {
				t.Fatalf("a temporary failure looks like a logout: %v", err)
			}
			if c := h.stored(m); c.RefreshToken != before.RefreshToken || c.ClientID != before.ClientID {
				t.Fatal("credentials changed after a temporary failure")
			}
			h.token(m) // the server is back
		})
	}
	t.Run("network", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthtest.Options{SeparateAS: true})
		m := h.manager(nil)
		h.login(m, LoginOptions{})
		h.srv.AS.Close()
		h.clock.Advance(2 * hour)
		_, err := m.Token(context.Background())
		wantIs(t, h.note(err), ErrTemporary)
		if h.stored(m).RefreshToken == "" {
			t.Fatal("refresh token dropped after a network failure")
		}
	})
	t.Run("canceled is not temporary", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthtest.Options{})
		m := h.manager(nil)
		h.login(m, LoginOptions{})
		h.clock.Advance(2 * hour)
		ctx, cancel := context.WithCancel(context.Background())
		returned := make(chan struct{})
		h.srv.BeforeToken(func(url.Values) {
			cancel()
			// Answer only once the client gave up: a response racing the
			// cancellation could otherwise win.
			select {
			case <-returned:
			case <-time.After(10 * time.Second):
			}
		})
		_, err := m.Token(ctx)
		close(returned)
		if h.note(err) == nil || errors.Is(err, ErrTemporary) {
			t.Fatalf("Token = %v, want a non-temporary cancellation", err)
		}
	})
}

func TestLogout(t *testing.T) {
	t.Parallel()
	t.Run("revokes", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthtest.Options{AuthMethods: []string{AuthMethodClientSecretPost}})
		m := h.manager(nil)
		h.login(m, LoginOptions{})
		tok := h.token(m)
		must(t, h.note(m.Logout(context.Background())))
		if got := h.srv.Revocations(); len(got) != 2 || got[0] != "refresh_token" || got[1] != "access_token" {
			t.Fatalf("revocations = %v", got)
		}
		if h.srv.AccessTokenValid(tok) {
			t.Fatal("the access token still works")
		}
		_, err := m.Stored(context.Background())
		wantIs(t, err, ErrNotFound)
		must(t, m.Logout(context.Background())) // nothing stored: fine
	})
	t.Run("no revocation endpoint", func(t *testing.T) {
		t.Parallel()
		h := newHarness(t, oauthtest.Options{NoRevocation: true})
		m := h.manager(nil)
		h.login(m, LoginOptions{})
		must(t, h.note(m.Logout(context.Background())))
		if n := len(h.srv.Revocations()); n != 0 {
			t.Fatalf("%d revocations", n)
		}
		_, err := m.Token(context.Background())
		wantIs(t, h.note(err), ErrLoginRequired)
	})
}
