package mcpclient_test

import (
	"fmt"
	"maps"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient"
	fs "github.com/mcptray/mcptray/mcpclient/internal/faultserver"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

func startFault(t *testing.T, opts fs.Options) *fs.Server {
	t.Helper()
	if testingVerbose() {
		opts.Logf = func(format string, args ...any) { t.Logf("faultserver: "+format, args...) }
	}
	s, err := fs.Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func testingVerbose() bool { return testing.Verbose() }

func echoArgs(text string) map[string]any {
	return map[string]any{"name": "echo", "arguments": map[string]any{"text": text}}
}

// TestFaultRecovery injects each failure of README's "How sessions heal"
// table into a live session and checks that the same bridge process keeps
// answering and that the IDE sees no error except for a tools/call lost
// mid-stream.
func TestFaultRecovery(t *testing.T) {
	retryAfter := http.Header{"Retry-After": {"0"}}
	for _, tc := range []struct {
		name      string
		transport string
		fault     fs.Fault
		method    string // the request the fault hits
		wantErr   int    // JSON-RPC error code the IDE gets for it, 0 = none
		rebuilds  bool   // a new upstream session must be opened
		forceSSE  bool
		unknown   bool // server answers unknown sessions 400
	}{
		{name: "corrupt-sse-list", fault: fs.Fault{Kind: fs.CorruptSSE, Method: "tools/list"}, method: "tools/list", rebuilds: true},
		{name: "corrupt-sse-close-list", fault: fs.Fault{Kind: fs.CorruptSSEClose, Method: "tools/list"}, method: "tools/list", rebuilds: true},
		{name: "corrupt-sse-call", fault: fs.Fault{Kind: fs.CorruptSSE, Method: "tools/call"}, method: "tools/call", wantErr: jsonrpc.CodeLostInFlight, rebuilds: true},
		{name: "corrupt-then-respond-list", fault: fs.Fault{Kind: fs.CorruptSSEThenRespond, Method: "tools/list"}, method: "tools/list", rebuilds: true},
		{name: "drop-stream-list", fault: fs.Fault{Kind: fs.DropStream, Method: "tools/list"}, method: "tools/list", rebuilds: true},
		{name: "drop-stream-call", fault: fs.Fault{Kind: fs.DropStream, Method: "tools/call"}, method: "tools/call", wantErr: jsonrpc.CodeLostInFlight, rebuilds: true},
		{name: "drop-get-stream", fault: fs.Fault{Kind: fs.DropStream, Method: fs.MethodGET}, method: "tools/call", rebuilds: true},
		{name: "corrupt-get-stream", fault: fs.Fault{Kind: fs.CorruptSSE, Method: fs.MethodGET}, method: "tools/call", rebuilds: true},
		{name: "forget-session-404", fault: fs.Fault{Kind: fs.ForgetSession404, Method: "tools/call"}, method: "tools/call", rebuilds: true},
		{name: "forget-session-400", fault: fs.Fault{Kind: fs.ForgetSession400, Method: "tools/call"}, method: "tools/call", rebuilds: true, unknown: true},
		{name: "503-burst", fault: fs.Fault{Kind: fs.Status5xx, Status: 503, Count: 4}, method: "tools/call", rebuilds: true},
		{name: "429-retry-after", fault: fs.Fault{Kind: fs.Status5xx, Status: 429, Count: 2, Header: retryAfter}, method: "tools/call", rebuilds: true},
		{name: "502-burst-list", fault: fs.Fault{Kind: fs.Status5xx, Status: 502, Count: 3}, method: "tools/list", rebuilds: true},
		{name: "garbage-200-list", fault: fs.Fault{Kind: fs.Garbage200, Method: "tools/list"}, method: "tools/list", rebuilds: true},
		{name: "stall-list-and-probe", fault: fs.Fault{Kind: fs.Stall, Count: 2}, method: "tools/list", rebuilds: true},
		{name: "slow-list", fault: fs.Fault{Kind: fs.Stall, Method: "tools/list", Delay: 300 * time.Millisecond}, method: "tools/list"},
		{name: "sse-corrupt-list", transport: fs.TransportSSE, fault: fs.Fault{Kind: fs.CorruptSSE, Method: "tools/list"}, method: "tools/list", rebuilds: true},
		{name: "sse-drop-stream", transport: fs.TransportSSE, fault: fs.Fault{Kind: fs.DropStream, Method: "tools/list"}, method: "tools/list", rebuilds: true},
		{name: "sse-forget-session", transport: fs.TransportSSE, fault: fs.Fault{Kind: fs.ForgetSession404, Method: "tools/call"}, method: "tools/call", rebuilds: true},
		// 503s for one method while ping works: the session is fine, the
		// request is retried on it (a burst that hits ping too rebuilds).
		{name: "sse-503", transport: fs.TransportSSE, fault: fs.Fault{Kind: fs.Status5xx, Status: 503, Count: 2, Method: "tools/call"}, method: "tools/call"},
		{name: "503-one-method", fault: fs.Fault{Kind: fs.Status5xx, Status: 503, Count: 2, Method: "tools/call"}, method: "tools/call"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := startFault(t, fs.Options{Transport: tc.transport, ForceSSE: tc.forceSSE, UnknownSession400: tc.unknown})
			f := startHub(t, map[string]string{"up": urlEntry(srv.URL())})
			c := launchBridge(t, f.env(), "up", "--no-start")
			c.initialize(nil)
			if got := c.toolText(c.ok("tools/call", echoArgs("warm"))); got != "warm" {
				t.Fatalf("warm-up echo = %q", got)
			}
			f.waitState("up", mcpclient.StateConnected, 5*time.Second)
			// The hub lists tools, resources and prompts after it connects;
			// under load that may still run, and a fault for any request
			// would hit it instead of the IDE's.
			if !srv.WaitFor(10*time.Second, func(st fs.Stats) bool { return st.Requests["prompts/list"] >= 1 }) {
				t.Fatal("the hub did not list prompts after connecting")
			}
			before := f.status("up").SessionsOpened
			srv.Inject(tc.fault)
			if tc.fault.Method == fs.MethodGET {
				// Stream faults on GET fire when a stream opens: make one open.
				srv.DropStreams()
			}

			var r *rpcResp
			if tc.method == "tools/list" {
				r = c.call("tools/list", nil)
			} else {
				r = c.call("tools/call", echoArgs("during"))
			}
			switch {
			case tc.wantErr == 0 && r.Error != nil:
				t.Fatalf("the IDE saw an error: %d %s", r.Error.Code, r.Error.Message)
			case tc.wantErr != 0 && (r.Error == nil || r.Error.Code != tc.wantErr):
				t.Fatalf("want error %d, got %s", tc.wantErr, r.raw)
			case tc.wantErr != 0 && !strings.Contains(r.Error.Message, `"up"`):
				t.Errorf("the error does not name the server: %s", r.Error.Message)
			}
			// The same bridge keeps answering, on a healthy session.
			for i := 0; i < 3; i++ {
				want := fmt.Sprint("after-", i)
				if got := c.toolText(c.ok("tools/call", echoArgs(want))); got != want {
					t.Fatalf("after the fault: echo = %q", got)
				}
			}
			st := f.waitState("up", mcpclient.StateConnected, 5*time.Second)
			// A fault on the GET stream breaks the session beside the
			// IDE's calls, which may all finish on it first: the rebuild
			// comes when the hub sees the break.
			for deadline := time.Now().Add(10 * time.Second); tc.rebuilds && st.SessionsOpened <= before && time.Now().Before(deadline); {
				time.Sleep(20 * time.Millisecond)
				st = f.waitState("up", mcpclient.StateConnected, 5*time.Second)
			}
			if tc.rebuilds && st.SessionsOpened <= before {
				t.Errorf("no new upstream session was built (sessions %d → %d)", before, st.SessionsOpened)
			}
			if !tc.rebuilds && st.SessionsOpened != before {
				t.Errorf("a slow answer must not rebuild (sessions %d → %d)", before, st.SessionsOpened)
			}
			select {
			case <-c.exited:
				t.Fatal("the bridge process exited")
			default:
			}
		})
	}
}

// TestGetStreamReopenAnnouncesUpdates: when the server ends a legacy
// session's GET stream and the hub opens it again, a resource update the
// server sent in between may be lost (the TypeScript SDK discards a
// message for the standalone stream while none is open; mcp-go, under
// the fault server, keeps it for the next stream), so the hub tells the
// IDE subscribed to a resource that it was updated, on the same session.
// The server sends no update here: the one the IDE gets is the hub's.
func TestGetStreamReopenAnnouncesUpdates(t *testing.T) {
	const uri = "test://static"
	srv := startFault(t, fs.Options{ResourceSubscribe: true})
	f := startHub(t, map[string]string{"up": urlEntry(srv.URL())})
	f.waitState("up", mcpclient.StateConnected, 20*time.Second)
	c := launchBridge(t, f.env(), "up", "--no-start")
	c.initialize(nil)
	c.ok("resources/subscribe", map[string]any{"uri": uri})
	if !srv.WaitFor(10*time.Second, func(st fs.Stats) bool { return st.ActiveSSEStreams == 1 }) {
		t.Fatalf("GET streams open at the server: %d, want 1", srv.Stats().ActiveSSEStreams)
	}
	before := f.status("up").SessionsOpened
	gets := srv.Stats().Requests[fs.MethodGET]
	if n := srv.EndStreams(); n != 1 {
		t.Fatalf("ended %d streams, want the hub's one", n)
	}
	if !srv.WaitFor(20*time.Second, func(st fs.Stats) bool {
		return st.Requests[fs.MethodGET] > gets && st.ActiveSSEStreams == 1
	}) {
		t.Fatalf("the hub did not open its GET stream again (%+v)", srv.Stats())
	}
	n := c.waitNote("notifications/resources/updated", func(n *rpcResp) bool {
		return strings.Contains(string(n.Params), `"uri":"`+uri+`"`)
	}, 20*time.Second)
	if strings.Contains(string(n.Params), "subscriptionId") {
		t.Errorf("resources/updated with a subscription id: %s", n.raw)
	}
	if got := c.toolText(c.ok("tools/call", echoArgs("after"))); got != "after" {
		t.Errorf("echo after the reopen: %q", got)
	}
	if st := f.status("up"); st.SessionsOpened != before {
		t.Errorf("the GET stream's end rebuilt the session (sessions %d → %d)", before, st.SessionsOpened)
	}
}

// TestRebuiltSessionAnnouncesUpdates: when the server forgets the hub's
// session and the hub builds a new one, the subscriptions are replayed on
// it and each subscribed resource is announced as updated, since an
// update sent between the two sessions had nowhere to go.
func TestRebuiltSessionAnnouncesUpdates(t *testing.T) {
	const uri = "test://static"
	srv := startFault(t, fs.Options{ResourceSubscribe: true})
	f := startHub(t, map[string]string{"up": urlEntry(srv.URL())})
	f.waitState("up", mcpclient.StateConnected, 20*time.Second)
	c := launchBridge(t, f.env(), "up", "--no-start")
	c.initialize(nil)
	c.ok("resources/subscribe", map[string]any{"uri": uri})
	isURI := func(n *rpcResp) bool { return strings.Contains(string(n.Params), `"uri":"`+uri+`"`) }
	before := f.status("up").SessionsOpened
	srv.Inject(fs.Fault{Kind: fs.ForgetSession404, Method: "tools/call", Tool: "echo"})
	if got := c.toolText(c.ok("tools/call", echoArgs("after"))); got != "after" {
		t.Fatalf("echo across the rebuild: %q", got)
	}
	if st := f.status("up"); st.SessionsOpened != before+1 {
		t.Fatalf("sessions %d → %d, want one rebuild", before, st.SessionsOpened)
	}
	c.waitNote("notifications/resources/updated", isURI, 20*time.Second)
	if n := srv.Stats().Requests["resources/subscribe"]; n < 2 {
		t.Errorf("resources/subscribe sent %d times, want it replayed on the new session", n)
	}
}

// TestSessionRejectedOnFreshSessionToo: a request that fails the same way
// on a fresh session is answered with an error instead of looping.
func TestSessionRejectedOnFreshSessionToo(t *testing.T) {
	srv := startFault(t, fs.Options{})
	f := startHub(t, map[string]string{"up": urlEntry(srv.URL())})
	c := launchBridge(t, f.env(), "up", "--no-start")
	c.initialize(nil)
	c.ok("tools/call", echoArgs("warm"))
	srv.Inject(fs.Fault{Kind: fs.ForgetSession404, Method: "tools/call", Tool: "echo", Count: 2})
	r := c.call("tools/call", echoArgs("x"))
	if r.Error == nil || !strings.Contains(r.Error.Message, "fresh session") {
		t.Fatalf("want a 'fresh session too' error, got %s", r.raw)
	}
	if got := c.toolText(c.ok("tools/call", echoArgs("y"))); got != "y" {
		t.Fatalf("next call: %q", got)
	}
}

// TestHealthProbe: an idle session whose server stops answering is noticed
// by the probe and rebuilt once the server answers again.
func TestHealthProbe(t *testing.T) {
	srv := startFault(t, fs.Options{})
	f := startHub(t, map[string]string{"up": urlEntry(srv.URL())})
	f.waitState("up", mcpclient.StateConnected, 5*time.Second)
	srv.Inject(fs.Fault{Kind: fs.Stall, Count: -1})
	deadline := time.Now().Add(10 * time.Second)
	for f.status("up").State == mcpclient.StateConnected {
		if time.Now().After(deadline) {
			t.Fatal("the probe did not notice a server that stopped answering")
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.ClearFaults()
	st := f.waitState("up", mcpclient.StateConnected, 15*time.Second)
	found := false
	for _, e := range st.Events {
		found = found || strings.Contains(e.Reason, "health probe failed")
	}
	if !found {
		t.Errorf("no 'health probe failed' event in %+v", st.Events)
	}
}

// TestTwoBridgesInterleaved: two IDEs share one upstream session; 1,000
// interleaved calls each get their own answer.
func TestTwoBridgesInterleaved(t *testing.T) {
	srv := startFault(t, fs.Options{})
	f := startHub(t, map[string]string{"up": urlEntry(srv.URL())})
	a := launchBridge(t, f.env(), "up", "--no-start")
	b := launchBridge(t, f.env(), "up", "--no-start")
	a.initialize(nil)
	b.initialize(nil)
	const perIDE = 500
	var wg sync.WaitGroup
	errs := make(chan error, 2*perIDE)
	for _, c := range []*ide{a, b} {
		c := c
		who := fmt.Sprintf("%p", c)
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem := make(chan struct{}, 16)
			var inner sync.WaitGroup
			for i := 0; i < perIDE; i++ {
				sem <- struct{}{}
				inner.Add(1)
				go func(i int) {
					defer inner.Done()
					defer func() { <-sem }()
					want := fmt.Sprintf("%s-%d", who, i)
					_, ch := c.start("tools/call", echoArgs(want))
					select {
					case r := <-ch:
						if r.Error != nil {
							errs <- fmt.Errorf("call %s: %s", want, r.Error.Message)
						} else if !strings.Contains(string(r.Result), `"text":"`+want+`"`) {
							errs <- fmt.Errorf("call %s got %s", want, r.Result)
						}
					case <-time.After(30 * time.Second):
						errs <- fmt.Errorf("call %s: no answer", want)
					}
				}(i)
			}
			inner.Wait()
		}()
	}
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		if n++; n <= 5 {
			t.Error(err)
		}
	}
	st := f.status("up")
	if st.SessionsOpened != 1 || st.Bridges != 2 {
		t.Errorf("want one upstream session for two bridges, got %+v", st)
	}
	if got := srv.Stats().SessionsOpened; got != 1 {
		t.Errorf("the upstream saw %d sessions, want 1", got)
	}
}

// TestCancelFromIDE: notifications/cancelled from the IDE cancels the
// upstream request.
func TestCancelFromIDE(t *testing.T) {
	srv := startFault(t, fs.Options{})
	f := startHub(t, map[string]string{"up": urlEntry(srv.URL())})
	c := launchBridge(t, f.env(), "up", "--no-start")
	c.initialize(nil)
	id, ch := c.start("tools/call", map[string]any{"name": "slow", "arguments": map[string]any{"ms": 20000}})
	time.Sleep(200 * time.Millisecond)
	c.notify("notifications/cancelled", map[string]any{"requestId": jsonNum(id), "reason": "user pressed stop"})
	deadline := time.Now().Add(10 * time.Second)
	for srv.Cancelled() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the upstream tool was not cancelled")
		}
		time.Sleep(20 * time.Millisecond)
	}
	select {
	case r := <-ch:
		t.Errorf("a cancelled request must not be answered, got %s", r.raw)
	case <-time.After(300 * time.Millisecond):
	}
	if got := c.toolText(c.ok("tools/call", echoArgs("next"))); got != "next" {
		t.Fatalf("next call: %q", got)
	}
}

