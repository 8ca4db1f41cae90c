package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zalando/go-keyring"
)

func TestKey(t *testing.T) {
	t.Parallel()
	tests := []struct{ url, resource, want string }{
		{"https://MCP.Example.com/v1/sse", "", "https://mcp.example.com/v1/sse"},
		{"HTTPS://mcp.example.com:443/v1/sse/", "", "https://mcp.example.com/v1/sse"},
		{"http://mcp.example.com:80/", "", "http://mcp.example.com"},
		{"http://127.0.0.1:8080/mcp#frag", "", "http://127.0.0.1:8080/mcp"},
		{"https://mcp.example.com/mcp?tenant=A", "", "https://mcp.example.com/mcp?tenant=A"},
		{"https://user:pw@mcp.example.com/mcp", "", "https://mcp.example.com/mcp"},
		{"https://[::1]:443/mcp", "", "https://[::1]/mcp"},
		{"https://mcp.example.com/mcp", "https://mcp.example.com/mcp/", "https://mcp.example.com/mcp"},
		{"https://mcp.example.com/mcp", "https://API.example.com", "https://mcp.example.com/mcp#resource=https://api.example.com"},
		{"  not a url ", "", "not a url"},
	}
	for _, tt := range tests {
		if got := Key(tt.url, tt.resource); got != tt.want {
			t.Errorf("Key(%q, %q) = %q, want %q", tt.url, tt.resource, got, tt.want)
		}
	}
}

func sampleCreds(i int) *Credentials {
	return &Credentials{
		ServerURL: fmt.Sprintf("https://s%d.example/mcp", i), ClientID: "client", Registered: true,
		Scopes: []string{"a", "b"}, AccessToken: fmt.Sprintf("SECRET-at-%d", i), RefreshToken: "SECRET-rt",
		Expiry: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
	}
}

// storeContract exercises any Store.
func storeContract(t *testing.T, s Store) {
	t.Helper()
	ctx := context.Background()
	_, err := s.Load(ctx, "https://none.example")
	wantIs(t, err, ErrNotFound)
	must(t, s.Delete(ctx, "https://none.example"))
	want := sampleCreds(1)
	must(t, s.Save(ctx, "k1", want))
	got, err := s.Load(ctx, "k1")
	must(t, err)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
	want.AccessToken = "SECRET-changed"
	must(t, s.Save(ctx, "k1", want))
	if got, _ := s.Load(ctx, "k1"); got == nil || got.AccessToken != "SECRET-changed" {
		t.Fatal("overwrite lost")
	}
	must(t, s.Delete(ctx, "k1"))
	_, err = s.Load(ctx, "k1")
	wantIs(t, err, ErrNotFound)
}

func TestFileStore(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "state")
	path := filepath.Join(dir, "credentials.json")
	s := NewFileStore(path)
	storeContract(t, s)
	must(t, s.Save(context.Background(), "k", sampleCreds(2)))
	if runtime.GOOS != "windows" {
		for p, want := range map[string]os.FileMode{path: 0o600, dir: 0o700} {
			fi, err := os.Stat(p)
			must(t, err)
			if fi.Mode().Perm() != want {
				t.Errorf("%s has mode %v, want %v", p, fi.Mode().Perm(), want)
			}
		}
	}
	// A corrupt file is an error that names the file, not its content.
	must(t, os.WriteFile(path, []byte(`{"servers": SECRET-x`), 0o600))
	_, err := s.Load(context.Background(), "k")
	if err == nil || strings.Contains(err.Error(), "SECRET") || !strings.Contains(err.Error(), path) {
		t.Fatalf("Load of a corrupt file = %v", err)
	}
}

// TestFileStoreConcurrentWriters: writers with their own handles (as in
// separate processes) never lose each other's entries.
func TestFileStoreConcurrentWriters(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "credentials.json")
	var wg sync.WaitGroup
	const writers, each = 6, 10
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := NewFileStore(path)
			for i := range each {
				if err := s.Save(context.Background(), fmt.Sprintf("w%d-%d", w, i), sampleCreds(i)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b, err := os.ReadFile(path)
	must(t, err)
	var f fileFormat
	must(t, json.Unmarshal(b, &f))
	if len(f.Servers) != writers*each {
		t.Fatalf("%d entries, want %d", len(f.Servers), writers*each)
	}
	ents, err := os.ReadDir(filepath.Dir(path))
	must(t, err)
	for _, e := range ents {
		if n := e.Name(); n != filepath.Base(path) && n != filepath.Base(path)+".lock" {
			t.Errorf("temporary file left: %s", n)
		}
	}
}

// memKeyring is an in-memory keychain; block makes calls hang.
type memKeyring struct {
	mu    sync.Mutex
	m     map[string]string
	max   int
	block chan struct{}
}

func (k *memKeyring) wait() {
	if k.block != nil {
		<-k.block
	}
}

func (k *memKeyring) Set(service, user, pass string) error {
	k.wait()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.max > 0 && len(pass) > k.max {
		return errors.New("data passed to Set was too big")
	}
	k.m[service+"\x00"+user] = pass
	return nil
}

func (k *memKeyring) Get(service, user string) (string, error) {
	k.wait()
	k.mu.Lock()
	defer k.mu.Unlock()
	v, ok := k.m[service+"\x00"+user]
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

func (k *memKeyring) Delete(service, user string) error {
	k.wait()
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.m[service+"\x00"+user]; !ok {
		return keyring.ErrNotFound
	}
	delete(k.m, service+"\x00"+user)
	return nil
}

func (k *memKeyring) len() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.m)
}

