package mcpclient_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	fs "github.com/mcptray/mcptray/mcpclient/internal/faultserver"
	"github.com/mcptray/mcptray/mcpclient/internal/testenv"
)

// The era matrix (issue 10): an IDE of either era, through the real
// bridge, reaches a server of any era through the same hub. Each cell runs
// the same script: lists and calls, a resource, a prompt, progress, a list
// change, one elicitation, a cancel, and a server restart on the same port
// after which the same bridge answers the next call.

// eraIDE is the fake IDE of the harness speaking one era: a legacy IDE
// initializes and answers server→client requests; a modern one never
// initializes and puts the 2026-07-28 _meta on every request.
type eraIDE struct {
	*ide
	modern bool
	caps   map[string]any
}

// params shapes a request's params for the IDE's era; extraMeta goes into
// _meta (e.g. a progressToken).
func (c *eraIDE) params(p map[string]any, extraMeta map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range p {
		out[k] = v
	}
	meta := map[string]any{}
	if c.modern {
		meta = modernMeta(c.caps)
	}
	for k, v := range extraMeta {
		meta[k] = v
	}
	if len(meta) > 0 {
		out["_meta"] = meta
	}
	return out
}

func (c *eraIDE) okp(method string, p map[string]any) json.RawMessage {
	c.t.Helper()
	res := c.ok(method, c.params(p, nil))
	rt := resultTypeOf(res)
	switch {
	case c.modern && rt != "complete" && rt != "input_required":
		c.t.Errorf("%s: a modern IDE got resultType %q: %s", method, rt, res)
	case !c.modern && rt != "":
		c.t.Errorf("%s: a legacy IDE got resultType %q: %s", method, rt, res)
	}
	return res
}

func resultTypeOf(res json.RawMessage) string {
	var r struct {
		ResultType string `json:"resultType"`
	}
	_ = json.Unmarshal(res, &r)
	return r.ResultType
}

// setOnServer installs the IDE's answer to server→client requests.
func (c *ide) setOnServer(h func(*rpcResp) any) {
	c.mu.Lock()
	c.onServer = h
	c.mu.Unlock()
}

// serverRequests is how many server→client requests of method the IDE got.
func (c *ide) serverRequests(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, m := range c.fromHub {
		if m.Method == method {
			n++
		}
	}
	return n
}

// matrixServer is one upstream of the matrix and what the script needs to
// know about it.
type matrixServer struct {
	era       string     // fs.EraLegacy, fs.EraDual, fs.EraModern; "everything"
	fault     *fs.Server // nil for server-everything
	ev        *testenv.Everything
	url       string
	version   string // the version the hub should settle on
	echo      func(text string) map[string]any
	echoText  func(text string) string
	resource  string
	prompt    map[string]any
	promptHas string
	progress  func(n int) map[string]any
	slow      map[string]any
	elicit    map[string]any
}

func faultMatrixServer(t *testing.T, era string) *matrixServer {
	srv := startFault(t, fs.Options{Era: era, ResourceSubscribe: true})
	v := fs.ModernVersion
	if era == fs.EraLegacy {
		v = "2025-11-25"
	}
	return &matrixServer{
		era: era, fault: srv, url: srv.URL(), version: v,
		echo:      echoArgs,
		echoText:  func(s string) string { return s },
		resource:  "test://static",
		prompt:    map[string]any{"name": "greet", "arguments": map[string]any{"name": "matrix"}},
		promptHas: "Hello, matrix!",
		progress: func(n int) map[string]any {
			return map[string]any{"name": "progress", "arguments": map[string]any{"count": n, "ms": 5}}
		},
		slow:   map[string]any{"name": "slow", "arguments": map[string]any{"ms": 60000}},
		elicit: map[string]any{"name": "elicit", "arguments": map[string]any{"message": "q?"}},
	}
}