// TestServerRequestRouting: a sampling, roots or elicitation request from
// the upstream reaches the IDE whose call is in flight, and only that one.
// (The fault server, like mcp-go, sends these on the standalone GET stream,
// so the hub picks the IDE with a call in flight: one IDE at a time here.)
func TestServerRequestRouting(t *testing.T) {
	srv := startFault(t, fs.Options{})
	f := startHub(t, map[string]string{"up": urlEntry(srv.URL())})
	a := launchBridge(t, f.env(), "up", "--no-start")
	b := launchBridge(t, f.env(), "up", "--no-start")
	var mu sync.Mutex
	got := map[string]int{}
	answer := func(who string) func(*rpcResp) any {
		return func(m *rpcResp) any {
			mu.Lock()
			got[who+" "+m.Method]++
			mu.Unlock()
			switch m.Method {
			case "roots/list":
				return map[string]any{"roots": []any{map[string]any{"uri": "file:///" + who}}}
			case "elicitation/create":
				return map[string]any{"action": "accept", "content": map[string]any{"name": who}}
			}
			return map[string]any{"role": "assistant", "model": "m", "content": map[string]any{"type": "text", "text": "from " + who}}
		}
	}
	a.onServer, b.onServer = answer("A"), answer("B")
	caps := map[string]any{"sampling": map[string]any{}, "roots": map[string]any{}, "elicitation": map[string]any{}}
	a.initialize(caps)
	b.initialize(caps)
	// Each server request reaches exactly one IDE, the one whose call is in
	// flight, once; and that IDE's answer is what the tool gets back, as
	// it was sent.
	for _, tc := range []struct {
		caller *ide
		tool   string
		args   map[string]any
		want   string // the tool's text: the caller's answer, as the tool renders it
		asked  string // who was asked what
	}{
		{b, "sample", map[string]any{"prompt": "hi"}, "from B", "B sampling/createMessage"},
		{a, "roots", map[string]any{}, "file:///A", "A roots/list"},
		{b, "elicit", map[string]any{}, `accept {"name":"B"}`, "B elicitation/create"},
	} {
		mu.Lock()
		clear(got)
		mu.Unlock()
		r := tc.caller.ok("tools/call", map[string]any{"name": tc.tool, "arguments": tc.args})
		if text := tc.caller.toolText(r); text != tc.want {
			t.Errorf("%s: the tool got %q, want %q (the answer of the IDE whose call it is)", tc.tool, text, tc.want)
		}
		mu.Lock()
		if want := map[string]int{tc.asked: 1}; !maps.Equal(got, want) {
			t.Errorf("%s: the IDEs were asked %v, want only %v", tc.tool, got, want)
		}
		mu.Unlock()
	}
}

