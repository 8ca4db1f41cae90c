package mcpclient_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/httptoken"
	fs "github.com/mcptray/mcptray/mcpclient/internal/faultserver"
	"github.com/mcptray/mcptray/mcpclient/internal/testenv"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// TestHTTPFaultRecovery: the bridge path's healing table, for an IDE on
// the HTTP endpoint: its session lives on, the IDE sees no error but for
// a tools/call lost mid-stream, and the hub rebuilt the upstream session.
func TestHTTPFaultRecovery(t *testing.T) {
	for _, tc := range []struct {
		name     string
		fault    fs.Fault
		method   string
		wantErr  int
		rebuilds bool
	}{
		{name: "corrupt-sse-list", fault: fs.Fault{Kind: fs.CorruptSSE, Method: "tools/list"}, method: "tools/list", rebuilds: true},
		{name: "corrupt-sse-call", fault: fs.Fault{Kind: fs.CorruptSSE, Method: "tools/call"}, method: "tools/call", wantErr: jsonrpc.CodeLostInFlight, rebuilds: true},
		{name: "drop-stream-list", fault: fs.Fault{Kind: fs.DropStream, Method: "tools/list"}, method: "tools/list", rebuilds: true},
		{name: "forget-session-404", fault: fs.Fault{Kind: fs.ForgetSession404, Method: "tools/call"}, method: "tools/call", rebuilds: true},
		{name: "503-burst", fault: fs.Fault{Kind: fs.Status5xx, Status: 503, Count: 4}, method: "tools/call", rebuilds: true},
		{name: "502-burst-list", fault: fs.Fault{Kind: fs.Status5xx, Status: 502, Count: 3}, method: "tools/list", rebuilds: true},
		{name: "garbage-200-list", fault: fs.Fault{Kind: fs.Garbage200, Method: "tools/list"}, method: "tools/list", rebuilds: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startFault(t, fs.Options{})
			hh := startHTTPHub(t, map[string]string{"up": urlEntry(srv.URL())}, "")
			c := hh.raw(t, "up")
			c.initialize()
			if got := resultText(c.call("tools/call", echoArgs("warm"))); got != "warm" {
				t.Fatalf("warm-up: %q", got)
			}
			hh.waitState("up", mcpclient.StateConnected, 5*time.Second)
			before := hh.status("up").SessionsOpened
			srv.Inject(tc.fault)
			var params any = echoArgs("during")
			if tc.method == "tools/list" {
				params = map[string]any{}
			}
			r := c.call(tc.method, params)
			e, _ := r["error"].(map[string]any)
			switch {
			case tc.wantErr == 0 && e != nil:
				t.Fatalf("the IDE saw an error: %v", e)
			case tc.wantErr != 0 && (e == nil || e["code"] != float64(tc.wantErr)):
				t.Fatalf("want error %d, got %v", tc.wantErr, r)
			}
			for i := range 3 {
				want := fmt.Sprint("after-", i)
				if got := resultText(c.call("tools/call", echoArgs(want))); got != want {
					t.Fatalf("after the fault: %q", got)
				}
			}
			st := hh.waitState("up", mcpclient.StateConnected, 5*time.Second)
			if tc.rebuilds && st.SessionsOpened <= before {
				t.Errorf("no new upstream session (%d → %d)", before, st.SessionsOpened)
			}
			if st.HTTPClients != 1 {
				t.Errorf("the HTTP IDE is no longer attached: %+v", st)
			}
		})
	}
}

