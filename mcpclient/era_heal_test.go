package mcpclient_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	fs "github.com/mcptray/mcptray/mcpclient/internal/faultserver"
)

// Healing in the modern era (issue 10): the same bridge keeps answering
// through cut and garbled response streams, 5xx bursts, a server restart,
// a reconnect from the control API and a broken listen stream. A request
// whose response stream broke is re-issued under a new id: a recording
// proxy in front of the server shows the ids.

// recProxy is a reverse proxy that records every JSON-RPC request it
// forwards.
type recProxy struct {
	srv *httptest.Server
	mu  sync.Mutex
	log []recReq
}

type recReq struct {
	Method string
	ID     string // compact JSON; "" for a notification
	Params string
}

func startRecProxy(t *testing.T, target string) *recProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &recProxy{}
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	rp.FlushInterval = -1
	rp.ErrorLog = nil
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			var m struct {
				ID     json.RawMessage `json:"id"`
				Method string          `json:"method"`
				Params json.RawMessage `json:"params"`
			}
			if json.Unmarshal(b, &m) == nil && m.Method != "" {
				p.mu.Lock()
				p.log = append(p.log, recReq{Method: m.Method, ID: string(m.ID), Params: string(m.Params)})
				p.mu.Unlock()
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *recProxy) URL(path string) string { return p.srv.URL + path }

// ids returns the ids of the requests of method whose params contain mark.
func (p *recProxy) ids(method, mark string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, r := range p.log {
		if r.Method == method && strings.Contains(r.Params, mark) {
			out = append(out, r.ID)
		}
	}
	return out
}

func distinct(ids []string) bool {
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] {
			return false
		}
		seen[id] = true
	}
	return true
}

// modernHealFixture is a modern-only fault server behind a recording
// proxy, a hub, and one bridge of each IDE era.
type modernHealFixture struct {
	srv    *fs.Server
	proxy  *recProxy
	hub    *hubFixture
	ides   []*eraIDE
	nextID int
}

func startModernHeal(t *testing.T) *modernHealFixture {
	srv := startFault(t, fs.Options{Era: fs.EraModern})
	p := startRecProxy(t, srv.URL())
	f := startHub(t, map[string]string{"s": urlEntry(p.URL("/mcp"))})
	f.waitState("s", "connected", 20*time.Second)
	if v := f.status("s").ProtocolVersion; v != fs.ModernVersion {
		t.Fatalf("the hub speaks %q to the modern server", v)
	}
	hf := &modernHealFixture{srv: srv, proxy: p, hub: f}
	for _, modern := range []bool{false, true} {
		c := &eraIDE{ide: launchBridge(t, f.env(), "s", "--no-start", "--eof-grace", "200ms"), modern: modern}
		if !modern {
			c.initialize(nil)
		}
		hf.ides = append(hf.ides, c)
	}
	return hf
}

// echo calls echo through c with a text no other call uses and checks
// the one answer; it returns the text.
func (hf *modernHealFixture) echo(t *testing.T, c *eraIDE) string {
	t.Helper()
	hf.nextID++
	text := fmt.Sprintf("heal-%d-%v", hf.nextID, c.modern)
	r := c.call("tools/call", c.params(echoArgs(text), nil))
	if r.Error != nil {
		t.Fatalf("echo %s: error %d %s", text, r.Error.Code, r.Error.Message)
	}
	if got := c.toolText(r.Result); got != text {
		t.Fatalf("echo: %q, want %q", got, text)
	}
	return text
}

