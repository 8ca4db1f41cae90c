package mcpclient_test

import (
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
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