// TestHTTPUpstreamRestart: server-everything killed and started again
// under an HTTP IDE's session; its next call is answered.
func TestHTTPUpstreamRestart(t *testing.T) {
	ev := testenv.StartEverything(t, testenv.TransportStreamable, 0)
	hh := startHTTPHub(t, map[string]string{"ev": urlEntry(ev.URL())}, "")
	c := hh.raw(t, "ev")
	c.initialize()
	echo := func(msg string) string {
		return resultText(c.call("tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"message": msg}}))
	}
	if got := echo("before"); got != "Echo: before" {
		t.Fatalf("before: %q", got)
	}
	ev.Kill()
	ev.Restart()
	if got := echo("after"); got != "Echo: after" {
		t.Fatalf("after the restart: %q", got)
	}
	if st := hh.status("ev"); st.SessionsOpened < 2 || st.HTTPClients != 1 {
		t.Errorf("status: %+v", st)
	}
}

// TestHTTPHubKilled: the real `mcptray serve` dies with SIGKILL under the
// TypeScript SDK client; a new hub comes up on the same port; the IDE's
// next request gets 404 for its session, it initializes again (as the
// transport spec says a client must) and its call is answered.
func TestHTTPHubKilled(t *testing.T) {
	srv := startFault(t, fs.Options{})
	ev := testenv.StartEverything(t, testenv.TransportStreamable, 0)
	_ = srv
	h := newRealHome(t, nil)
	port := testenv.FreePort(t)
	writeHTTPConfig(t, h.cfg, map[string]string{"ev": urlEntry(ev.URL())}, fmt.Sprintf(`"http": {"port": %d}`, port))
	serve := func() *exec.Cmd {
		cmd := exec.Command(filepath.Join(bins(t), "mcptray"), "serve")
		cmd.Env = h.env()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		deadline := time.Now().Add(10 * time.Second)
		for {
			out, _, _ := h.run(t, "status", "--json")
			if strings.Contains(out, fmt.Sprintf(`"url": "http://127.0.0.1:%d/mcp"`, port)) && strings.Contains(out, `"state": "connected"`) {
				return cmd
			}
			if time.Now().After(deadline) {
				t.Fatalf("the hub did not come up with its HTTP endpoint:\n%s", out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	first := serve()
	tok, err := httptoken.Read(h.home)
	if err != nil {
		t.Fatal(err)
	}
	c := startSDKClient(t, "reinit", fmt.Sprintf("http://127.0.0.1:%d/mcp/ev", port), tok)
	c.next(30 * time.Second) // connected
	if s := c.next(30 * time.Second); s["text"] != "Echo: before" {
		t.Fatalf("before: %v", s)
	}
	// A modern IDE has no session: it notices nothing of the restart.
	modernEcho := func(text string) {
		t.Helper()
		body := fmt.Sprintf(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"message":%q},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"modern-ide","version":"1"}}}}`, text)
		req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("http://127.0.0.1:%d/mcp/ev", port), strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("MCP-Protocol-Version", "2026-07-28")
		req.Header.Set("Mcp-Method", "tools/call")
		req.Header.Set("Mcp-Name", "echo")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("modern request (%s): %v", text, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || !strings.Contains(string(b), "Echo: "+text) || !strings.Contains(string(b), `"resultType":"complete"`) {
			t.Fatalf("modern request (%s): %s %s", text, resp.Status, b)
		}
	}
	modernEcho("modern before")
	if err := first.Process.Kill(); err != nil { // SIGKILL: no goodbye
		t.Fatal(err)
	}
	_, _ = first.Process.Wait()
	serve()
	if _, err := c.stdin.Write([]byte("go\n")); err != nil {
		t.Fatal(err)
	}
	modernEcho("modern after")
	s := c.next(30 * time.Second)
	if s["step"] != "failed" || s["code"] != float64(404) {
		t.Fatalf("after the restart, the old session: %v (want a 404)", s)
	}
	s = c.next(30 * time.Second)
	if s["text"] != "Echo: after" || s["reinitialized"] != true {
		t.Fatalf("after initializing again: %v", s)
	}
	c.wait()
	if tok2, _ := httptoken.Read(h.home); tok2 != tok {
		t.Error("the token changed across a hub restart")
	}
	_ = os.Getpid
}
