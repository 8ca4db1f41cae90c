package mcpclient_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	fs "github.com/mcptray/mcptray/mcpclient/internal/faultserver"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// modernMeta is the _meta a 2026-07-28 IDE puts on every request.
func modernMeta(caps map[string]any) map[string]any {
	if caps == nil {
		caps = map[string]any{}
	}
	return map[string]any{
		"io.modelcontextprotocol/protocolVersion":    "2026-07-28",
		"io.modelcontextprotocol/clientCapabilities": caps,
		"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "modern-ide", "version": "1.0"},
	}
}

// withMeta adds the modern _meta to params.
func withModern(params map[string]any, caps map[string]any) map[string]any {
	out := map[string]any{"_meta": modernMeta(caps)}
	for k, v := range params {
		out[k] = v
	}
	return out
}

// TestEraSmoke: a legacy IDE and a modern IDE, each through the real
// bridge, against a modern-only, a dual-era and a legacy server.
func TestEraSmoke(t *testing.T) {
	for _, era := range []string{fs.EraModern, fs.EraDual, fs.EraLegacy} {
		t.Run(era, func(t *testing.T) {
			srv := startFault(t, fs.Options{Era: era})
			f := startHub(t, map[string]string{"s": urlEntry(srv.URL())})
			st := f.waitState("s", "connected", 20*time.Second)
			wantVersion := "2026-07-28"
			if era == fs.EraLegacy {
				wantVersion = "2025-11-25"
			}
			wantEra := "modern"
			if era == fs.EraLegacy {
				wantEra = "legacy"
			}
			if st.ProtocolVersion != wantVersion || st.Era != wantEra {
				t.Errorf("status: protocol %q era %q, want %q %q", st.ProtocolVersion, st.Era, wantVersion, wantEra)
			}
			cmd := exec.Command(filepath.Join(bins(t), "mcptray"), "status")
			cmd.Env = f.env()
			if out, err := cmd.Output(); err != nil || !strings.Contains(string(out), wantVersion+" ("+wantEra+")") {
				t.Errorf("mcptray status: %v\n%s", err, out)
			}
			// The control API speaks to the server in its era too.
			call := exec.Command(filepath.Join(bins(t), "mcptray"), "call", "s", "echo", `{"text":"from the cli"}`)
			call.Env = f.env()
			if out, err := call.Output(); err != nil || !strings.Contains(string(out), "from the cli") {
				t.Errorf("mcptray call: %v\n%s", err, out)
			}
			tools := exec.Command(filepath.Join(bins(t), "mcptray"), "tools", "s")
			tools.Env = f.env()
			if out, err := tools.Output(); err != nil || !strings.Contains(string(out), "elicit") {
				t.Errorf("mcptray tools: %v\n%s", err, out)
			}
			if st.EraProbe == nil || st.EraProbe.Era != wantEra || !strings.Contains(st.EraProbe.Sent, "server/discover") {
				t.Errorf("status: era probe %+v", st.EraProbe)
			}

			legacy := launchBridge(t, f.env(), "s")
			legacy.initialize(map[string]any{"elicitation": map[string]any{}})
			if got := legacy.toolText(legacy.ok("tools/call", echoArgs("hi"))); got != "hi" {
				t.Errorf("legacy echo: %q", got)
			}
			legacy.onServer = func(r *rpcResp) any {
				return map[string]any{"action": "accept", "content": map[string]any{"answer": "forty-two"}}
			}
			res := legacy.ok("tools/call", map[string]any{"name": "elicit", "arguments": map[string]any{"message": "q?"}})
			if got := legacy.toolText(res); !strings.Contains(got, "forty-two") {
				t.Errorf("legacy elicit: %q", got)
			}
			if strings.Contains(string(res), "resultType") {
				t.Errorf("legacy IDE got a resultType: %s", res)
			}

			modern := launchBridge(t, f.env(), "s")
			disc := modern.ok("server/discover", withModern(nil, nil))
			var dr struct {
				SupportedVersions []string `json:"supportedVersions"`
				ResultType        string   `json:"resultType"`
			}
			_ = json.Unmarshal(disc, &dr)
			if dr.ResultType != "complete" || len(dr.SupportedVersions) == 0 || dr.SupportedVersions[0] != "2026-07-28" {
				t.Errorf("discover: %s", disc)
			}
			r := modern.ok("tools/call", withModern(echoArgs("yo"), nil))
			if got := modern.toolText(r); got != "yo" {
				t.Errorf("modern echo: %q", got)
			}
			if !strings.Contains(string(r), `"resultType":"complete"`) {
				t.Errorf("modern IDE result without resultType: %s", r)
			}
			// One elicitation round trip, the modern way.
			ecaps := map[string]any{"elicitation": map[string]any{}}
			args := map[string]any{"name": "elicit", "arguments": map[string]any{"message": "q?"}}
			first := modern.ok("tools/call", withModern(args, ecaps))
			var ir struct {
				ResultType    string                     `json:"resultType"`
				InputRequests map[string]json.RawMessage `json:"inputRequests"`
				RequestState  *string                    `json:"requestState"`
			}
			if err := json.Unmarshal(first, &ir); err != nil || ir.ResultType != "input_required" || len(ir.InputRequests) != 1 {
				t.Fatalf("modern elicit: want input_required, got %s", first)
			}
			responses := map[string]any{}
			for k := range ir.InputRequests {
				responses[k] = map[string]any{"action": "accept", "content": map[string]any{"answer": "seven"}}
			}
			retry := map[string]any{"name": "elicit", "arguments": map[string]any{"message": "q?"}, "inputResponses": responses}
			if ir.RequestState != nil {
				retry["requestState"] = *ir.RequestState
			}
			if got := modern.toolText(modern.ok("tools/call", withModern(retry, ecaps))); !strings.Contains(got, "seven") {
				t.Errorf("modern elicit after input: %q", got)
			}

			bad := modern.call("tools/list", map[string]any{"_meta": map[string]any{"io.modelcontextprotocol/protocolVersion": "2099-01-01"}})
			if bad.Error == nil || bad.Error.Code != jsonrpc.CodeUnsupportedProtocolVersion {
				t.Errorf("unsupported version: %+v", bad.Error)
			}
		})
	}
}