// TestProgressMapping: two IDEs using the same progress token each get
// only their own progress notifications, with their own token.
func TestProgressMapping(t *testing.T) {
	srv := startFault(t, fs.Options{})
	f := startHub(t, map[string]string{"up": urlEntry(srv.URL())})
	a := launchBridge(t, f.env(), "up", "--no-start")
	b := launchBridge(t, f.env(), "up", "--no-start")
	a.initialize(nil)
	b.initialize(nil)
	var wg sync.WaitGroup
	for _, c := range []*ide{a, b} {
		c := c
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.ok("tools/call", map[string]any{"name": "progress", "arguments": map[string]any{"count": 3, "ms": 5},
				"_meta": map[string]any{"progressToken": 1}})
		}()
	}
	wg.Wait()
	for _, c := range []*ide{a, b} {
		for i := 0; i < 3; i++ {
			n := c.waitNote("notifications/progress", nil, 5*time.Second)
			if !strings.Contains(string(n.Params), `"progressToken":1`) {
				t.Errorf("progress token not restored: %s", n.Params)
			}
		}
		c.mu.Lock()
		for _, n := range c.notes {
			if n.Method == "notifications/progress" {
				t.Errorf("an IDE got someone else's progress: %s", n.raw)
			}
		}
		c.mu.Unlock()
	}
}

