package mcpclient

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestDescribe: the errors users meet most are said in plain words with
// what to do, from real failures rather than built error values.
func TestDescribe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String() + "/mcp"
	ln.Close()
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	defer tlsSrv.Close()
	plain := httptest.NewServer(http.NotFoundHandler())
	defer plain.Close()
	for _, tc := range []struct {
		name, url, want string
	}{
		{"refused", refused, "nothing is listening at 127.0.0.1"},
		{"dns", "http://no-such-host.invalid/mcp", "does not resolve"},
		{"untrusted certificate", tlsSrv.URL, "set caFile"},
		{"tls to a plain server", strings.Replace(plain.URL, "http://", "https://", 1), "HTTP response to HTTPS client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, tc.url, nil)
			_, err := http.DefaultClient.Do(req)
			if err == nil {
				t.Fatal("no error")
			}
			if got := describe(err); !strings.Contains(got, tc.want) {
				t.Errorf("describe(%v) = %q, want it to contain %q", err, got, tc.want)
			}
		})
	}
	if describe(nil) != "" {
		t.Error("describe(nil) is not empty")
	}
}