// TestModernListCache: a modern server's list results are served from
// the hub's cache for their ttlMs, and a list change empties it.
func TestModernListCache(t *testing.T) {
	srv := startFault(t, fs.Options{Era: fs.EraModern, ListTTL: time.Hour})
	f := startHub(t, map[string]string{"s": urlEntry(srv.URL())})
	f.waitState("s", "connected", 20*time.Second)
	modern := launchBridge(t, f.env(), "s")
	legacy := launchBridge(t, f.env(), "s")
	legacy.initialize(nil)
	// The hub's own list refresh after connecting may still be on its way.
	srv.WaitFor(10*time.Second, func(st fs.Stats) bool { return st.Requests["tools/list"] >= 1 })
	listTools := func(c *ide, modernIDE bool) string {
		var params map[string]any
		if modernIDE {
			params = withModern(nil, nil)
		}
		return string(c.ok("tools/list", params))
	}
	first := listTools(modern, true)
	before := srv.Stats().Requests["tools/list"]
	for i := 0; i < 3; i++ {
		if got := listTools(modern, true); got != first {
			t.Fatalf("cached list differs: %s vs %s", got, first)
		}
		if got := listTools(legacy, false); strings.Contains(got, "resultType") {
			t.Errorf("legacy IDE got the modern resultType from the cache: %s", got)
		}
	}
	if n := srv.Stats().Requests["tools/list"]; n != before {
		t.Errorf("the server saw %d more tools/list; want them answered from the cache", n-before)
	}
	// A change on the server reaches the hub's listen stream and empties
	// the cache: the next list has the new tool.
	srv.AddTools("brand_new")
	legacy.waitNote("notifications/tools/list_changed", nil, 10*time.Second)
	if got := listTools(modern, true); !strings.Contains(got, "brand_new") {
		t.Errorf("after the change the list is stale: %s", got)
	}
}