// TestSchemasByteForByte: tool schemas reach the IDE exactly as the server
// sent them.
func TestSchemasByteForByte(t *testing.T) {
	srv := startFault(t, fs.Options{})
	f := startHub(t, map[string]string{"up": urlEntry(srv.URL())})
	c := launchBridge(t, f.env(), "up", "--no-start")
	c.initialize(nil)
	r := c.ok("tools/list", nil)
	for _, want := range []string{`"inputSchema":` + fs.EchoInputSchema, `"outputSchema":` + fs.EchoOutputSchema} {
		if !strings.Contains(string(r), want) {
			t.Errorf("schema altered; want %s in %s", want, r)
		}
	}
}

// TestListChangedAfterRebuild: when a rebuilt session lists other tools,
// attached IDEs are told. Nothing here waits on timing: the IDE attaches
// before the first session exists, so it always gets the hub's first
// list_changed (no lists → the first lists), which the test waits for; and
// the restarted server starts with its new tools, so it never sends a
// list_changed of its own. The one the IDE gets after the restart can only
// come from the hub comparing the rebuilt session's list with the old one.
func TestListChangedAfterRebuild(t *testing.T) {
	srv := startFault(t, fs.Options{})
	srv.Inject(fs.Fault{Kind: fs.Status5xx, Status: 503, Count: -1}) // no session yet
	f := startHub(t, map[string]string{"up": urlEntry(srv.URL())})
	c := launchBridge(t, f.env(), "up", "--no-start")
	deadline := time.Now().Add(10 * time.Second)
	for f.status("up").Bridges != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("the bridge did not attach: %+v", f.status("up"))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := f.status("up"); st.SessionsOpened != 0 {
		t.Fatalf("a session came up through the 503s: %+v", st)
	}
	srv.ClearFaults()
	c.initialize(nil)
	c.waitNote("notifications/tools/list_changed", nil, 10*time.Second) // the first lists
	if n := f.status("up").Tools; n != len(fs.DefaultTools) {
		t.Fatalf("first session lists %d tools, want %d", n, len(fs.DefaultTools))
	}
	c.mu.Lock()
	c.notes = nil
	c.mu.Unlock()

	addr := srv.Addr()
	srv.Close()
	startFault(t, fs.Options{Addr: addr, Tools: []string{"echo"}})
	c.waitNote("notifications/tools/list_changed", nil, 10*time.Second)
	if st := f.status("up"); st.Tools != 1 || st.SessionsOpened != 2 {
		t.Fatalf("after the restart: %d tools on session %d, want 1 tool on session 2", st.Tools, st.SessionsOpened)
	}
	r := c.ok("tools/list", nil)
	if strings.Contains(string(r), `"slow"`) {
		t.Errorf("old tool list: %s", r)
	}
}

func jsonNum(id string) any { return json_number(id) }

type json_number string

func (n json_number) MarshalJSON() ([]byte, error) { return []byte(n), nil }

// TestNoAuthHealthWithoutOAuth: a server that never asked for a sign-in,
// with no credentials and no oauth settings, shows no auth health in the
// status (`mcptray status` printed "auth: not signed in" for every such
// server, as if something were wrong).
func TestNoAuthHealthWithoutOAuth(t *testing.T) {
	srv := startFault(t, fs.Options{})
	f := startHub(t, map[string]string{"up": urlEntry(srv.URL())})
	st := f.waitState("up", mcpclient.StateConnected, 20*time.Second)
	c := launchBridge(t, f.env(), "up", "--no-start")
	c.initialize(nil)
	c.ok("tools/call", echoArgs("x"))
	if st = f.status("up"); st.Auth != nil {
		t.Errorf("auth health for a server without OAuth: %+v", *st.Auth)
	}
}