func TestModernHealing(t *testing.T) {
	hf := startModernHeal(t)
	retryAfter0 := http.Header{"Retry-After": {"0"}}
	for _, tc := range []struct {
		name    string
		fault   fs.Fault
		reissue bool // the request must reach the server again under a new id
	}{
		{"drop-stream", fs.Fault{Kind: fs.DropStream, Method: "tools/call"}, true},
		{"corrupt-sse-close", fs.Fault{Kind: fs.CorruptSSEClose, Method: "tools/call"}, true},
		{"corrupt-sse-hang", fs.Fault{Kind: fs.CorruptSSE, Method: "tools/call"}, true},
		{"corrupt-then-respond", fs.Fault{Kind: fs.CorruptSSEThenRespond, Method: "tools/call"}, false},
		{"garbage-200", fs.Fault{Kind: fs.Garbage200, Method: "tools/call"}, true},
		{"503-burst", fs.Fault{Kind: fs.Status5xx, Method: "tools/call", Count: 3, Header: retryAfter0}, false},
		{"502-burst", fs.Fault{Kind: fs.Status5xx, Status: 502, Method: "tools/call", Count: 3}, false},
		{"429", fs.Fault{Kind: fs.Status5xx, Status: 429, Method: "tools/call", Count: 2, Header: retryAfter0}, false},
	} {
		for _, c := range hf.ides {
			name := tc.name + "/ide=legacy"
			if c.modern {
				name = tc.name + "/ide=modern"
			}
			step(t, name, func() {
				hf.srv.ClearFaults()
				hf.srv.Inject(tc.fault)
				text := hf.echo(t, c)
				if n := hf.srv.PendingFaults(); n != 0 {
					t.Errorf("%d faults left: the call did not meet the fault", n)
				}
				ids := hf.proxy.ids("tools/call", `"`+text+`"`)
				if !distinct(ids) {
					t.Errorf("the server saw the call under ids %v: a re-issue must use a new id", ids)
				}
				if tc.reissue && len(ids) < 2 {
					t.Errorf("the server saw the call %d times (ids %v), want it re-issued", len(ids), ids)
				}
				// The bridge answers the next call, and no second answer
				// came for the first (the harness fails on one).
				hf.echo(t, c)
				if st := hf.hub.status("s"); st.State != "connected" {
					t.Errorf("state %s (%s)", st.State, st.LastError)
				}
			})
		}
	}
}

// TestModernHealingRestartMidCall restarts the modern server while a call
// streams progress: its response stream breaks, and the hub re-issues it
// under a new id on the restarted server; the IDE gets one answer.
func TestModernHealingRestartMidCall(t *testing.T) {
	hf := startModernHeal(t)
	for _, c := range hf.ides {
		step(t, fmt.Sprintf("modern-ide=%v", c.modern), func() {
			tok := fmt.Sprintf("restart-%v", c.modern)
			mark := fmt.Sprintf(`"count":%d`, 40+len(tok))
			args := map[string]any{"name": "progress", "arguments": map[string]any{"count": 40 + len(tok), "ms": 10}}
			_, ch := c.start("tools/call", c.params(args, map[string]any{"progressToken": tok}))
			c.waitNote("notifications/progress", func(n *rpcResp) bool { return strings.Contains(string(n.Params), tok) }, 10*time.Second)
			if err := hf.srv.Restart(); err != nil {
				t.Fatal(err)
			}
			r := c.wait(ch, "progress call across a restart", 30*time.Second)
			if r.Error != nil {
				t.Fatalf("the call across the restart failed: %d %s", r.Error.Code, r.Error.Message)
			}
			if got := c.toolText(r.Result); !strings.HasPrefix(got, "sent ") {
				t.Errorf("result %q", got)
			}
			ids := hf.proxy.ids("tools/call", mark)
			if len(ids) < 2 || !distinct(ids) {
				t.Errorf("the server saw the call under ids %v, want it re-issued under a new id", ids)
			}
			hf.echo(t, c)
		})
	}
}

// TestModernHealingProgressIncreases: a call whose response stream
// breaks after its progress notifications is re-issued, and the server
// counts its progress from 1 again; the IDE still sees its progress
// increase, with the total never below it (MCP: progress MUST increase).
func TestModernHealingProgressIncreases(t *testing.T) {
	hf := startModernHeal(t)
	for _, c := range hf.ides {
		step(t, fmt.Sprintf("modern-ide=%v", c.modern), func() {
			tok := fmt.Sprintf("reissue-%v", c.modern)
			hf.srv.ClearFaults()
			hf.srv.Inject(fs.Fault{Kind: fs.DropStream, Method: "tools/call", Tool: "progress"})
			args := map[string]any{"name": "progress", "arguments": map[string]any{"count": 3, "ms": 1}}
			r := c.call("tools/call", c.params(args, map[string]any{"progressToken": tok}))
			if r.Error != nil {
				t.Fatalf("the call: error %d %s", r.Error.Code, r.Error.Message)
			}
			if n := hf.srv.PendingFaults(); n != 0 {
				t.Fatalf("%d faults left: the call did not meet the fault", n)
			}
			// The hub passes on each notification before the answer that
			// follows it, so all are here.
			type prog struct {
				Token    string   `json:"progressToken"`
				Progress float64  `json:"progress"`
				Total    *float64 `json:"total"`
				Message  string   `json:"message"`
			}
			var seq []prog
			show := func() string {
				var b strings.Builder
				for _, p := range seq {
					fmt.Fprintf(&b, " %v", p.Progress)
					if p.Total != nil {
						fmt.Fprintf(&b, "/%v", *p.Total)
					}
				}
				return b.String()
			}
			c.mu.Lock()
			for _, n := range c.notes {
				var p prog
				if n.Method == "notifications/progress" && json.Unmarshal(n.Params, &p) == nil && p.Token == tok {
					seq = append(seq, p)
				}
			}
			c.mu.Unlock()
			// Three from the first attempt, three from the re-issue.
			if len(seq) != 6 {
				t.Fatalf("%d progress notifications, want 6:%s", len(seq), show())
			}
			for i, p := range seq {
				if i > 0 && p.Progress <= seq[i-1].Progress {
					t.Errorf("progress went from %v to %v:%s", seq[i-1].Progress, p.Progress, show())
				}
				if p.Total == nil || *p.Total < p.Progress {
					t.Errorf("notification %d: no total, or one below the progress:%s", i, show())
				}
				if want := fmt.Sprintf("step %d of 3", i%3+1); p.Message != want {
					t.Errorf("notification %d: message %q, want the server's %q", i, p.Message, want)
				}
			}
		})
	}
}