// TestParamHeaders: a modern server's tool whose parameter is marked
// x-mcp-header gets that parameter as an Mcp-Param-* header from the hub
// (mcp-go refuses the call with -32020 without it); a value that is not
// plain ASCII goes base64-encoded. Both IDE eras call it.
func TestParamHeaders(t *testing.T) {
	srv := startFault(t, fs.Options{Era: fs.EraModern})
	srv.AddTools("headered")
	f := startHub(t, map[string]string{"s": urlEntry(srv.URL())})
	f.waitState("s", "connected", 20*time.Second)
	legacy := launchBridge(t, f.env(), "s")
	legacy.initialize(nil)
	modern := launchBridge(t, f.env(), "s")
	for _, region := range []string{"eu-west-1", "Zürich"} {
		args := map[string]any{"name": "headered", "arguments": map[string]any{"region": region, "query": "q"}}
		if got := legacy.toolText(legacy.ok("tools/call", args)); got != "region "+region {
			t.Errorf("legacy IDE: %q", got)
		}
		if got := modern.toolText(modern.ok("tools/call", withModern(args, nil))); got != "region "+region {
			t.Errorf("modern IDE: %q", got)
		}
	}
}

// TestDiscoverWhileDown: the hub answers a modern IDE's server/discover
// itself, also while the server cannot be reached; and one bridge
// connection takes a legacy session and modern requests side by side.
func TestDiscoverWhileDown(t *testing.T) {
	srv := startFault(t, fs.Options{Era: fs.EraModern})
	f := startHub(t, map[string]string{"s": urlEntry(srv.URL())})
	f.waitState("s", "connected", 20*time.Second)
	c := launchBridge(t, f.env(), "s")
	c.initialize(nil)
	if got := c.toolText(c.ok("tools/call", echoArgs("legacy"))); got != "legacy" {
		t.Errorf("legacy call: %q", got)
	}
	if got := c.toolText(c.ok("tools/call", withModern(echoArgs("modern"), nil))); got != "modern" {
		t.Errorf("modern call on the same connection: %q", got)
	}
	srv.Close()
	f.waitState("s", "backoff", 20*time.Second)
	disc := c.ok("server/discover", withModern(nil, nil))
	var dr struct {
		SupportedVersions []string                   `json:"supportedVersions"`
		Capabilities      map[string]json.RawMessage `json:"capabilities"`
		Meta              map[string]struct {
			Name string `json:"name"`
		} `json:"_meta"`
	}
	if err := json.Unmarshal(disc, &dr); err != nil || len(dr.SupportedVersions) == 0 || dr.Capabilities["tools"] == nil || dr.Meta["io.modelcontextprotocol/serverInfo"].Name != "faultserver" {
		t.Errorf("discover while the server is down: %s", disc)
	}
}

