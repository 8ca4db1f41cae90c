package mcpclient_test

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient/httptoken"
	fs "github.com/mcptray/mcptray/mcpclient/internal/faultserver"
)

// TestHTTPEndpointRefuses: requests without the token, with a wrong one,
// or from a foreign Host or Origin (DNS rebinding) are refused, and no
// response carries a CORS header.
func TestHTTPEndpointRefuses(t *testing.T) {
	srv := startFault(t, fs.Options{})
	hh := startHTTPHub(t, map[string]string{"up": urlEntry(srv.URL())}, "")
	initBody := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}`
	for _, tc := range []struct {
		name   string
		method string
		hdr    map[string]string
		host   string
		status int
	}{
		{name: "no token", hdr: map[string]string{"Authorization": ""}, status: 401},
		{name: "wrong token", hdr: map[string]string{"Authorization": "Bearer " + httptoken.New()}, status: 401},
		{name: "token not as bearer", hdr: map[string]string{"Authorization": "Basic " + hh.token}, status: 401},
		{name: "foreign host", host: "evil.example", status: 403},
		{name: "foreign host with our port", host: fmt.Sprintf("evil.example:%d", hh.port), status: 403},
		{name: "loopback host without port", host: "127.0.0.1", status: 403},
		{name: "foreign origin", hdr: map[string]string{"Origin": "http://evil.example"}, status: 403},
		{name: "foreign origin, no token", hdr: map[string]string{"Origin": "http://evil.example", "Authorization": ""}, status: 403},
		{name: "origin of another local port", hdr: map[string]string{"Origin": "http://127.0.0.1:1"}, status: 403},
		{name: "null origin", hdr: map[string]string{"Origin": "null"}, status: 403},
		{name: "CORS preflight", method: http.MethodOptions, hdr: map[string]string{"Origin": "http://evil.example", "Access-Control-Request-Method": "POST"}, status: 403},
		{name: "preflight from our origin", method: http.MethodOptions, hdr: map[string]string{"Origin": fmt.Sprintf("http://localhost:%d", hh.port)}, status: 405},
		{name: "our own origin", hdr: map[string]string{"Origin": fmt.Sprintf("http://localhost:%d", hh.port)}, status: 200},
		{name: "localhost host", host: fmt.Sprintf("localhost:%d", hh.port), status: 200},
		{name: "unknown server", status: 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := hh.url("up")
			if tc.name == "unknown server" {
				url = hh.url("nope")
			}
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			req, _ := http.NewRequest(method, url, strings.NewReader(initBody))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("Authorization", "Bearer "+hh.token)
			for k, v := range tc.hdr {
				if v == "" {
					req.Header.Del(k)
				} else {
					req.Header.Set(k, v)
				}
			}
			if tc.host != "" {
				req.Host = tc.host
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			for k := range resp.Header {
				if strings.HasPrefix(strings.ToLower(k), "access-control-") {
					t.Errorf("CORS header %s: %s", k, resp.Header.Get(k))
				}
			}
			if bytes.Contains(body, []byte(hh.token)) {
				t.Error("the token is in the response")
			}
		})
	}
	// The token is never in the hub's log, nor in status.
	hh.stop()
	if strings.Contains(hh.logText(), hh.token) {
		t.Error("the token is in the hub's log")
	}
}

// TestHTTPEndpointLoopbackOnly: the listener is on 127.0.0.1, and this
// machine's other addresses do not reach it.
func TestHTTPEndpointLoopbackOnly(t *testing.T) {
	srv := startFault(t, fs.Options{})
	hh := startHTTPHub(t, map[string]string{"up": urlEntry(srv.URL())}, "")
	addrs, _ := net.InterfaceAddrs()
	tried := 0
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		tried++
		c, err := net.DialTimeout("tcp", net.JoinHostPort(ipn.IP.String(), fmt.Sprint(hh.port)), time.Second)
		if err == nil {
			c.Close()
			t.Errorf("the endpoint answers on %s", ipn.IP)
		}
	}
	t.Logf("checked %d non-loopback addresses", tried)
}

// TestHTTPEndpointBigBody: a 50 MB body over maxMessageSize is refused
// with 413 without being read whole; the hub serves the next request.
func TestHTTPEndpointBigBody(t *testing.T) {
	srv := startFault(t, fs.Options{})
	hh := startHTTPHub(t, map[string]string{"up": urlEntry(srv.URL())}, `"maxMessageSize": 1048576,`)
	c := hh.raw(t, "up")
	c.initialize()
	big := make([]byte, 50<<20)
	_, _ = rand.Read(big)
	body := io.MultiReader(strings.NewReader(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"text":"`), bytes.NewReader(big), strings.NewReader(`"}}}`))
	req, _ := http.NewRequest(http.MethodPost, c.url, body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Authorization", "Bearer "+hh.token)
	req.Header.Set("Mcp-Session-Id", c.session)
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "maxMessageSize") {
			t.Errorf("50 MB body: %d %s", resp.StatusCode, b)
		}
	} else {
		// The hub may close the connection before the client finished
		// sending; that is a refusal too.
		t.Logf("50 MB body: %v", err)
	}
	if got := resultText(c.call("tools/call", echoArgs("after"))); got != "after" {
		t.Errorf("after the big body: %q", got)
	}
}

// TestHTTPEndpointIdleConnections: 10,000 connections opened and left
// idle cost the hub a bounded number of connections; bridges and HTTP
// IDEs keep being served meanwhile.
func TestHTTPEndpointIdleConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 10,000 connections")
	}
	raiseFileLimit(t, 12000)
	srv := startFault(t, fs.Options{})
	hh := startHTTPHub(t, map[string]string{"up": urlEntry(srv.URL())}, "")
	ide := hh.raw(t, "up")
	ide.initialize()
	b := launchBridge(t, hh.env(), "up", "--no-start")
	b.initialize(nil)

	const n = 10000
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", hh.port)
	for i := 0; i < n; i++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		conns = append(conns, c)
		if i%2000 == 1999 {
			// Served all along, by both paths.
			if got := resultText(ide.call("tools/call", echoArgs(fmt.Sprint("http ", i)))); got != fmt.Sprint("http ", i) {
				t.Errorf("HTTP IDE at %d idle connections: %q", i, got)
			}
			if got := b.toolText(b.ok("tools/call", echoArgs(fmt.Sprint("bridge ", i)))); got != fmt.Sprint("bridge ", i) {
				t.Errorf("bridge at %d idle connections: %q", i, got)
			}
		}
	}
	st := hh.hub.HTTPStatus()
	t.Logf("after %d idle connections the hub holds %d", n, st.Connections)
	if st.Connections > 512 {
		t.Errorf("the hub holds %d connections; the bound is 512", st.Connections)
	}
	// A new IDE still gets in.
	fresh := hh.raw(t, "up")
	fresh.initialize()
	if got := resultText(fresh.call("tools/call", echoArgs("newcomer"))); got != "newcomer" {
		t.Errorf("a new IDE: %q", got)
	}
}
