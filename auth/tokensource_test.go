package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"
)

// gateStore is an in-memory Store for one key that counts loads and can
// hold one Load after it has read the credentials, until the test
// releases it: a lookup that is slow in the keychain, at a moment the test
// chooses.
type gateStore struct {
	mu    sync.Mutex
	c     *Credentials
	fail  error
	loads int
	hold  chan struct{} // the next Load waits for it to be closed
	held  chan struct{} // closed when that Load has read and waits
}

func (s *gateStore) Load(ctx context.Context, key string) (*Credentials, error) {
	s.mu.Lock()
	s.loads++
	c, fail, hold, held := s.c.clone(), s.fail, s.hold, s.held
	s.hold, s.held = nil, nil
	s.mu.Unlock()
	if hold != nil {
		close(held)
		<-hold
	}
	if fail != nil {
		return nil, fail
	}
	if c == nil {
		return nil, ErrNotFound
	}
	return c, nil
}

func (s *gateStore) Save(ctx context.Context, key string, c *Credentials) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c = c.clone()
	return nil
}

func (s *gateStore) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.c = nil
	return nil
}

func (s *gateStore) Name() string { return "gate" }

// set stores an access token (and no refresh token) expiring at exp.
func (s *gateStore) set(tok string, exp time.Time) {
	_ = s.Save(context.Background(), "", &Credentials{AccessToken: tok, Expiry: exp})
}

func (s *gateStore) setFail(err error) {
	s.mu.Lock()
	s.fail = err
	s.mu.Unlock()
}

func (s *gateStore) loadCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads
}

// holdNext makes the next Load wait, after reading, until release is
// called; held is closed once it waits.
func (s *gateStore) holdNext() (held <-chan struct{}, release func()) {
	hold, h := make(chan struct{}), make(chan struct{})
	s.mu.Lock()
	s.hold, s.held = hold, h
	s.mu.Unlock()
	return h, func() { close(hold) }
}

func newTokenSourceTest(t *testing.T) (*gateStore, *clock, *Manager) {
	t.Helper()
	st, clk := &gateStore{}, newClock()
	m := NewManager(Config{ServerURL: "https://mcp.example.com/mcp", Store: st, LockDir: t.TempDir(), Now: clk.Now})
	return st, clk, m
}

func wantToken(t *testing.T, ts *TokenSource, want string) {
	t.Helper()
	got, err := ts.Token(context.Background())
	if err != nil || got != want {
		t.Fatalf("Token = %q, %v; want %q", got, err, want)
	}
}

func TestTokenSourceCaches(t *testing.T) {
	t.Parallel()
	st, clk, m := newTokenSourceTest(t)
	var mu sync.Mutex
	var seen []string
	ts := NewTokenSource(m, func(tok string, c *Credentials) {
		mu.Lock()
		defer mu.Unlock()
		if c == nil || c.AccessToken != tok {
			t.Errorf("seen(%q) without its credentials: %+v", tok, c)
		}
		seen = append(seen, tok)
	})
	if ts.Manager() != m {
		t.Fatal("Manager() is not the Manager given")
	}

	// A known expiry: cached until the token is due for a refresh.
	st.set("tok-a", clk.Now().Add(time.Hour))
	wantToken(t, ts, "tok-a")
	n := st.loadCount()
	st.set("tok-b", clk.Now().Add(2*time.Hour)) // rotated by someone else
	clk.Advance(time.Hour - ExpiryMargin - time.Second)
	wantToken(t, ts, "tok-a")
	if got := st.loadCount(); got != n {
		t.Fatalf("a cached token read the store %d times", got-n)
	}
	if !ts.Cached() {
		t.Fatal("Cached() = false with a token cached")
	}
	clk.Advance(time.Second)
	wantToken(t, ts, "tok-b") // tok-a is due: the store has tok-b

	// No known expiry: asked again after tokenRecheck.
	st.set("tok-c", time.Time{})
	ts.Invalidate()
	if ts.Cached() {
		t.Fatal("Cached() = true after Invalidate")
	}
	wantToken(t, ts, "tok-c")
	st.set("tok-d", time.Time{})
	clk.Advance(tokenRecheck - time.Second)
	wantToken(t, ts, "tok-c")
	clk.Advance(time.Second)
	wantToken(t, ts, "tok-d")

	mu.Lock()
	defer mu.Unlock()
	if want := []string{"tok-a", "tok-b", "tok-c", "tok-d"}; !slices.Equal(seen, want) {
		t.Fatalf("seen %q, want %q (once each, cached ones not again)", seen, want)
	}
}

