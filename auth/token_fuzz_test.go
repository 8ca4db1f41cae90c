package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// FuzzTokenResponse answers a refresh (postForm, this package's parser)
// and an authorization code exchange (golang.org/x/oauth2's parser, then
// this package's expires_in and scope handling) with an arbitrary status,
// Content-Type and body from the token endpoint. Invariants: no panic; a
// success has an access token and a 2xx status, keeps the refresh token
// when none is sent, and gets an expiry that lies after the time of
// issue and a refresh time that is not already due; a failure is a
// *ServerError whose message is bounded and free of control characters
// (it goes to logs and the UI), temporary for 5xx and 429; a well-formed
// JSON success answer succeeds with its values.
func FuzzTokenResponse(f *testing.F) {
	const js = "application/json"
	seeds := []struct {
		status uint16
		ct     string
		body   string
	}{
		{200, js, `{"access_token":"at-new","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-new","scope":"mcp:read mcp:write"}`},
		{200, "application/json;charset=UTF-8", `{"access_token":"at-new","token_type":"bearer","expires_in":86400}`},
		{200, js, `{"access_token":"at-new","token_type":"Bearer","expires_in":"3600"}`}, // PayPal
		{200, js, `{"access_token":"at-new","expires_in":3600.5}`},
		{200, js, `{"access_token":"at-new","expires_in":31536000}`},
		{200, js, `{"access_token":"at-new","expires_in":2147483647}`},
		{200, js, `{"access_token":"at-new","expires_in":90}`},
		// Lifetimes past what a time.Duration holds.
		{200, js, `{"access_token":"at-new","expires_in":10000000000}`},
		{200, js, `{"access_token":"at-new","expires_in":1e300}`},
		{200, js, `{"access_token":"at-new","expires_in":"Infinity"}`},
		{200, js, `{"access_token":"at-new","expires_in":"NaN"}`},
		{200, "application/x-www-form-urlencoded", `access_token=at-new&expires_in=99999999999`},
		{200, js, `{"access_token":"at-new","expires_in":1}`},
		{200, js, `{"access_token":"at-new","expires_in":0}`},
		{200, js, `{"access_token":"at-new","expires_in":-1}`},
		{200, js, `{"access_token":"at-new","expires_in":null}`},
		{200, js, `{"access_token":"at-new","expires_in":"soon"}`},
		{200, js, `{"access_token":"at-new","expires_in":true}`},
		{200, js, `{"access_token":"at-new","scope":"   "}`},
		{200, js, `{"access_token":"at-new","scope":7}`},
		{200, js, `{"access_token":"at-new","refresh_token":""}`},
		{200, "application/x-www-form-urlencoded", `access_token=at-new&token_type=bearer&expires_in=3600&scope=a+b`},
		{200, "text/plain; charset=utf-8", `access_token=at-new&expires_in=7200&refresh_token=rt-new`},
		{200, "application/x-www-form-urlencoded", `access_token=at-new&expires_in=%20%203600`},
		{200, "application/x-www-form-urlencoded", `access_token=at-new;expires_in=3600`},
		{200, "", `{"access_token":"at-new"}`},
		{200, "text/html", `<html><body>Login</body></html>`},
		{200, js, ``},
		{200, js, `null`},
		{200, js, `[]`},
		{200, js, `{}`},
		{200, js, `{"access_token":""}`},
		{200, js, `{"access_token":123}`},
		{200, js, `{"access_token":"at-new","error":"invalid_grant"}`},
		{200, js, `{"error":"invalid_grant","error_description":"Refresh token expired"}`},
		{400, js, `{"error":"invalid_grant","error_description":"Refresh token expired"}`},
		{400, js, `{"error":"invalid_request","error_description":"line one\nline two\r\n\u0000\u001b[31m"}`},
		{400, js, `{"error":"invalid_grant","error_description":"` + strings.Repeat("é", 300) + `"}`},
		{401, js, `{"error":"invalid_client"}`},
		{400, "application/x-www-form-urlencoded", `error=unauthorized_client&error_description=%0AX-Injected%3A+1`},
		{429, "", ``},
		{500, js, `{"error":"server_error"}`},
		{503, "text/html", `<html>Service Unavailable</html>`},
		{302, "", ``},
		{204, js, ``},
	}
	for _, s := range seeds {
		f.Add(s.status, s.ct, []byte(s.body))
	}

	const tokenURL = "https://as.example/token"
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var answer struct {
		sync.Mutex
		status int
		ct     string
		body   []byte
	}
	client := &http.Client{Transport: fuzzRoundTrip(func(req *http.Request) (*http.Response, error) {
		answer.Lock()
		defer answer.Unlock()
		h := http.Header{}
		if answer.ct != "" {
			h.Set("Content-Type", answer.ct)
		}
		return &http.Response{
			StatusCode: answer.status, Header: h, Request: req,
			Body: io.NopCloser(bytes.NewReader(answer.body)),
		}, nil
	})}
	store := &fuzzMemStore{}
	m := NewManager(Config{
		ServerURL:  "https://mcp.example/mcp",
		Store:      store,
		LockDir:    f.TempDir(),
		HTTPClient: client,
		Now:        func() time.Time { return now },
	})
	base := &Credentials{
		ServerURL: "https://mcp.example/mcp", Resource: "https://mcp.example/mcp",
		TokenEndpoint: tokenURL, ClientID: "client-1", TokenEndpointAuthMethod: AuthMethodNone,
		Scopes: []string{"mcp:read"}, AccessToken: "at-old", RefreshToken: "rt-old",
		Expiry: now.Add(-time.Minute), IssuedAt: now.Add(-time.Hour),
	}
	conf := &oauth2.Config{
		ClientID: "client-1",
		Endpoint: oauth2.Endpoint{AuthURL: "https://as.example/authorize", TokenURL: tokenURL, AuthStyle: oauth2.AuthStyleInParams},
		Scopes:   []string{"mcp:read"},
	}

	f.Fuzz(func(t *testing.T, status uint16, ct string, body []byte) {
		code := int(status)
		if code < 200 || code > 599 {
			code = 200 + code%400
		}
		answer.Lock()
		answer.status, answer.ct, answer.body = code, ct, body
		answer.Unlock()
		ctx := context.Background()

		// Refresh.
		c := base.clone()
		n, err := m.refreshTokens(ctx, c)
		if !reflectEqualCreds(c, base) {
			t.Fatalf("refreshTokens changed its input: %+v", c)
		}
		if err != nil {
			checkTokenError(t, err, "refresh", code)
		} else {
			if code < 200 || code > 299 || n.AccessToken == "" {
				t.Fatalf("status %d, body %q: refresh succeeded with access token %q", code, body, n.AccessToken)
			}
			if n.RefreshToken == "" {
				t.Fatalf("body %q: the refresh token was lost", body)
			}
			checkFreshExpiry(t, "refresh", body, n, now)
		}
		if mt, _, _ := mime.ParseMediaType(ct); code >= 200 && code <= 299 && mt != "application/x-www-form-urlencoded" && mt != "text/plain" {
			var tr tokenResponse
			if json.Unmarshal(body, &tr) == nil && tr.AccessToken != "" && tr.Error == "" {
				if err != nil || n.AccessToken != tr.AccessToken {
					t.Fatalf("body %q: a well-formed answer gave %v", body, err)
				}
				if tr.RefreshToken != "" && n.RefreshToken != tr.RefreshToken {
					t.Fatalf("body %q: the rotated refresh token was not kept", body)
				}
			}
		}

		// Authorization code exchange.
		store.reset()
		b := base.clone()
		b.AccessToken, b.RefreshToken, b.Expiry, b.IssuedAt = "", "", time.Time{}, time.Time{}
		err = m.exchange(ctx, conf, "code-1", "verifier-1", b)
		saved := store.get()
		if err != nil {
			checkTokenError(t, err, "token", code)
			if saved != nil {
				t.Fatalf("a failed exchange saved credentials")
			}
			return
		}
		if saved == nil || saved.AccessToken == "" || code < 200 || code > 299 {
			t.Fatalf("status %d, body %q: exchange succeeded with %+v", code, body, saved)
		}
		checkFreshExpiry(t, "exchange", body, saved, now)
	})
}

