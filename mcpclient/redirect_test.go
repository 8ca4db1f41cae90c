package mcpclient_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient"
	fs "github.com/mcptray/mcptray/mcpclient/internal/faultserver"
)

// TestRedirectedEndpoint: a server whose MCP endpoint answers with a
// redirect (an http:// URL moved to https://, a trailing slash, a new
// path) works through it, whatever the redirect's status: POSTs stay
// POSTs with their body (Go's client would turn a POST into a body-less
// GET on 301, 302 and 303), DELETE stays DELETE.
func TestRedirectedEndpoint(t *testing.T) {
	for _, status := range []int{301, 302, 303, 307, 308} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			srv := startFault(t, fs.Options{})
			target, err := url.Parse(srv.URL())
			if err != nil {
				t.Fatal(err)
			}
			moved := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/old/mcp" {
					http.NotFound(w, r)
					return
				}
				w.Header().Set("Location", target.String())
				w.WriteHeader(status)
			}))
			t.Cleanup(moved.Close)
			f := startHub(t, map[string]string{"up": urlEntry(moved.URL + "/old/mcp")})
			f.waitState("up", mcpclient.StateConnected, 10*time.Second)
			c := launchBridge(t, f.env(), "up", "--no-start")
			c.initialize(nil)
			if got := c.toolText(c.ok("tools/call", echoArgs("moved"))); got != "moved" {
				t.Fatalf("echo = %q", got)
			}
			if st := f.status("up"); !strings.Contains(st.Transport, "streamable") {
				t.Errorf("transport %q", st.Transport)
			}
		})
	}
}
