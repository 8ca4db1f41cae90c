package logfile

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// bothMatchers runs f with a set that searches value by value and one
// that has so many values that it looks positions up by prefix.
func bothMatchers(t *testing.T, f func(t *testing.T, s *Secrets)) {
	for _, pad := range []int{0, 2 * indexMax} {
		t.Run(fmt.Sprintf("pad%d", pad), func(t *testing.T) {
			s := NewSecrets()
			for i := 0; i < pad; i++ {
				s.AddToken(fmt.Sprintf("filler-%08d", i))
			}
			f(t, s)
		})
	}
}

func TestSecretsScrub(t *testing.T) { bothMatchers(t, testSecretsScrub) }

func testSecretsScrub(t *testing.T, s *Secrets) {
	n0 := s.Len()
	const a = "s3cr3t-AAAAAAAAAAAA"
	s.Add(a, "json", "short7x", "") // short values are ignored
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"no secret here, json", "no secret here, json"},
		{"short7x stays", "short7x stays"},
		{"got " + a + " twice " + a, "got " + Redacted + " twice " + Redacted},
		{a, Redacted},
		{"x" + a + "y", "x" + Redacted + "y"},
	} {
		if got := s.Scrub(tc.in); got != tc.want {
			t.Errorf("Scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if n := s.Len() - n0; n != 1 {
		t.Errorf("Len = %d, want 1 (short values ignored)", n)
	}
	var nilSet *Secrets
	nilSet.Add(a)
	if got := nilSet.Scrub(a); got != a {
		t.Errorf("nil set scrubbed: %q", got)
	}
}

func TestSecretsOverlapping(t *testing.T) { bothMatchers(t, testSecretsOverlapping) }

func testSecretsOverlapping(t *testing.T, s *Secrets) {
	// b starts inside a, c inside b; d contains e.
	const a, b, c = "abcdefgh1234", "1234ijklmnop", "mnopqrstuvwx"
	const d, e = "Token 0123456789abcdef", "0123456789abcdef"
	s.Add(a, b, c, d, e)
	for _, tc := range []struct{ in, want string }{
		{"[abcdefgh1234ijklmnopqrstuvwx]", "[" + Redacted + "]"},
		{"1234ijklmnopqrstuvwx!", Redacted + "!"},
		{a + b, Redacted}, // adjacent: one
		{"h: Token 0123456789abcdef.", "h: " + Redacted + "."},
		{"bare 0123456789abcdef.", "bare " + Redacted + "."},
	} {
		got := s.Scrub(tc.in)
		if got != tc.want {
			t.Errorf("Scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
		for _, v := range []string{a, b, c, "ijkl", "qrst", "0123"} {
			if strings.Contains(got, v) {
				t.Errorf("Scrub(%q) = %q still shows %q", tc.in, got, v)
			}
		}
	}
}

func TestSecretsEncodings(t *testing.T) { bothMatchers(t, testSecretsEncodings) }

func testSecretsEncodings(t *testing.T, s *Secrets) {
	const v = `p&ss<w0rd> "q"/x y+z`
	s.Add(v)
	jsonEsc := `p\u0026ss\u003cw0rd\u003e \"q\"/x y+z`
	for _, in := range []string{
		v,
		`{"err":"` + jsonEsc + `"}`,
		`{"err":"p&ss<w0rd> \"q\"/x y+z"}`,
		fmt.Sprintf("%q", v),
		"https://x/?k=" + url.QueryEscape(v),
		"https://x/" + url.PathEscape(v),
	} {
		got := s.Scrub(in)
		if !strings.Contains(got, Redacted) || strings.Contains(got, "w0rd") {
			t.Errorf("Scrub(%q) = %q", in, got)
		}
	}
}

func TestSecretsTruncatedTail(t *testing.T) { bothMatchers(t, testSecretsTruncatedTail) }

func testSecretsTruncatedTail(t *testing.T, s *Secrets) {
	const v = "tok_9f8e7d6c5b4a39281706"
	s.Add(v)
	in := "upstream answered HTTP 500: auth=" + v[:11] + "…"
	if got, want := s.Scrub(in), "upstream answered HTTP 500: auth="+Redacted+"…"; got != want {
		t.Errorf("Scrub(%q) = %q, want %q", in, got, want)
	}
	// Not cut short: a text merely ending like a secret's beginning stays.
	in = "auth=" + v[:11]
	if got := s.Scrub(in); got != in {
		t.Errorf("Scrub(%q) = %q", in, got)
	}
}

func TestSecretsTokensBounded(t *testing.T) {
	s := NewSecrets()
	s.Add("fixed-secret-value")
	for i := 0; i < MaxTokens+10; i++ {
		s.AddToken(fmt.Sprintf("token-%08d", i))
	}
	if n := s.Len(); n != MaxTokens+1 {
		t.Errorf("Len = %d, want %d", n, MaxTokens+1)
	}
	if got := s.Scrub("token-00000000"); got != "token-00000000" {
		t.Errorf("the oldest token is still kept: %q", got)
	}
	last := fmt.Sprintf("token-%08d", MaxTokens+9)
	if got := s.Scrub(last); got != Redacted {
		t.Errorf("the newest token is not scrubbed: %q", got)
	}
	if got := s.Scrub("fixed-secret-value"); got != Redacted {
		t.Errorf("a fixed value was dropped: %q", got)
	}
	// Re-adding an old token makes it the newest again.
	s.AddToken(fmt.Sprintf("token-%08d", 10))
	for i := 0; i < MaxTokens-1; i++ {
		s.AddToken(fmt.Sprintf("other-%08d", i))
	}
	if got := s.Scrub(fmt.Sprintf("token-%08d", 10)); got != Redacted {
		t.Errorf("a re-added token was dropped: %q", got)
	}
}

func TestSecretsConcurrent(t *testing.T) {
	s := NewSecrets()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				s.AddToken(fmt.Sprintf("w%d-token-%06d", w, i))
				s.Add(fmt.Sprintf("w%d-fixed-%06d", w, i%20))
			}
		}()
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				// Whether the writer added it yet or not, the result is
				// the text or the text with the value gone.
				v := fmt.Sprintf("w%d-token-%06d", w, i)
				if got := s.Scrub("x " + v + " y"); got != "x "+v+" y" && got != "x "+Redacted+" y" {
					t.Errorf("Scrub during writes: %q", got)
				}
				_ = s.ScrubError(errors.New(v))
				_ = s.Len()
			}
		}()
	}
	wg.Wait()
	for w := 0; w < 4; w++ {
		v := fmt.Sprintf("w%d-fixed-%06d", w, 5)
		if got := s.Scrub("<" + v + ">"); got != "<"+Redacted+">" {
			t.Errorf("after the writers: %q", got)
		}
	}
}