func everythingMatrixServer(t *testing.T) *matrixServer {
	ev := testenv.StartEverything(t, testenv.TransportStreamable, 0)
	return &matrixServer{
		era: "everything", ev: ev, url: ev.URL(), version: "2025-11-25",
		echo: func(s string) map[string]any {
			return map[string]any{"name": "echo", "arguments": map[string]any{"message": s}}
		},
		echoText:  func(s string) string { return "Echo: " + s },
		resource:  "", // the first of resources/list
		prompt:    map[string]any{"name": "simple-prompt"},
		promptHas: "",
		progress: func(n int) map[string]any {
			return map[string]any{"name": "trigger-long-running-operation", "arguments": map[string]any{"duration": 0.1 * float64(n), "steps": n}}
		},
		slow:   map[string]any{"name": "trigger-long-running-operation", "arguments": map[string]any{"duration": 60, "steps": 600}},
		elicit: map[string]any{"name": "trigger-elicitation-request", "arguments": map[string]any{}},
	}
}

func (s *matrixServer) restart(t *testing.T) {
	t.Helper()
	if s.fault != nil {
		if err := s.fault.Restart(); err != nil {
			t.Fatal(err)
		}
		return
	}
	s.ev.Kill()
	s.ev.Restart()
}

// TestEraMatrix runs the matrix: IDE {legacy, modern} × server {legacy,
// dual-era, modern-only} fault servers, plus server-everything as the
// legacy reference. One hub per server; a bridge per cell.
func TestEraMatrix(t *testing.T) {
	for _, kind := range []string{fs.EraLegacy, fs.EraDual, fs.EraModern, "everything"} {
		t.Run("server="+kind, func(t *testing.T) {
			var srv *matrixServer
			if kind == "everything" {
				srv = everythingMatrixServer(t)
			} else {
				srv = faultMatrixServer(t, kind)
			}
			f := startHub(t, map[string]string{"s": urlEntry(srv.url)})
			st := f.waitState("s", "connected", 20*time.Second)
			if st.ProtocolVersion != srv.version {
				t.Errorf("the hub speaks %q to a %s server, want %q", st.ProtocolVersion, kind, srv.version)
			}
			for _, modern := range []bool{false, true} {
				name := "ide=legacy"
				if modern {
					name = "ide=modern"
				}
				t.Run(name, func(t *testing.T) { runMatrixCell(t, f, srv, modern) })
			}
		})
	}
}

// step runs one part of a cell's script, logging its name (the fake IDE
// reports to the cell's t, so the parts are not subtests).
func step(t *testing.T, name string, f func()) {
	t.Helper()
	t.Logf("-- %s", name)
	f()
}

