package auth

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcptray/mcptray/auth/internal/oauthtest"
)

// credentialsFile names the file stores of the tests.
const credentialsFile = "credentials.json"

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// clock is a settable test clock.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *clock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// harness wires Managers to a fake authorization server, a file store, a
// fake browser and a log buffer, and at the end checks that no secret the
// server issued or saw shows up in logs, errors or callback pages.
type harness struct {
	t       *testing.T
	srv     *oauthtest.Server
	dir     string
	store   Store
	clock   *clock
	browser *oauthtest.Browser
	logs    syncBuffer

	mu    sync.Mutex
	texts []string // error messages and pages seen
}

func newHarness(t *testing.T, opts oauthtest.Options) *harness {
	t.Helper()
	h := &harness{
		t:       t,
		srv:     oauthtest.New(t, opts),
		dir:     t.TempDir(),
		clock:   newClock(),
		browser: &oauthtest.Browser{},
	}
	h.store = NewFileStore(filepath.Join(h.dir, "credentials.json"))
	t.Cleanup(h.checkNoSecrets)
	return h
}

// config is a Manager config against the fake server; mod may change it.
func (h *harness) config(mod func(*Config)) Config {
	cfg := Config{
		ServerURL:   h.srv.ServerURL(),
		Store:       h.store,
		LockDir:     filepath.Join(h.dir, "locks"),
		OpenBrowser: h.browser.Open,
		Logger:      slog.New(slog.NewTextHandler(&h.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:         h.clock.Now,
	}
	if mod != nil {
		mod(&cfg)
	}
	return cfg
}

func (h *harness) manager(mod func(*Config)) *Manager { return NewManager(h.config(mod)) }

// note records an error's message for the secret check and returns err.
func (h *harness) note(err error) error {
	if err != nil {
		h.mu.Lock()
		h.texts = append(h.texts, err.Error())
		h.mu.Unlock()
	}
	return err
}

func (h *harness) noteText(s string) {
	h.mu.Lock()
	h.texts = append(h.texts, s)
	h.mu.Unlock()
}

// login runs a login that must succeed.
func (h *harness) login(m *Manager, opts LoginOptions) {
	h.t.Helper()
	if opts.WWWAuthenticate == "" {
		opts.WWWAuthenticate = h.srv.Challenge()
	}
	if err := h.note(m.Login(context.Background(), opts)); err != nil {
		h.t.Fatalf("Login: %v", err)
	}
}

// token gets a token that must work against the resource.
func (h *harness) token(m *Manager) string {
	h.t.Helper()
	tok, err := m.Token(context.Background())
	if h.note(err) != nil {
		h.t.Fatalf("Token: %v", err)
	}
	if !h.srv.AccessTokenValid(tok) {
		h.t.Fatalf("Token returned a token the server does not know")
	}
	return tok
}

func (h *harness) stored(m *Manager) *Credentials {
	h.t.Helper()
	c, err := m.Stored(context.Background())
	if err != nil {
		h.t.Fatalf("Stored: %v", err)
	}
	return c
}

func (h *harness) checkNoSecrets() {
	var texts []string
	h.mu.Lock()
	texts = append(texts, h.texts...)
	h.mu.Unlock()
	texts = append(texts, h.logs.String())
	for _, p := range h.browser.Pages() {
		texts = append(texts, p.Body)
	}
	for _, secret := range h.srv.Secrets() {
		for _, txt := range texts {
			if strings.Contains(txt, secret) {
				h.t.Errorf("a secret (%s…) leaked into logs, errors or pages", secret[:12])
			}
		}
	}
}

// stateOf extracts the state parameter of an authorization URL.
func stateOf(t *testing.T, authURL string) string {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("state")
}

// redirectOf extracts the redirect_uri of an authorization URL.
func redirectOf(t *testing.T, authURL string) string {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("redirect_uri")
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want errors.Is(%v)", err, target)
	}
}
