package logfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func TestRotate(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hub.log")
	l, err := Open(p, Options{MaxSize: 100, MaxBackups: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	line := strings.Repeat("x", 39) + "\n" // 40 bytes
	for i := 0; i < 10; i++ {
		if _, err := fmt.Fprint(l, line); err != nil {
			t.Fatal(err)
		}
	}
	files := Files(p, 2)
	if len(files) != 3 {
		t.Fatalf("files %v", files)
	}
	for _, f := range files {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > 100 || st.Size()%40 != 0 {
			t.Errorf("%s: %d bytes (cap 100, whole lines)", f, st.Size())
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v", f, st.Mode().Perm())
		}
	}
	if _, err := os.Stat(p + ".3"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("more backups than allowed: %v", err)
	}
	// A record bigger than the cap still goes in whole.
	big := strings.Repeat("y", 250) + "\n"
	if _, err := fmt.Fprint(l, big); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if string(b) != big {
		t.Errorf("current file %q", b)
	}
}

func TestConcurrentWrites(t *testing.T) {
	p := filepath.Join(t.TempDir(), "hub.log")
	l, err := Open(p, Options{MaxSize: 1 << 10, MaxBackups: 50})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				fmt.Fprintf(l, "goroutine %d line %03d\n", g, i)
			}
		}()
	}
	wg.Wait()
	l.Close()
	var all []byte
	for _, f := range Files(p, 50) {
		b, _ := os.ReadFile(f)
		all = append(all, b...)
	}
	if n := bytes.Count(all, []byte("\n")); n != 400 {
		t.Fatalf("%d lines, want 400", n)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(all)), "\n") {
		if !strings.HasPrefix(line, "goroutine ") || len(line) != len("goroutine 0 line 000") {
			t.Fatalf("torn line %q", line)
		}
	}
}

func TestRedact(t *testing.T) {
	for _, tc := range []struct{ in, secret string }{
		{`Authorization: Bearer abc.def-ghi`, "abc.def-ghi"},
		{`"Authorization":"Bearer s3cr3t","X":"y"`, "s3cr3t"},
		{`authorization=Basic dXNlcjpwYXNz`, "dXNlcjpwYXNz"},
		{`Cookie: session=abc123; other=zzz`, "abc123"},
		{`Set-Cookie: cross_app_jira_session=tok99; Max-Age=600`, "tok99"},
		{`Post "https://x.example/mcp?access_token=QQQ&x=1": dial tcp`, "QQQ"},
		{`GET /cb?state=s&code=AUTHCODE123 HTTP/1.1`, "AUTHCODE123"},
		{`grant_type=refresh_token&refresh_token=RT-1&client_secret=CS-2`, "RT-1"},
		{`grant_type=refresh_token&refresh_token=RT-1&client_secret=CS-2`, "CS-2"},
		{`{"access_token":"AT-3","token_type":"Bearer","refresh_token":"RT-4"}`, "AT-3"},
		{`{"access_token":"AT-3","token_type":"Bearer","refresh_token":"RT-4"}`, "RT-4"},
		{`{"code": "C-5", "client_secret": "esc\"aped"}`, "C-5"},
		{`{"code": "C-5", "client_secret": "esc\"aped"}`, `esc\"aped`},
		{`token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c`, "sflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"},
		{`proxyconnect tcp: http://user:hunter2@proxy:3128`, "hunter2"},
		{`https://mcp.example/mcp?key=K-6`, "K-6"},
		{`Authorization: sk-proj-abc123`, "sk-proj-abc123"},
		{`x-api-key=AbCdEfGhIjKlMnOpQrStUv`, "AbCdEfGhIjKlMnOpQrStUv"},
		{`"X-Api-Key": "plainwords"`, "plainwords"},
	} {
		got := Redact(tc.in)
		if strings.Contains(got, tc.secret) {
			t.Errorf("Redact(%q) = %q still has %q", tc.in, got, tc.secret)
		}
		if !strings.Contains(got, Redacted) {
			t.Errorf("Redact(%q) = %q", tc.in, got)
		}
	}
	for _, keep := range []string{
		`connect failed: 503 Service Unavailable`,
		`jsonrpc error code -32601: method not found`,
		`"authorization_servers": ["https://as.example"]`,
		`server=jira state=connected`,
		`header Authorization: environment variable GH_TOKEN is not set`,
		`the server wants an Authorization header`,
	} {
		if got := Redact(keep); got != keep {
			t.Errorf("Redact(%q) = %q, want it unchanged", keep, got)
		}
	}
}

func TestRedactHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewRedactHandler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	h := http.Header{}
	h.Set("Authorization", "Bearer HDR-SECRET")
	h.Set("Accept", "text/event-stream")
	uerr := &url.Error{Op: "Post", URL: "https://x.example/mcp?access_token=URL-SECRET", Err: errors.New("EOF")}
	log.With("server", "jira", "token", "WITH-SECRET").
		WithGroup("req").
		Info("request failed Authorization: Bearer MSG-SECRET",
			"err", uerr, "headers", h, "code", "OAUTH-CODE", "status", 401, "rpcCode", -32601,
			slog.Group("oauth", "refresh_token", "GROUP-SECRET", "client_id", "public-id"),
			"body", []byte(`{"access_token":"BODY-SECRET"}`),
			"empty_password", "")
	out := buf.String()
	for _, s := range []string{"HDR-SECRET", "URL-SECRET", "WITH-SECRET", "MSG-SECRET", "OAUTH-CODE", "GROUP-SECRET", "BODY-SECRET"} {
		if strings.Contains(out, s) {
			t.Errorf("log has %s:\n%s", s, out)
		}
	}
	for _, s := range []string{"server=jira", "req.status=401", "req.rpcCode=-32601", "public-id", "text/event-stream"} {
		if !strings.Contains(out, s) {
			t.Errorf("log lost %q:\n%s", s, out)
		}
	}
	// A redacted error still unwraps.
	var rec slog.Record
	capture := handlerFunc(func(_ context.Context, r slog.Record) error { rec = r; return nil })
	slog.New(NewRedactHandler(capture)).Info("x", "err", uerr)
	rec.Attrs(func(a slog.Attr) bool {
		if e, ok := a.Value.Any().(error); !ok || !errors.Is(e, uerr.Err) {
			t.Errorf("redacted error does not unwrap: %#v", a.Value.Any())
		}
		return true
	})
}

type handlerFunc func(context.Context, slog.Record) error

func (f handlerFunc) Enabled(context.Context, slog.Level) bool        { return true }
func (f handlerFunc) Handle(ctx context.Context, r slog.Record) error { return f(ctx, r) }
func (f handlerFunc) WithAttrs([]slog.Attr) slog.Handler              { return f }
func (f handlerFunc) WithGroup(string) slog.Handler                   { return f }

func TestMultiHandler(t *testing.T) {
	var a, b bytes.Buffer
	log := slog.New(MultiHandler{
		slog.NewTextHandler(&a, &slog.HandlerOptions{Level: slog.LevelWarn}),
		slog.NewTextHandler(&b, nil),
	}).With("server", "x")
	log.Info("info line")
	log.Warn("warn line")
	if strings.Contains(a.String(), "info line") || !strings.Contains(a.String(), "warn line") {
		t.Errorf("a: %s", a.String())
	}
	if !strings.Contains(b.String(), "info line") || !strings.Contains(b.String(), "server=x") {
		t.Errorf("b: %s", b.String())
	}
}