// TestResourceUpdatesAcrossEras: a legacy IDE's resources/subscribe on a
// modern server rides the hub's subscriptions/listen stream, and a modern
// IDE's subscriptions/listen on a legacy server rides the hub's
// resources/subscribe; each IDE gets resources/updated in its own era.
func TestResourceUpdatesAcrossEras(t *testing.T) {
	const uri = "test://static"
	t.Run("legacy IDE, modern server", func(t *testing.T) {
		srv := startFault(t, fs.Options{Era: fs.EraModern})
		f := startHub(t, map[string]string{"s": urlEntry(srv.URL())})
		f.waitState("s", "connected", 20*time.Second)
		c := launchBridge(t, f.env(), "s")
		c.initialize(nil)
		c.ok("resources/subscribe", map[string]any{"uri": uri})
		deadline := time.Now().Add(10 * time.Second)
		for srv.NotifyResourceUpdated(uri) == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond) // the hub reopens its listen stream with the URI
		}
		n := c.waitNote("notifications/resources/updated", nil, 10*time.Second)
		if !strings.Contains(string(n.Params), uri) || strings.Contains(string(n.Params), "subscriptionId") {
			t.Errorf("update: %s", n.Params)
		}
	})
	t.Run("modern IDE, legacy server", func(t *testing.T) {
		srv := startFault(t, fs.Options{Era: fs.EraLegacy, ResourceSubscribe: true})
		f := startHub(t, map[string]string{"s": urlEntry(srv.URL())})
		f.waitState("s", "connected", 20*time.Second)
		c := launchBridge(t, f.env(), "s")
		id, _ := c.start("subscriptions/listen", withModern(map[string]any{"notifications": map[string]any{"toolsListChanged": true, "resourceSubscriptions": []string{uri}}}, nil))
		ack := c.waitNote("notifications/subscriptions/acknowledged", nil, 10*time.Second)
		if !strings.Contains(string(ack.Params), `subscriptionId":`+id) || !strings.Contains(string(ack.Params), uri) {
			t.Errorf("ack: %s", ack.Params)
		}
		deadline := time.Now().Add(10 * time.Second)
		for srv.NotifyResourceUpdated(uri) == 0 && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond) // the hub subscribes upstream
		}
		n := c.waitNote("notifications/resources/updated", nil, 10*time.Second)
		if !strings.Contains(string(n.Params), uri) || !strings.Contains(string(n.Params), `subscriptionId":`+id) {
			t.Errorf("update: %s", n.Params)
		}
		srv.AddTools("another")
		n = c.waitNote("notifications/tools/list_changed", nil, 10*time.Second)
		if !strings.Contains(string(n.Params), `subscriptionId":`+id) {
			t.Errorf("list change: %s", n.Params)
		}
		// Cancelling the listen ends the stream: no more notifications.
		c.notify("notifications/cancelled", map[string]any{"requestId": json.RawMessage(id)})
		time.Sleep(200 * time.Millisecond)
		srv.AddTools("yet_another")
		time.Sleep(500 * time.Millisecond)
		c.mu.Lock()
		for _, note := range c.notes {
			if note.Method == "notifications/tools/list_changed" {
				t.Errorf("a list change after the listen was cancelled: %s", note.raw)
			}
		}
		c.mu.Unlock()
	})
}

// TestRequestLogsReachTheirModernIDE: a log message a modern server sends
// about a modern IDE's request (which asked for logs with logLevel)
// reaches that IDE, and no other modern IDE.
func TestRequestLogsReachTheirModernIDE(t *testing.T) {
	// ForceSSE: mcp-go v1.2.1 answers a modern request with JSON when it
	// has sent nothing yet, and a log notification sent during the first
	// such request is lost on the server's side.
	srv := startFault(t, fs.Options{Era: fs.EraModern, ForceSSE: true})
	srv.AddTools("log")
	f := startHub(t, map[string]string{"s": urlEntry(srv.URL())})
	f.waitState("s", "connected", 20*time.Second)
	asker := launchBridge(t, f.env(), "s")
	other := launchBridge(t, f.env(), "s")
	other.ok("server/discover", withModern(nil, nil))
	params := withModern(map[string]any{"name": "log", "arguments": map[string]any{"text": "hello log"}}, nil)
	params["_meta"].(map[string]any)["io.modelcontextprotocol/logLevel"] = "debug"
	if got := asker.toolText(asker.ok("tools/call", params)); got != "logged hello log" {
		t.Fatalf("log tool: %q", got)
	}
	n := asker.waitNote("notifications/message", nil, 10*time.Second)
	if !strings.Contains(string(n.Params), "hello log") {
		t.Errorf("log message: %s", n.Params)
	}
	// A server/discover's answer comes after anything the hub queued for
	// the other IDE before it.
	other.ok("server/discover", withModern(nil, nil))
	other.mu.Lock()
	defer other.mu.Unlock()
	for _, note := range other.notes {
		if note.Method == "notifications/message" {
			t.Errorf("another modern IDE got the request's log: %s", note.raw)
		}
	}
}