// checkFreshExpiry: a token just obtained expires after it was issued, and
// is not already due for a refresh (that would refresh it on every use).
func checkFreshExpiry(t *testing.T, op string, body []byte, c *Credentials, now time.Time) {
	t.Helper()
	if c.Expiry.IsZero() {
		if !c.IssuedAt.IsZero() {
			t.Fatalf("%s, body %q: issued at %v without an expiry", op, body, c.IssuedAt)
		}
		return
	}
	if !c.IssuedAt.Equal(now) || !c.Expiry.After(now) || !c.RefreshAt().After(now) {
		t.Fatalf("%s, body %q: issued %v, expiry %v, refresh at %v (now %v)", op, body, c.IssuedAt, c.Expiry, c.RefreshAt(), now)
	}
}

// checkTokenError: failures are *ServerError values with a bounded
// message free of control characters, temporary for 5xx and 429.
func checkTokenError(t *testing.T, err error, op string, status int) {
	t.Helper()
	var se *ServerError
	if !errors.As(err, &se) || se.Op != op {
		t.Fatalf("%s error %T %v is not a *ServerError", op, err, err)
	}
	msg := err.Error()
	if len(msg) > 600 || strings.ContainsFunc(msg, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		t.Fatalf("%s error message of %d bytes: %q", op, len(msg), msg)
	}
	if (status >= 500 || status == http.StatusTooManyRequests) && !errors.Is(err, ErrTemporary) {
		t.Fatalf("%s: HTTP %d is not temporary: %v", op, status, err)
	}
}