// TestModernHealingReconnect: a reconnect from the control API rebuilds
// the modern session under the same bridges; calls and list changes keep
// working.
func TestModernHealingReconnect(t *testing.T) {
	hf := startModernHeal(t)
	legacy, modern := hf.ides[0], hf.ides[1]
	listenID, _ := modern.start("subscriptions/listen", modern.params(map[string]any{"notifications": map[string]any{"toolsListChanged": true}}, nil))
	modern.waitNote("notifications/subscriptions/acknowledged", nil, 10*time.Second)
	for i := 0; i < 2; i++ {
		opened := hf.hub.status("s").SessionsOpened
		if err := hf.hub.hub.Reconnect("s", false); err != nil {
			t.Fatal(err)
		}
		hf.echo(t, legacy)
		hf.echo(t, modern)
		deadline := time.Now().Add(10 * time.Second)
		for hf.hub.status("s").SessionsOpened <= opened {
			if time.Now().After(deadline) {
				t.Fatalf("reconnect opened no new session: %+v", hf.hub.status("s"))
			}
			time.Sleep(10 * time.Millisecond)
		}
		// The hub's listen stream is back: a list change reaches both.
		if !hf.srv.WaitFor(10*time.Second, func(s fs.Stats) bool { return s.ActiveSSEStreams == 1 }) {
			t.Fatalf("listen streams open at the server: %d, want 1", hf.srv.Stats().ActiveSSEStreams)
		}
		hf.srv.AddTools(fmt.Sprintf("after_reconnect_%d", i))
		legacy.waitNote("notifications/tools/list_changed", nil, 10*time.Second)
		n := modern.waitNote("notifications/tools/list_changed", nil, 10*time.Second)
		if !strings.Contains(string(n.Params), `"io.modelcontextprotocol/subscriptionId":`+listenID) {
			t.Errorf("list_changed without the IDE's subscription id: %s", n.raw)
		}
	}
}