func TestScrubError(t *testing.T) {
	s := NewSecrets()
	const v = "sekrit-123456789"
	base := errors.New("base")
	err := fmt.Errorf("server said %s: %w", v, base)
	got := s.ScrubError(err)
	if got != err {
		t.Errorf("nothing known yet: the error changed")
	}
	s.Add(v)
	got = s.ScrubError(err)
	if strings.Contains(got.Error(), v) || !errors.Is(got, base) {
		t.Errorf("ScrubError: %q (unwraps: %v)", got, errors.Is(got, base))
	}
	if s.ScrubError(nil) != nil {
		t.Error("nil error became non-nil")
	}
}

type secretStringer struct{ v string }

func (s secretStringer) String() string { return "stringer " + s.v }

type secretStruct struct {
	Name, Value string
}

func TestRedactHandlerWithSecrets(t *testing.T) {
	known := NewSecrets()
	const v1, v2 = "a1b2c3d4e5f6a7b8c9d0", "Token zz9988776655xx"
	var buf bytes.Buffer
	log := slog.New(NewRedactHandlerWith(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), known))
	known.Add(v1, v2) // added after the logger was built
	log = log.With("pre", "with "+v1)
	log.Info("message with "+v1,
		"s", "X-Custom-Auth: "+v2,
		"err", fmt.Errorf("upstream answered HTTP 500: %s", v1),
		slog.Group("g", "inner", v1, slog.Group("deeper", "x", []byte(v1))),
		"hdr", http.Header{"X-Custom-Auth": {v2}},
		"str", secretStringer{v1},
		"any", secretStruct{"n", v1},
		"plain", "Authorization: Bearer abc.def.ghi",
	)
	out := buf.String()
	for _, s := range []string{v1, "zz9988776655xx", "abc.def.ghi"} {
		if strings.Contains(out, s) {
			t.Errorf("log shows %q:\n%s", s, out)
		}
	}
	if strings.Count(out, Redacted) < 9 {
		t.Errorf("expected a redaction per value:\n%s", out)
	}

	// The scrub-only handler does not touch shapes, only known values.
	buf.Reset()
	slog.New(NewScrubHandler(slog.NewTextHandler(&buf, nil), known)).Info("m", "a", v1, "token", "visible-by-key")
	out = buf.String()
	if strings.Contains(out, v1) || !strings.Contains(out, "visible-by-key") {
		t.Errorf("scrub handler:\n%s", out)
	}
}

func BenchmarkSecretsScrub(b *testing.B) {
	s := NewSecrets()
	for i := 0; i < 40; i++ {
		s.Add(fmt.Sprintf("config-value-%032x", i))
	}
	for i := 0; i < 100; i++ {
		s.AddToken(fmt.Sprintf("eyJhbGciOiJIUzI1NiJ9.%040x.sig", i))
	}
	line := `time=2026-01-02T03:04:05Z level=WARN msg="connect failed" server=jira err="upstream answered HTTP 502 Bad Gateway: <html><body>bad gateway</body></html>"`
	b.ReportAllocs()
	for b.Loop() {
		_ = s.Scrub(line)
	}
}