func reflectEqualCreds(a, b *Credentials) bool { return reflect.DeepEqual(a, b) }

type fuzzRoundTrip func(*http.Request) (*http.Response, error)

func (f fuzzRoundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// fuzzMemStore is an in-memory Store for one key.
type fuzzMemStore struct {
	mu sync.Mutex
	c  *Credentials
}

func (s *fuzzMemStore) Load(ctx context.Context, key string) (*Credentials, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.c == nil {
		return nil, ErrNotFound
	}
	return s.c.clone(), nil
}

func (s *fuzzMemStore) Save(ctx context.Context, key string, c *Credentials) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c = c.clone()
	return nil
}

func (s *fuzzMemStore) Delete(ctx context.Context, key string) error { s.reset(); return nil }
func (s *fuzzMemStore) Name() string                                 { return "memory" }

func (s *fuzzMemStore) reset() {
	s.mu.Lock()
	s.c = nil
	s.mu.Unlock()
}

func (s *fuzzMemStore) get() *Credentials {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.c.clone()
}

func TestParseExpiresIn(t *testing.T) {
	t.Parallel()
	tests := map[string]int64{
		"3600": 3600, `"3600"`: 3600, " 3600.9 ": 3600, "0": 0, "-5": 0, "0.5": 0, "": 0, "soon": 0, "null": 0,
		"NaN": 0, "1e400": 0, "2147483647": maxExpiresIn,
		"10000000000": maxExpiresIn, "1e300": maxExpiresIn, `"Infinity"`: maxExpiresIn,
	}
	for raw, want := range tests {
		got := parseExpiresIn(raw)
		if got != want {
			t.Errorf("parseExpiresIn(%q) = %d, want %d", raw, got, want)
		}
		if now := time.Now(); got > 0 && !now.Add(time.Duration(got)*time.Second).After(now) {
			t.Errorf("parseExpiresIn(%q) = %d overflows a time.Duration", raw, got)
		}
	}
}