// TestModernHealingListenStream breaks the hub's subscriptions/listen
// stream (dropped, garbled): the hub opens it again, and list changes
// reach the IDEs, also one made while no stream was open (the hub fetches
// the lists again once the new stream is acknowledged and announces the
// change).
func TestModernHealingListenStream(t *testing.T) {
	hf := startModernHeal(t)
	legacy, modern := hf.ides[0], hf.ides[1]
	listenID, _ := modern.start("subscriptions/listen", modern.params(map[string]any{"notifications": map[string]any{"toolsListChanged": true}}, nil))
	modern.waitNote("notifications/subscriptions/acknowledged", nil, 10*time.Second)
	for _, tc := range []struct {
		name string
		brk  func() int
		// changeInGap changes the tools before the hub's stream is back
		// (the hub's first reopen is refused, so the change falls in the
		// gap); else after it is back.
		changeInGap bool
	}{
		{"drop", hf.srv.DropStreams, false},
		{"corrupt-close", func() int { return hf.srv.CorruptStreams(true) }, false},
		{"corrupt-open", func() int { return hf.srv.CorruptStreams(false) }, false},
		{"drop-change-in-gap", hf.srv.DropStreams, true},
		{"corrupt-change-in-gap", func() int { return hf.srv.CorruptStreams(false) }, true},
	} {
		step(t, tc.name, func() {
			if !hf.srv.WaitFor(10*time.Second, func(s fs.Stats) bool { return s.ActiveSSEStreams == 1 }) {
				t.Fatalf("listen streams open at the server: %d, want 1", hf.srv.Stats().ActiveSSEStreams)
			}
			listens := hf.srv.Stats().Requests["subscriptions/listen"]
			if tc.changeInGap {
				hf.srv.Inject(fs.Fault{Kind: fs.Status5xx, Method: "subscriptions/listen"})
			}
			if n := tc.brk(); n != 1 {
				t.Fatalf("broke %d streams, want the hub's one", n)
			}
			tool := "after_" + strings.ReplaceAll(tc.name, "-", "_")
			if tc.changeInGap {
				if !hf.srv.WaitFor(20*time.Second, func(s fs.Stats) bool { return hf.srv.PendingFaults() == 0 }) {
					t.Fatal("the hub did not try to reopen its listen stream")
				}
				hf.srv.AddTools(tool)
			}
			if !hf.srv.WaitFor(20*time.Second, func(s fs.Stats) bool {
				return s.Requests["subscriptions/listen"] > listens && s.ActiveSSEStreams == 1
			}) {
				t.Fatalf("the hub did not open its listen stream again (%+v)", hf.srv.Stats())
			}
			if !tc.changeInGap {
				hf.srv.AddTools(tool)
			}
			legacy.waitNote("notifications/tools/list_changed", nil, 20*time.Second)
			n := modern.waitNote("notifications/tools/list_changed", nil, 20*time.Second)
			if !strings.Contains(string(n.Params), `"io.modelcontextprotocol/subscriptionId":`+listenID) {
				t.Errorf("list_changed without the IDE's subscription id: %s", n.raw)
			}
			if tools := legacy.ok("tools/list", nil); !strings.Contains(string(tools), tool) {
				t.Errorf("tools/list has no %s", tool)
			}
			hf.echo(t, legacy)
			hf.echo(t, modern)
		})
	}
}

// TestModernHealingListenStreamResourceUpdate: a resource update the
// server sends while the hub's subscriptions/listen stream is down is
// lost on the wire; once the reopened stream is acknowledged the hub
// tells every IDE subscribed to a resource that it was updated (a legacy
// IDE plainly, a modern one on its listen stream), so none keeps showing
// stale content.
func TestModernHealingListenStreamResourceUpdate(t *testing.T) {
	const uri, probe = "test://static", "test://probe"
	hf := startModernHeal(t)
	legacy, modern := hf.ides[0], hf.ides[1]
	legacy.ok("resources/subscribe", map[string]any{"uri": uri})
	listenID, _ := modern.start("subscriptions/listen", modern.params(map[string]any{"notifications": map[string]any{"resourceSubscriptions": []string{uri, probe}}}, nil))
	modern.waitNote("notifications/subscriptions/acknowledged", nil, 10*time.Second)
	// The probe, subscribed last, shows the hub's stream carries both
	// URIs; once the stream it replaced is closed, it is the only one.
	// (No update of uri is sent before the gap: any that reaches the IDEs
	// later comes from the hub.)
	deadline := time.Now().Add(10 * time.Second)
	for hf.srv.NotifyResourceUpdated(probe) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the hub's listen stream never carried the subscribed resources")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !hf.srv.WaitFor(10*time.Second, func(s fs.Stats) bool { return s.ActiveSSEStreams == 1 }) {
		t.Fatalf("listen streams open at the server: %d, want 1", hf.srv.Stats().ActiveSSEStreams)
	}
	// Break the stream and refuse every reopen until the update was sent
	// into the gap.
	fired := hf.srv.Stats().FaultsFired
	hf.srv.Inject(fs.Fault{Kind: fs.Status5xx, Method: "subscriptions/listen", Count: -1})
	if n := hf.srv.DropStreams(); n != 1 {
		t.Fatalf("broke %d streams, want the hub's one", n)
	}
	if !hf.srv.WaitFor(20*time.Second, func(s fs.Stats) bool { return s.FaultsFired > fired }) {
		t.Fatal("the hub did not try to reopen its listen stream")
	}
	if n := hf.srv.NotifyResourceUpdated(uri); n != 0 {
		t.Fatalf("the update went out on %d streams: there was no gap", n)
	}
	hf.srv.ClearFaults()
	if !hf.srv.WaitFor(20*time.Second, func(s fs.Stats) bool { return s.ActiveSSEStreams == 1 }) {
		t.Fatalf("the hub did not open its listen stream again (%+v)", hf.srv.Stats())
	}
	isURI := func(n *rpcResp) bool { return strings.Contains(string(n.Params), `"uri":"`+uri+`"`) }
	n := legacy.waitNote("notifications/resources/updated", isURI, 20*time.Second)
	if strings.Contains(string(n.Params), "subscriptionId") {
		t.Errorf("resources/updated to the legacy IDE with a subscription id: %s", n.raw)
	}
	n = modern.waitNote("notifications/resources/updated", isURI, 20*time.Second)
	if !strings.Contains(string(n.Params), `"io.modelcontextprotocol/subscriptionId":`+listenID) {
		t.Errorf("resources/updated to the modern IDE without its subscription id: %s", n.raw)
	}
	hf.echo(t, legacy)
	hf.echo(t, modern)
}