func runMatrixCell(t *testing.T, f *hubFixture, srv *matrixServer, modern bool) {
	caps := map[string]any{"elicitation": map[string]any{}}
	c := &eraIDE{ide: launchBridge(t, f.env(), "s", "--no-start", "--eof-grace", "200ms"), modern: modern, caps: caps}
	elicitAnswer := map[string]any{"action": "accept", "content": map[string]any{"answer": "forty-two"}}
	wantElicit := "forty-two"
	if srv.fault == nil {
		// server-everything's form has required fields of its own; a
		// decline needs no content.
		elicitAnswer, wantElicit = map[string]any{"action": "decline"}, "decline"
	}
	if !modern {
		c.setOnServer(func(m *rpcResp) any {
			if m.Method == "elicitation/create" {
				return elicitAnswer
			}
			return map[string]any{}
		})
		c.initialize(caps)
	} else {
		disc := c.okp("server/discover", nil)
		if !strings.Contains(string(disc), `"2026-07-28"`) {
			t.Errorf("server/discover: %s", disc)
		}
	}

	step(t, "tools", func() {
		tools := c.okp("tools/list", nil)
		if !strings.Contains(string(tools), `"name":"echo"`) {
			t.Errorf("tools/list has no echo: %s", tools)
		}
		if got := c.toolText(c.okp("tools/call", srv.echo("cell"))); got != srv.echoText("cell") {
			t.Errorf("echo: %q", got)
		}
	})

	step(t, "resources-prompts", func() {
		uri := srv.resource
		if uri == "" {
			var rl struct {
				Resources []struct{ URI string }
			}
			_ = json.Unmarshal(c.okp("resources/list", nil), &rl)
			if len(rl.Resources) == 0 {
				t.Fatal("resources/list is empty")
			}
			uri = rl.Resources[0].URI
		}
		rr := c.okp("resources/read", map[string]any{"uri": uri})
		if !strings.Contains(string(rr), uri) {
			t.Errorf("resources/read %s: %s", uri, rr)
		}
		pg := c.okp("prompts/get", srv.prompt)
		if !strings.Contains(string(pg), `"messages"`) || !strings.Contains(string(pg), srv.promptHas) {
			t.Errorf("prompts/get: %s", pg)
		}
	})

	step(t, "progress", func() {
		tok := fmt.Sprintf("tok-%v-%d", modern, time.Now().UnixNano())
		res := c.ok("tools/call", c.params(srv.progress(3), map[string]any{"progressToken": tok}))
		if strings.HasPrefix(c.toolText(res), "ERROR") {
			t.Fatalf("progress tool: %s", res)
		}
		for i := 0; i < 3; i++ {
			c.waitNote("notifications/progress", func(n *rpcResp) bool {
				return strings.Contains(string(n.Params), `"progressToken":"`+tok+`"`)
			}, 10*time.Second)
		}
	})

	step(t, "list-changed", func() {
		if srv.fault == nil {
			t.Log("list-changed: skipped for server-everything, which has no way to change its lists on demand; the fault server's legacy row covers a legacy server")
			return
		}
		tool := fmt.Sprintf("added_%v_%d", modern, time.Now().UnixNano())
		var listenID string
		if modern {
			var ch <-chan *rpcResp
			listenID, ch = c.start("subscriptions/listen", c.params(map[string]any{"notifications": map[string]any{"toolsListChanged": true}}, nil))
			ack := c.waitNote("notifications/subscriptions/acknowledged", func(n *rpcResp) bool {
				return strings.Contains(string(n.Params), `"io.modelcontextprotocol/subscriptionId":`+listenID)
			}, 10*time.Second)
			if !strings.Contains(string(ack.Params), `"toolsListChanged":true`) {
				t.Errorf("acknowledged without toolsListChanged: %s", ack.Params)
			}
			defer func() {
				c.notify("notifications/cancelled", map[string]any{"requestId": json.RawMessage(listenID)})
				select {
				case r := <-ch:
					t.Errorf("the listen stream was answered: %s", r.raw)
				default:
				}
			}()
		}
		srv.fault.AddTools(tool)
		n := c.waitNote("notifications/tools/list_changed", nil, 10*time.Second)
		if modern && !strings.Contains(string(n.Params), `"io.modelcontextprotocol/subscriptionId":`+listenID) {
			t.Errorf("list_changed to a modern IDE without its subscription id: %s", n.raw)
		}
		if !modern && strings.Contains(string(n.raw), "subscriptionId") {
			t.Errorf("list_changed to a legacy IDE with a subscription id: %s", n.raw)
		}
		if tools := c.okp("tools/list", nil); !strings.Contains(string(tools), `"name":"`+tool+`"`) {
			t.Errorf("tools/list after the change has no %s: %s", tool, tools)
		}
	})

	step(t, "resource-updated", func() {
		if srv.fault == nil {
			t.Log("resource-updated: skipped for server-everything (its updates are simulated on a timer)")
			return
		}
		// legacy IDE: resources/subscribe; modern IDE: a listen stream
		// with resourceSubscriptions. The hub subscribes upstream in the
		// background, so the update is sent until one lands.
		uri := srv.resource
		if modern {
			id, _ := c.start("subscriptions/listen", c.params(map[string]any{"notifications": map[string]any{"resourceSubscriptions": []string{uri}}}, nil))
			ack := c.waitNote("notifications/subscriptions/acknowledged", func(n *rpcResp) bool {
				return strings.Contains(string(n.Params), `"io.modelcontextprotocol/subscriptionId":`+id)
			}, 10*time.Second)
			if !strings.Contains(string(ack.Params), uri) {
				t.Errorf("acknowledged without the resource: %s", ack.Params)
			}
			defer c.notify("notifications/cancelled", map[string]any{"requestId": json.RawMessage(id)})
		} else {
			c.okp("resources/subscribe", map[string]any{"uri": uri})
			defer c.okp("resources/unsubscribe", map[string]any{"uri": uri})
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			srv.fault.NotifyResourceUpdated(uri)
			c.mu.Lock()
			got := false
			for _, n := range c.notes {
				got = got || (n.Method == "notifications/resources/updated" && strings.Contains(string(n.Params), uri))
			}
			c.mu.Unlock()
			if got {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no notifications/resources/updated")
			}
			time.Sleep(20 * time.Millisecond)
		}
		n := c.waitNote("notifications/resources/updated", nil, time.Second)
		if modern != strings.Contains(string(n.Params), "subscriptionId") {
			t.Errorf("resources/updated to a modern=%v IDE: %s", modern, n.raw)
		}
		for { // drop the extra ones the loop caused
			c.mu.Lock()
			left := 0
			for _, n := range c.notes {
				if n.Method == "notifications/resources/updated" {
					left++
				}
			}
			c.mu.Unlock()
			if left == 0 {
				break
			}
			c.waitNote("notifications/resources/updated", nil, time.Second)
		}
	})

	step(t, "elicitation", func() {
		var got string
		if !modern {
			before := c.serverRequests("elicitation/create")
			got = c.toolText(c.okp("tools/call", srv.elicit))
			if c.serverRequests("elicitation/create") != before+1 {
				t.Errorf("the legacy IDE got %d elicitation/create requests, want 1", c.serverRequests("elicitation/create")-before)
			}
		} else {
			first := c.okp("tools/call", srv.elicit)
			var ir struct {
				ResultType    string `json:"resultType"`
				InputRequests map[string]struct {
					Method string `json:"method"`
				} `json:"inputRequests"`
				RequestState *string `json:"requestState"`
			}
			if err := json.Unmarshal(first, &ir); err != nil || ir.ResultType != "input_required" || len(ir.InputRequests) != 1 {
				t.Fatalf("want one input request, got %s", first)
			}
			responses := map[string]any{}
			for k, r := range ir.InputRequests {
				if r.Method != "elicitation/create" {
					t.Errorf("input request %s is %q", k, r.Method)
				}
				responses[k] = elicitAnswer
			}
			retry := map[string]any{"inputResponses": responses}
			for k, v := range srv.elicit {
				retry[k] = v
			}
			if ir.RequestState != nil {
				retry["requestState"] = *ir.RequestState
			}
			got = c.toolText(c.okp("tools/call", retry))
		}
		if !strings.Contains(got, wantElicit) {
			t.Errorf("elicitation result %q, want %q in it", got, wantElicit)
		}
	})

	step(t, "cancel", func() {
		var cancelledBefore, callsBefore int
		if srv.fault != nil {
			cancelledBefore = srv.fault.Cancelled()
			callsBefore = srv.fault.Stats().Requests["tools/call"]
		}
		id, ch := c.start("tools/call", c.params(srv.slow, map[string]any{"progressToken": "slow-" + fmt.Sprint(modern)}))
		if srv.fault != nil {
			if !srv.fault.WaitFor(10*time.Second, func(s fs.Stats) bool { return s.Requests["tools/call"] > callsBefore }) {
				t.Fatal("the slow call never reached the server")
			}
		} else {
			// server-everything reports its first step at once.
			c.waitNote("notifications/progress", func(n *rpcResp) bool {
				return strings.Contains(string(n.Params), `"slow-`+fmt.Sprint(modern)+`"`)
			}, 10*time.Second)
		}
		c.notify("notifications/cancelled", map[string]any{"requestId": json.RawMessage(id), "reason": "matrix"})
		if srv.fault != nil {
			deadline := time.Now().Add(10 * time.Second)
			for srv.fault.Cancelled() <= cancelledBefore {
				if time.Now().After(deadline) {
					t.Fatal("the server never saw the cancel")
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		// A call after the cancel is answered; the cancelled one is not.
		c.okp("tools/call", srv.echo("after-cancel"))
		select {
		case r := <-ch:
			t.Errorf("the cancelled call was answered: %s", r.raw)
		default:
		}
	})

	step(t, "restart", func() {
		srv.restart(t)
		for i := 0; i < 2; i++ {
			if got := c.toolText(c.okp("tools/call", srv.echo(fmt.Sprint("after-restart-", i)))); got != srv.echoText(fmt.Sprint("after-restart-", i)) {
				t.Errorf("after restart: %q", got)
			}
		}
		c.okp("tools/list", nil)
	})
}