func TestTokenSourceNoTokenMemo(t *testing.T) {
	t.Parallel()
	st, clk, m := newTokenSourceTest(t)
	ts := NewTokenSource(m, nil)

	wantToken(t, ts, "") // nothing stored: no token, no error
	n := st.loadCount()
	st.set("tok-a", clk.Now().Add(time.Hour)) // a sign-in elsewhere
	clk.Advance(NoTokenRecheck - time.Second)
	for range 3 {
		wantToken(t, ts, "")
	}
	if got := st.loadCount(); got != n {
		t.Fatalf("the remembered absence of a token read the store %d times", got-n)
	}
	if ts.Cached() {
		t.Fatal("Cached() = true without a token")
	}
	clk.Advance(time.Second)
	wantToken(t, ts, "tok-a") // believed for NoTokenRecheck only

	// Invalidate (a sign-in here) ends the memo at once.
	_ = st.Delete(context.Background(), "")
	ts.Invalidate()
	wantToken(t, ts, "")
	st.set("tok-b", clk.Now().Add(time.Hour))
	ts.Invalidate()
	wantToken(t, ts, "tok-b")

	// An expired token without a refresh token is no token either.
	st.set("tok-c", clk.Now().Add(-time.Minute))
	ts.Invalidate()
	wantToken(t, ts, "")
	if tok, err := ts.Refresh(context.Background()); tok != "" || err != nil {
		t.Fatalf("Refresh after no token = %q, %v; want nothing to refresh", tok, err)
	}
}

func TestTokenSourceStoreFailureNotCached(t *testing.T) {
	t.Parallel()
	st, clk, m := newTokenSourceTest(t)
	ts := NewTokenSource(m, nil)
	st.set("tok-a", clk.Now().Add(time.Hour))
	locked := errors.New("the keychain is locked")
	st.setFail(locked)
	for i := range 2 {
		if tok, err := ts.Token(context.Background()); tok != "" || !errors.Is(err, locked) {
			t.Fatalf("Token = %q, %v; want the store's error", tok, err)
		}
		if got := st.loadCount(); got != i+1 {
			t.Fatalf("%d loads after %d failed lookups: a failure was cached", got, i+1)
		}
	}
	st.setFail(nil)
	wantToken(t, ts, "tok-a")
}

// TestTokenSourceGenerationRule reproduces the race fixed in the hub (seen
// under load in TestOAuthE2E): a lookup reads the token from the store,
// the server rejects that token meanwhile and the cache is invalidated,
// then the lookup ends. It must not cache the rejected token, or the
// retried connect sends it again.
func TestTokenSourceGenerationRule(t *testing.T) {
	t.Parallel()
	st, clk, m := newTokenSourceTest(t)
	ts := NewTokenSource(m, nil)
	st.set("tok-old", clk.Now().Add(time.Hour))

	held, release := st.holdNext()
	got := make(chan string)
	go func() {
		tok, err := ts.Token(context.Background())
		if err != nil {
			t.Errorf("Token: %v", err)
		}
		got <- tok
	}()
	<-held // the lookup has read tok-old
	ts.Invalidate()
	st.set("tok-new", clk.Now().Add(time.Hour)) // refreshed
	release()
	if tok := <-got; tok != "tok-old" {
		t.Fatalf("the racing lookup got %q, want what it read (tok-old)", tok)
	}
	if ts.Cached() {
		t.Fatal("the lookup that raced Invalidate cached its result")
	}
	wantToken(t, ts, "tok-new")
	wantToken(t, ts, "tok-new")

	// The same for the no-token answer: one that started before a sign-in
	// (Invalidate) is not remembered for NoTokenRecheck.
	_ = st.Delete(context.Background(), "")
	ts.Invalidate()
	held, release = st.holdNext()
	go func() {
		tok, _ := ts.Token(context.Background())
		got <- tok
	}()
	<-held
	st.set("tok-signed-in", clk.Now().Add(time.Hour))
	ts.Invalidate()
	release()
	if tok := <-got; tok != "" {
		t.Fatalf("the racing lookup got %q, want no token", tok)
	}
	wantToken(t, ts, "tok-signed-in")
}