// TestListenFilterChangeLeavesNoGap: when IDEs change what the hub's
// subscriptions/listen stream must carry (a new resource subscription),
// the new stream opens before the old one closes, so at every moment some
// stream of the hub's carries the resources already subscribed.
func TestListenFilterChangeLeavesNoGap(t *testing.T) {
	srv := startFault(t, fs.Options{Era: fs.EraModern})
	f := startHub(t, map[string]string{"s": urlEntry(srv.URL())})
	f.waitState("s", "connected", 20*time.Second)
	a := launchBridge(t, f.env(), "s")
	a.initialize(nil)
	a.ok("resources/subscribe", map[string]any{"uri": "test://one"})
	deadline := time.Now().Add(10 * time.Second)
	for srv.NotifyResourceUpdated("test://one") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the hub's listen stream never carried test://one")
		}
		time.Sleep(10 * time.Millisecond)
	}
	b := launchBridge(t, f.env(), "s")
	b.initialize(nil)
	_, ch := b.start("resources/subscribe", map[string]any{"uri": "test://two"})
	// Until the stream with both URIs is there, and a while after, every
	// update of test://one finds a stream to go on.
	gaps, checks := 0, 0
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); checks++ {
		if srv.NotifyResourceUpdated("test://one") == 0 {
			gaps++
		}
		if checks > 200 && srv.NotifyResourceUpdated("test://two") > 0 {
			break
		}
	}
	b.wait(ch, "resources/subscribe", 10*time.Second)
	if gaps > 0 {
		t.Errorf("%d of %d updates of test://one found no listen stream while the filter changed", gaps, checks)
	}
	a.waitNote("notifications/resources/updated", nil, 5*time.Second)
}

// TestSilentDiscoverFallsBackToLegacy: a legacy server that never answers
// a sessionless server/discover (it holds the request open) is reached
// all the same: the legacy connect starts beside the silent probe, its
// session wins, and the era is remembered, so the hub's next start does
// not probe at all.
func TestSilentDiscoverFallsBackToLegacy(t *testing.T) {
	srv := startFault(t, fs.Options{Era: fs.EraLegacy})
	srv.Inject(fs.Fault{Kind: fs.Stall, Method: "server/discover", Count: -1})
	f := startHub(t, map[string]string{"s": urlEntry(srv.URL())})
	st := f.waitState("s", "connected", 20*time.Second)
	if st.Era != "legacy" || st.EraProbe == nil || !strings.Contains(st.EraProbe.Answer, "no answer") || !strings.Contains(st.EraProbe.Reason, "initialize answered") {
		t.Errorf("status: era %q, probe %+v", st.Era, st.EraProbe)
	}
	c := launchBridge(t, f.env(), "s")
	c.initialize(nil)
	if got := c.toolText(c.ok("tools/call", echoArgs("through"))); got != "through" {
		t.Errorf("call: %q", got)
	}
	probes := srv.Stats().Requests["server/discover"]
	if probes != 1 {
		t.Errorf("server/discover sent %d times, want 1", probes)
	}
	f.stop()
	f.start()
	f.waitState("s", "connected", 20*time.Second)
	if n := srv.Stats().Requests["server/discover"]; n != probes {
		t.Errorf("the restarted hub probed again (%d server/discover, want %d): the legacy era was not remembered", n, probes)
	}
}