// TestModernHealingCallCut cuts a modern call's connection while the call
// runs and has sent nothing yet: the server restarts (the connection
// breaks before any response header), or a reconnect (the tray's
// Reconnect, `mcptray reconnect`) tears the hub's session down. Either
// loses the request as a broken stream does, so it is re-issued under a
// new id, and the IDE gets its answer, not "lost in flight".
func TestModernHealingCallCut(t *testing.T) {
	hf := startModernHeal(t)
	for _, cut := range []struct {
		name string
		do   func() error
		ms   int // the slow call's length; distinct per case, so its ids can be told apart
	}{
		{"server restart", hf.srv.Restart, 700},
		{"reconnect", func() error { return hf.hub.hub.Reconnect("s", false) }, 900},
	} {
		for _, c := range hf.ides {
			step(t, fmt.Sprintf("%s, modern-ide=%v", cut.name, c.modern), func() {
				ms := cut.ms
				if c.modern {
					ms++
				}
				mark := fmt.Sprintf(`"ms":%d`, ms)
				calls := hf.srv.Stats().Requests["tools/call"]
				_, ch := c.start("tools/call", c.params(map[string]any{"name": "slow", "arguments": map[string]any{"ms": ms}}, nil))
				if !hf.srv.WaitFor(10*time.Second, func(s fs.Stats) bool { return s.Requests["tools/call"] > calls }) {
					t.Fatal("the call never reached the server")
				}
				if err := cut.do(); err != nil {
					t.Fatal(err)
				}
				r := c.wait(ch, "slow call across the cut", 30*time.Second)
				if r.Error != nil {
					t.Errorf("the call across the cut failed: %d %s", r.Error.Code, r.Error.Message)
				}
				if ids := hf.proxy.ids("tools/call", mark); len(ids) < 2 || !distinct(ids) {
					t.Errorf("the server saw the call under ids %v, want it re-issued under a new id", ids)
				}
				hf.echo(t, c)
			})
		}
	}
}

// TestBridgeCancelledRequestAtEOF: a request the IDE cancelled is over
// for the IDE (the hub sends nothing more for it, as both eras' rules
// say); when the IDE then closes stdin, the bridge must neither wait for
// an answer to it nor write one.
func TestBridgeCancelledRequestAtEOF(t *testing.T) {
	for _, era := range []string{fs.EraLegacy, fs.EraModern} {
		step(t, era, func() {
			srv := startFault(t, fs.Options{Era: era})
			f := startHub(t, map[string]string{"s": urlEntry(srv.URL())})
			f.waitState("s", "connected", 20*time.Second)
			c := launchBridge(t, f.env(), "s", "--no-start", "--eof-grace", "300ms")
			c.initialize(nil)
			id, ch := c.start("tools/call", map[string]any{"name": "slow", "arguments": map[string]any{"ms": 60000}})
			if !srv.WaitFor(10*time.Second, func(s fs.Stats) bool { return s.Requests["tools/call"] > 0 }) {
				t.Fatal("the call never reached the server")
			}
			c.notify("notifications/cancelled", map[string]any{"requestId": json.RawMessage(id)})
			c.ok("tools/call", echoArgs("after"))
			c.stdin.Close()
			select {
			case <-c.exited:
			case <-time.After(20 * time.Second):
				t.Fatal("the bridge did not exit after stdin closed")
			}
			select {
			case r := <-ch:
				t.Errorf("the bridge answered the cancelled request: %s", r.raw)
			default:
			}
		})
	}
}
