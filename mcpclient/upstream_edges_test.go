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

// TestLongOutageAnswersSoon: a request to a server that has been down for
// longer than HoldTimeout is answered with the reason after OutageHold,
// not held for HoldTimeout as in a fresh outage.
func TestLongOutageAnswersSoon(t *testing.T) {
	srv := startFault(t, fs.Options{})
	tuning := fastTuning
	tuning.HoldTimeout = 2 * time.Second
	tuning.OutageHold = 300 * time.Millisecond
	f := startHubTuned(t, map[string]string{"up": urlEntry(srv.URL())}, tuning)
	c := launchBridge(t, f.env(), "up", "--no-start")
	c.initialize(nil)
	c.ok("tools/call", echoArgs("up"))
	srv.Close() // from now on: connection refused

	// A fresh outage: held for HoldTimeout, in case the server comes back.
	start := time.Now()
	r := c.call("tools/list", nil)
	if r.Error == nil || !strings.Contains(r.Error.Message, "not reachable") {
		t.Fatalf("tools/list in a fresh outage: %s", r.raw)
	}
	if held := time.Since(start); held < tuning.HoldTimeout*3/4 {
		t.Errorf("a request in a fresh outage was answered after %s, before HoldTimeout", held)
	}

	// The outage is now older than HoldTimeout: answered after OutageHold.
	start = time.Now()
	r = c.call("tools/list", nil)
	if r.Error == nil || !strings.Contains(r.Error.Message, "connection refused") {
		t.Fatalf("tools/list in a long outage: %s", r.raw)
	}
	if held := time.Since(start); held >= tuning.HoldTimeout {
		t.Errorf("a request in a long outage was held %s", held)
	}
}
