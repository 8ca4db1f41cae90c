package auth

import (
	"testing"
	"time"

	"github.com/mcptray/mcptray/auth/internal/oauthtest"
)

// A token that lives less than twice ExpiryMargin is refreshed half-way
// through its life, not on every use (with a plain margin a 15 s token
// would always count as expiring).
func TestShortLivedTokenRefreshedHalfWay(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthtest.Options{AccessTTL: 15})
	m := h.manager(nil)
	h.login(m, LoginOptions{})
	first := h.token(m)
	if c := h.stored(m); !c.RefreshAt().Equal(c.Expiry.Add(-7500 * time.Millisecond)) {
		t.Fatalf("refresh due %v, expiry %v: want 7.5 s before", c.RefreshAt(), c.Expiry)
	}
	h.clock.Advance(7 * time.Second)
	if tok := h.token(m); tok != first || h.srv.CountGrant("refresh_token") != 0 {
		t.Fatal("refreshed a 15 s token 7 s into its life")
	}
	h.clock.Advance(time.Second)
	second := h.token(m)
	if second == first || h.srv.CountGrant("refresh_token") != 1 {
		t.Fatal("no refresh past half the token's life")
	}
	if tok := h.token(m); tok != second || h.srv.CountGrant("refresh_token") != 1 {
		t.Fatal("the fresh token was refreshed again")
	}
}

func TestRefreshAt(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		c      Credentials
		margin time.Duration // before Expiry; -1: zero time
	}{
		{"no expiry", Credentials{}, -1},
		{"an hour", Credentials{IssuedAt: now, Expiry: now.Add(time.Hour)}, ExpiryMargin},
		{"two margins", Credentials{IssuedAt: now, Expiry: now.Add(2 * ExpiryMargin)}, ExpiryMargin},
		{"30 s", Credentials{IssuedAt: now, Expiry: now.Add(30 * time.Second)}, 15 * time.Second},
		{"issue time unknown", Credentials{Expiry: now.Add(30 * time.Second)}, ExpiryMargin},
	} {
		got := tc.c.RefreshAt()
		if tc.margin < 0 {
			if !got.IsZero() {
				t.Errorf("%s: %v, want zero", tc.name, got)
			}
			continue
		}
		if want := tc.c.Expiry.Add(-tc.margin); !got.Equal(want) {
			t.Errorf("%s: %v, want %v", tc.name, got, want)
		}
	}
}