func memKeyringStore(timeout time.Duration) (*KeyringStore, *memKeyring) {
	k := &memKeyring{m: map[string]string{}, max: 2560} // the Windows limit
	s := NewKeyringStore(KeyringOptions{Timeout: timeout})
	s.backend = k
	return s, k
}

func TestKeyringStoreChunking(t *testing.T) {
	t.Parallel()
	s, k := memKeyringStore(0)
	storeContract(t, s)
	ctx := context.Background()
	big := sampleCreds(1)
	big.AccessToken = "SECRET-" + strings.Repeat("x", 10<<10) // a 10 KB JWT
	must(t, s.Save(ctx, "big", big))
	if n := k.len(); n < 7 {
		t.Fatalf("%d entries for a 10 KB value, want a header and chunks", n)
	}
	got, err := s.Load(ctx, "big")
	must(t, err)
	if got.AccessToken != big.AccessToken {
		t.Fatal("chunked value did not round-trip")
	}
	// Shrinking removes the old chunks.
	must(t, s.Save(ctx, "big", sampleCreds(2)))
	if n := k.len(); n != 1 {
		t.Fatalf("%d entries after shrinking, want 1", n)
	}
	must(t, s.Save(ctx, "big", big))
	must(t, s.Delete(ctx, "big"))
	if n := k.len(); n != 0 {
		t.Fatalf("%d entries after Delete, want 0", n)
	}
	// Long keys are hashed into the account name.
	long := "https://example.com/" + strings.Repeat("p", 500)
	must(t, s.Save(ctx, long, big))
	if got, err := s.Load(ctx, long); err != nil || got.AccessToken != big.AccessToken {
		t.Fatalf("long key: %v", err)
	}
}

func TestKeyringStoreTimeout(t *testing.T) {
	t.Parallel()
	s, k := memKeyringStore(50 * time.Millisecond)
	k.block = make(chan struct{})
	defer close(k.block)
	ctx := context.Background()
	_, err := s.Load(ctx, "k")
	wantIs(t, err, ErrKeyringTimeout)
	if !strings.Contains(err.Error(), "did not answer within 50ms") || !strings.Contains(err.Error(), "locked or prompting") {
		t.Fatalf("message: %v", err)
	}
	// The first call is still stuck: later calls time out as well instead
	// of piling up goroutines.
	err = s.Save(ctx, "k", sampleCreds(1))
	wantIs(t, err, ErrKeyringTimeout)
	// The context ends the wait too.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.Load(cctx, "k")
	wantIs(t, err, context.Canceled)
}

func TestOpenStoreModes(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	s, warning, err := OpenStore(context.Background(), StoreFile, filepath.Join(home, credentialsFile), KeyringOptions{})
	must(t, err)
	if fs, ok := s.(*FileStore); !ok || fs.Path() != filepath.Join(home, credentialsFile) || warning != "" {
		t.Fatalf("file mode: %T %q", s, warning)
	}
	if _, _, err := OpenStore(context.Background(), "vault", filepath.Join(home, credentialsFile), KeyringOptions{}); err == nil {
		t.Fatal("unknown mode accepted")
	}
}

func TestParseBearerChallenge(t *testing.T) {
	t.Parallel()
	tests := []struct {
		header string
		ok     bool
		want   BearerChallenge
	}{
		{`Bearer resource_metadata="https://x/.well-known/oauth-protected-resource/mcp", scope="a b"`, true,
			BearerChallenge{ResourceMetadata: "https://x/.well-known/oauth-protected-resource/mcp", Scope: []string{"a", "b"}}},
		{`Bearer error="insufficient_scope", scope="mcp:basic mcp:write", error_description="need \"write\""`, true,
			BearerChallenge{Error: "insufficient_scope", Scope: []string{"mcp:basic", "mcp:write"}, ErrorDescription: `need "write"`}},
		{`Basic realm="x", Bearer realm="mcp",error=invalid_token`, true, BearerChallenge{Realm: "mcp", Error: "invalid_token"}},
		{`Negotiate abc==, bearer`, true, BearerChallenge{}},
		{`Basic realm="x"`, false, BearerChallenge{}},
		{``, false, BearerChallenge{}},
		{`Bearer scope="unterminated`, true, BearerChallenge{Scope: []string{"unterminated"}}},
	}
	for _, tt := range tests {
		got, ok := ParseBearerChallenge(tt.header)
		if ok != tt.ok || fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("ParseBearerChallenge(%q) = %+v, %v; want %+v, %v", tt.header, got, ok, tt.want, tt.ok)
		}
	}
}

func TestChooseAuthMethod(t *testing.T) {
	t.Parallel()
	tests := []struct {
		registered, secret string
		supported          []string
		want               string
	}{
		{"", "", nil, AuthMethodNone},
		{"", "s", nil, AuthMethodClientSecretBasic},
		{"", "s", []string{AuthMethodClientSecretPost}, AuthMethodClientSecretPost},
		{"", "s", []string{AuthMethodClientSecretPost, AuthMethodClientSecretBasic}, AuthMethodClientSecretBasic},
		{AuthMethodClientSecretPost, "s", nil, AuthMethodClientSecretPost},
		{AuthMethodClientSecretBasic, "", nil, AuthMethodNone},
		{AuthMethodNone, "s", nil, AuthMethodNone},
		{"private_key_jwt", "s", []string{"private_key_jwt", AuthMethodClientSecretPost}, AuthMethodClientSecretPost},
	}
	for _, tt := range tests {
		if got := chooseAuthMethod(tt.registered, tt.secret, tt.supported); got != tt.want {
			t.Errorf("chooseAuthMethod(%q, secret %v, %v) = %q, want %q", tt.registered, tt.secret != "", tt.supported, got, tt.want)
		}
	}
}