// TestModernRequestValidation: through the bridge (stdio, where no HTTP
// status exists), a request that names a protocol version in its _meta
// is held to revision 2026-07-28's rules: the required _meta fields
// (-32602), a version the hub does not serve (-32022, listing the ones it
// does and echoing the one asked for), and the methods the revision
// removed (-32601), while the same methods without that _meta still serve
// a legacy IDE.
func TestModernRequestValidation(t *testing.T) {
	srv := startFault(t, fs.Options{Era: fs.EraDual})
	f := startHub(t, map[string]string{"s": urlEntry(srv.URL())})
	f.waitState("s", "connected", 20*time.Second)
	c := launchBridge(t, f.env(), "s")
	noCaps := map[string]any{"_meta": map[string]any{"io.modelcontextprotocol/protocolVersion": "2026-07-28"}}
	if r := c.call("tools/list", noCaps); r.Error == nil || r.Error.Code != jsonrpc.CodeInvalidParams || !strings.Contains(r.Error.Message, "clientCapabilities") {
		t.Errorf("no clientCapabilities: %+v", r.Error)
	}
	unknown := withModern(nil, nil)
	unknown["_meta"].(map[string]any)["io.modelcontextprotocol/protocolVersion"] = "v999.0.0"
	r := c.call("server/discover", unknown)
	if r.Error == nil || r.Error.Code != jsonrpc.CodeUnsupportedProtocolVersion {
		t.Fatalf("unknown version: %+v", r.Error)
	}
	var data struct {
		Supported []string `json:"supported"`
		Requested string   `json:"requested"`
	}
	if json.Unmarshal(r.Error.Data, &data) != nil || data.Requested != "v999.0.0" || !slices.Contains(data.Supported, "2026-07-28") {
		t.Errorf("unknown version: data %s", r.Error.Data)
	}
	for _, method := range []string{"initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe"} {
		if r := c.call(method, withModern(map[string]any{"uri": "test://static", "level": "info"}, nil)); r.Error == nil || r.Error.Code != jsonrpc.CodeMethodNotFound {
			t.Errorf("%s with 2026-07-28 _meta: %+v, want -32601", method, r.Error)
		}
	}
	// The same connection still serves the legacy era.
	c.initialize(nil)
	c.ok("ping", nil)
	if got := c.toolText(c.ok("tools/call", echoArgs("still legacy"))); got != "still legacy" {
		t.Errorf("legacy call: %q", got)
	}
}

// TestListenEndedAtOnceIsNotPolled: a modern server that ends the hub's
// subscriptions/listen at once with a result (as the conformance suite's
// servers answer every method they do not know), before or just after
// acknowledging it, keeps no subscription. The hub reopens such a stream
// with a backoff instead of every 100 ms.
func TestListenEndedAtOnceIsNotPolled(t *testing.T) {
	for _, acked := range []bool{false, true} {
		t.Run(fmt.Sprintf("acknowledged=%v", acked), func(t *testing.T) {
			t.Parallel()
			var listens atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost {
					w.WriteHeader(http.StatusMethodNotAllowed)
					return
				}
				var m struct {
					ID     json.RawMessage `json:"id"`
					Method string          `json:"method"`
				}
				_ = json.NewDecoder(r.Body).Decode(&m)
				if m.ID == nil {
					w.WriteHeader(http.StatusAccepted)
					return
				}
				result := `{"resultType":"complete"}`
				switch m.Method {
				case "server/discover":
					result = `{"resultType":"complete","supportedVersions":["2026-07-28"],"capabilities":{"tools":{"listChanged":true}},"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"brief","version":"1"}}}`
				case "subscriptions/listen":
					listens.Add(1)
					if acked {
						w.Header().Set("Content-Type", "text/event-stream")
						fmt.Fprintf(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/subscriptions/acknowledged\",\"params\":{\"_meta\":{\"io.modelcontextprotocol/subscriptionId\":%s},\"notifications\":{\"toolsListChanged\":true}}}\n\n", m.ID)
						fmt.Fprintf(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"resultType\":\"complete\"}}\n\n", m.ID)
						return
					}
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":%s}`, m.ID, result)
			}))
			defer srv.Close()
			f := startHub(t, map[string]string{"s": urlEntry(srv.URL + "/mcp")})
			f.waitState("s", "connected", 20*time.Second)
			time.Sleep(2500 * time.Millisecond)
			// Reopened after about 1 s, then 2 s (acknowledged: each 1 s);
			// every 100 ms would be some 25.
			if n := listens.Load(); n < 1 || n > 4 {
				t.Errorf("%d subscriptions/listen requests in 2.5 s, want 1 to 4", n)
			}
		})
	}
}
