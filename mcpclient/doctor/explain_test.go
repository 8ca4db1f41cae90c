package doctor

import (
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestExplainTLS(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	cert := &x509.Certificate{
		Subject:   pkix.Name{CommonName: "mcp.example.com"},
		Issuer:    pkix.Name{CommonName: "Corp Inspection CA"},
		DNSNames:  []string{"mcp.example.com"},
		NotBefore: now.Add(-90 * 24 * time.Hour),
		NotAfter:  now.Add(-24 * time.Hour),
	}
	future := *cert
	future.NotBefore = now.Add(24 * time.Hour)
	future.NotAfter = now.Add(90 * 24 * time.Hour)
	wrap := func(err error) error {
		return &tls.CertificateVerificationError{UnverifiedCertificates: []*x509.Certificate{cert}, Err: err}
	}
	for _, tc := range []struct {
		name   string
		err    error
		caFile string
		want   []string
	}{
		{"expired", wrap(x509.CertificateInvalidError{Cert: cert, Reason: x509.Expired}), "", []string{"expired on 2026-04-30", "clock (2026-05-01)", "renew"}},
		{"not yet valid", wrap(x509.CertificateInvalidError{Cert: &future, Reason: x509.Expired}), "", []string{"not valid until", "system clock"}},
		{"unknown authority", wrap(x509.UnknownAuthorityError{Cert: cert}), "", []string{`issuer "Corp Inspection CA"`, `set "caFile"`, "/cfg.json"}},
		{"unknown authority with caFile", wrap(x509.UnknownAuthorityError{Cert: cert}), "/ca.pem", []string{"caFile /ca.pem does not contain"}},
		{"hostname", wrap(x509.HostnameError{Certificate: cert, Host: "other.example.com"}), "", []string{"for mcp.example.com, not other.example.com"}},
		{"not tls", tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}, "", []string{"does not speak TLS", "http://"}},
		{"other", errors.New("remote error: tls: handshake failure"), "", []string{"TLS handshake failed: remote error"}},
	} {
		sum, fix := explainTLS(tc.err, "other.example.com", tc.caFile, "/cfg.json", now)
		text := sum + " → " + fix
		for _, w := range tc.want {
			if !strings.Contains(text, w) {
				t.Errorf("%s: %q lacks %q", tc.name, text, w)
			}
		}
	}
}

func TestResourceMatches(t *testing.T) {
	u := mustURL("https://mcp.example.com/v1/mcp")
	for r, want := range map[string]bool{
		"https://mcp.example.com/v1/mcp":  true,
		"https://mcp.example.com/v1/mcp/": true,
		"https://mcp.example.com":         true,
		"https://mcp.example.com/v1":      true,
		"https://mcp.example.com/v2":      false,
		"https://other.example.com/v1":    false,
		"http://mcp.example.com/v1/mcp":   false,
	} {
		if got := resourceMatches(r, u); got != want {
			t.Errorf("%s: %v", r, got)
		}
	}
}

func TestSSEReader(t *testing.T) {
	r := newSSEReader(strings.NewReader(": comment\n\nevent: endpoint\ndata: /message?s=1\n\ndata: {\"a\":\ndata: 1}\r\n\r\ndata: last"))
	for _, want := range [][2]string{{"endpoint", "/message?s=1"}, {"", "{\"a\":\n1}"}, {"", "last"}} {
		ev, data, err := r.next()
		if err != nil || ev != want[0] || data != want[1] {
			t.Fatalf("got %q %q %v, want %q", ev, data, err, want)
		}
	}
	if _, _, err := r.next(); err == nil {
		t.Fatal("no error at the end")
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}