// TestTokenSourceRefreshRace is the hub's 401 path: a lookup holds the
// rejected token while Refresh adopts the token another process rotated.
func TestTokenSourceRefreshRace(t *testing.T) {
	t.Parallel()
	st, clk, m := newTokenSourceTest(t)
	var mu sync.Mutex
	var seen []string
	ts := NewTokenSource(m, func(tok string, _ *Credentials) {
		mu.Lock()
		seen = append(seen, tok)
		mu.Unlock()
	})
	st.set("tok-old", clk.Now().Add(time.Hour))
	wantToken(t, ts, "tok-old") // sent, and rejected with a 401

	ts.Invalidate() // the 401 on a request
	held, release := st.holdNext()
	got := make(chan string)
	go func() {
		tok, _ := ts.Token(context.Background())
		got <- tok
	}()
	<-held                                      // a request looked up tok-old again
	st.set("tok-new", clk.Now().Add(time.Hour)) // another process refreshed
	tok, err := ts.Refresh(context.Background())
	if err != nil || tok != "tok-new" {
		t.Fatalf("Refresh = %q, %v; want the adopted tok-new", tok, err)
	}
	release()
	if tok := <-got; tok != "tok-old" {
		t.Fatalf("the racing lookup got %q", tok)
	}
	wantToken(t, ts, "tok-new")

	mu.Lock()
	if want := []string{"tok-old", "tok-new", "tok-old", "tok-new"}; !slices.Equal(seen, want) {
		t.Errorf("seen %q, want %q", seen, want)
	}
	mu.Unlock()

	// After Forget (a sign-out) there is nothing to refresh, and the store
	// is not asked.
	ts.Forget()
	n := st.loadCount()
	if tok, err := ts.Refresh(context.Background()); tok != "" || err != nil {
		t.Fatalf("Refresh after Forget = %q, %v", tok, err)
	}
	if st.loadCount() != n {
		t.Fatal("Refresh after Forget read the store")
	}

	// A rejected token that the store still holds, with no refresh token:
	// a sign-in is needed.
	wantToken(t, ts, "tok-new")
	if _, err := ts.Refresh(context.Background()); !errors.Is(err, ErrLoginRequired) {
		t.Fatalf("Refresh of the stored token without a refresh token: %v", err)
	}
}

// TestTokenSourceConcurrent runs every method at once (for -race) while
// the store rotates tokens, and checks that once the rotations and
// invalidations stop, the source serves the stored token.
func TestTokenSourceConcurrent(t *testing.T) {
	t.Parallel()
	st, clk, m := newTokenSourceTest(t)
	issued := sync.Map{}
	ts := NewTokenSource(m, func(tok string, _ *Credentials) {
		if _, ok := issued.Load(tok); !ok {
			t.Errorf("seen a token never stored: %q", tok)
		}
	})
	store := func(i int) string {
		tok := fmt.Sprintf("tok-%03d", i)
		issued.Store(tok, true)
		st.set(tok, clk.Now().Add(time.Hour))
		return tok
	}
	store(0)
	ctx := context.Background()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				switch (g + i) % 5 {
				case 0, 1:
					tok, err := ts.Token(ctx)
					if err != nil {
						t.Errorf("Token: %v", err)
					} else if _, ok := issued.Load(tok); !ok {
						t.Errorf("Token = %q, never stored", tok)
					}
				case 2:
					ts.Invalidate()
				case 3:
					if tok, _ := ts.Refresh(ctx); tok != "" {
						if _, ok := issued.Load(tok); !ok {
							t.Errorf("Refresh = %q, never stored", tok)
						}
					}
					_ = ts.Cached()
				case 4:
					if g == 0 {
						ts.Forget()
					}
				}
			}
		})
	}
	wg.Go(func() {
		for i := 1; i <= 50; i++ {
			store(i)
			ts.Invalidate()
		}
	})
	wg.Wait()
	last := store(51)
	ts.Invalidate()
	wantToken(t, ts, last)
	wantToken(t, ts, last)
}
