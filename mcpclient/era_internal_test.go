package mcpclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/transport"
)

// eraServer answers server/discover as a row says, and initialize as a
// legacy Streamable HTTP server. It records the methods and the headers
// of the modern requests it saw.
type eraServer struct {
	discover func(w http.ResponseWriter, id json.RawMessage, version string)
	// modernOnly refuses initialize as a 2026-07-28-only server does.
	modernOnly bool
	// discoverHangs: server/discover is never answered (the request is
	// held until the client goes away), as some legacy servers do with a
	// sessionless request; discoverDelay holds it that long first.
	discoverHangs bool
	discoverDelay time.Duration
	mu            sync.Mutex
	methods       []string
	headers       []http.Header
}

func (e *eraServer) start(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "no", http.StatusMethodNotAllowed)
			return
		}
		b, _ := io.ReadAll(r.Body)
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				Meta map[string]json.RawMessage `json:"_meta"`
			} `json:"params"`
		}
		_ = json.Unmarshal(b, &m)
		e.mu.Lock()
		e.methods = append(e.methods, m.Method)
		e.headers = append(e.headers, r.Header.Clone())
		e.mu.Unlock()
		switch {
		case m.Method == "server/discover" && e.discoverHangs:
			<-r.Context().Done()
		case m.Method == "server/discover":
			select {
			case <-time.After(e.discoverDelay):
			case <-r.Context().Done():
				return
			}
			var v string
			_ = json.Unmarshal(m.Params.Meta[metaProtocolVersion], &v)
			e.discover(w, m.ID, v)
		case e.modernOnly:
			jsonAnswer(w, 400, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"error":{"code":-32022,"message":"Unsupported protocol version","data":{"supported":["2026-07-28"]}}}`, orNull(m.ID)))
		case m.ID == nil:
			w.WriteHeader(http.StatusAccepted)
		default:
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Mcp-Session-Id", "s1")
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"legacy","version":"1"}}}`, m.ID)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp"
}

func orNull(id json.RawMessage) json.RawMessage {
	if id == nil {
		return json.RawMessage("null")
	}
	return id
}

func jsonAnswer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// TestEraProbe drives connect's era detection against the answers a
// server of each era gives to a modern server/discover, as the
// Streamable HTTP binding's "Backward Compatibility" section lists them.
func TestEraProbe(t *testing.T) {
	discoverOK := func(versions string) func(http.ResponseWriter, json.RawMessage, string) {
		return func(w http.ResponseWriter, id json.RawMessage, _ string) {
			jsonAnswer(w, 200, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":{"resultType":"complete","supportedVersions":%s,"capabilities":{"tools":{"listChanged":true}},"_meta":{"io.modelcontextprotocol/serverInfo":{"name":"modern","version":"2"}}}}`, id, versions))
		}
	}
	rows := []struct {
		name       string
		discover   func(http.ResponseWriter, json.RawMessage, string)
		modernOnly bool
		pin        string
		cached     string
		wantEra    string // "" = an error
		wantErr    func(error) bool
		wantCalls  string
		wantProbe  string // in the recorded probe's answer, when set
		// For the race of a silent probe with the legacy connect
		// (Tuning.DiscoverWait, 300 ms here).
		discoverHangs bool
		discoverDelay time.Duration
	}{
		{name: "DiscoverResult", discover: discoverOK(`["2026-07-28","2025-11-25"]`), wantEra: eraModern, wantCalls: "server/discover"},
		{
			name: "unsupported version names a modern one",
			discover: func(w http.ResponseWriter, id json.RawMessage, v string) {
				if v == "2026-07-28" {
					discoverOK(`["2026-07-28"]`)(w, id, v)
					return
				}
				jsonAnswer(w, 400, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"error":{"code":-32022,"message":"Unsupported protocol version","data":{"supported":["2026-07-28"],"requested":%q}}}`, id, v))
			},
			pin: "", wantEra: eraModern, wantCalls: "server/discover",
		},
		{
			name: "unsupported version names only legacy ones",
			discover: func(w http.ResponseWriter, id json.RawMessage, v string) {
				jsonAnswer(w, 400, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"error":{"code":-32022,"message":"Unsupported protocol version","data":{"supported":["2025-11-25"]}}}`, id))
			},
			wantEra: eraLegacy, wantCalls: "server/discover initialize notifications/initialized",
		},
		{
			name: "400 with a legacy body",
			discover: func(w http.ResponseWriter, id json.RawMessage, _ string) {
				jsonAnswer(w, 400, `{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Bad Request: No valid session ID provided"}}`)
			},
			wantEra: eraLegacy, wantCalls: "server/discover initialize notifications/initialized",
		},
		{
			name: "400 with no body",
			discover: func(w http.ResponseWriter, id json.RawMessage, _ string) {
				w.WriteHeader(400)
			},
			wantEra: eraLegacy, wantCalls: "server/discover initialize notifications/initialized",
		},
		{
			name: "method not found in a 200",
			discover: func(w http.ResponseWriter, id json.RawMessage, _ string) {
				jsonAnswer(w, 200, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"error":{"code":-32601,"message":"Method not found"}}`, id))
			},
			wantEra: eraLegacy, wantCalls: "server/discover initialize notifications/initialized",
		},
		{
			name: "header mismatch is modern: no fallback",
			discover: func(w http.ResponseWriter, id json.RawMessage, _ string) {
				jsonAnswer(w, 400, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"error":{"code":-32020,"message":"Header mismatch"}}`, id))
			},
			wantErr:   func(err error) bool { return strings.Contains(err.Error(), "Header mismatch") },
			wantCalls: "server/discover",
		},
		{
			name: "503 is an outage: no fallback",
			discover: func(w http.ResponseWriter, id json.RawMessage, _ string) {
				w.WriteHeader(503)
			},
			wantErr: func(err error) bool {
				var se *transport.StatusError
				return errors.As(err, &se) && se.Status == 503
			},
			wantCalls: "server/discover",
		},
		{
			name: "401 is a sign-in: no fallback",
			discover: func(w http.ResponseWriter, id json.RawMessage, _ string) {
				w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="http://x/"`)
				w.WriteHeader(401)
			},
			wantErr: func(err error) bool {
				var ae *transport.AuthError
				return errors.As(err, &ae) && ae.Status == 401
			},
			wantCalls: "server/discover",
		},
		{
			name: "403 insufficient_scope is a sign-in: no fallback",
			discover: func(w http.ResponseWriter, id json.RawMessage, _ string) {
				w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="mcp:admin", resource_metadata="http://x/"`)
				jsonAnswer(w, 403, `{"error":"insufficient_scope","error_description":"Scope upgrade will never succeed"}`)
			},
			wantErr: func(err error) bool {
				var ae *transport.AuthError
				return errors.As(err, &ae) && ae.Status == 403
			},
			wantCalls: "server/discover",
		},
		{
			// What the conformance suite's auth/scope-retry-limit server
			// answers once its test is over: an OAuth-style body, which is
			// no JSON-RPC error (it was read as "error 0").
			name: "4xx with an OAuth-style JSON body",
			discover: func(w http.ResponseWriter, id json.RawMessage, _ string) {
				jsonAnswer(w, 410, `{"error":"test_complete","error_description":"Test is over"}`)
			},
			wantEra: eraLegacy, wantCalls: "server/discover initialize notifications/initialized",
			wantProbe: `HTTP 410 {"error":"test_complete"`,
		},
		{
			name:          "discover never answered, legacy server: initialize beside it wins",
			discoverHangs: true,
			wantEra:       eraLegacy, wantCalls: "server/discover initialize notifications/initialized",
		},
		{
			name:     "discover answered late, modern-only server: the probe still wins",
			discover: discoverOK(`["2026-07-28"]`), discoverDelay: 1500 * time.Millisecond, modernOnly: true,
			wantEra: eraModern, wantCalls: "server/discover initialize",
		},
		{
			name:          "discover never answered, modern-only server: a clear error, both eras named",
			discoverHangs: true, modernOnly: true,
			wantErr: func(err error) bool {
				return strings.Contains(err.Error(), "took longer than") && strings.Contains(err.Error(), "MCP 2026-07-28: server/discover was not answered; streamable-http: ") && strings.Contains(err.Error(), "-32022")
			},
			wantCalls: "server/discover initialize",
		},
		{name: "legacy pinned: no probe", discover: discoverOK(`["2026-07-28"]`), pin: "2025-06-18", wantEra: eraLegacy, wantCalls: "initialize notifications/initialized"},
		{name: "cached legacy: no probe", discover: discoverOK(`["2026-07-28"]`), cached: eraLegacy, wantEra: eraLegacy, wantCalls: "initialize notifications/initialized"},
		{name: "cached legacy, server now modern-only: probed again", discover: discoverOK(`["2026-07-28"]`), modernOnly: true, cached: eraLegacy, wantEra: eraModern, wantCalls: "initialize server/discover"},
		{
			name: "modern pinned, server only legacy",
			discover: func(w http.ResponseWriter, id json.RawMessage, _ string) {
				jsonAnswer(w, 400, `{"jsonrpc":"2.0","id":null,"error":{"code":-32000,"message":"Bad Request: No valid session ID provided"}}`)
			},
			pin: "2026-07-28", wantErr: func(err error) bool { var nm *errNotModern; return errors.As(err, &nm) }, wantCalls: "server/discover",
		},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			e := &eraServer{discover: row.discover, modernOnly: row.modernOnly, discoverHangs: row.discoverHangs, discoverDelay: row.discoverDelay}
			url := e.start(t)
			cfg := config.Server{URL: url, Transport: config.TransportStreamable, ProtocolVersion: row.pin}
			home := t.TempDir()
			connectTimeout := 10 * time.Second
			if row.discoverHangs && row.modernOnly {
				connectTimeout = 3 * time.Second
			}
			u := newSupervisor("srv", cfg, globalSettings{}, supervisorDeps{tuning: Tuning{ConnectTimeout: connectTimeout, DiscoverWait: 300 * time.Millisecond}, noAutoLogin: true})
			u.home = home
			if row.cached != "" {
				u.rememberEra(url, eraRecord{Era: row.cached})
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s, err := u.connect(ctx, cfg, globalSettings{})
			if s != nil {
				defer func() { s.cancel(); s.conn.Close() }()
			}
			switch {
			case row.wantEra == "" && err == nil:
				t.Fatalf("connected, want an error")
			case row.wantEra == "" && !row.wantErr(err):
				t.Errorf("connect: %T %v", err, err)
			case row.wantEra != "" && err != nil:
				t.Fatalf("connect: %v", err)
			case row.wantEra == eraModern && !s.modern, row.wantEra == eraLegacy && s.modern:
				t.Errorf("modern=%v, want era %s", s.modern, row.wantEra)
			}
			e.mu.Lock()
			calls := strings.Join(e.methods, " ")
			e.mu.Unlock()
			if calls != row.wantCalls {
				t.Errorf("requests %q, want %q", calls, row.wantCalls)
			}
			if row.wantProbe != "" {
				u.mu.Lock()
				p := u.probe
				u.mu.Unlock()
				if p == nil || !strings.Contains(p.Answer, row.wantProbe) {
					t.Errorf("probe %+v, want an answer with %q", p, row.wantProbe)
				}
			}
			if s != nil {
				if rec, ok := u.cachedEra(url); !ok || rec.Era != row.wantEra {
					t.Errorf("cached era %+v, want %s", rec, row.wantEra)
				}
			}
			// Every modern request carried the headers the revision asks for.
			e.mu.Lock()
			defer e.mu.Unlock()
			for i, m := range e.methods {
				if m != "server/discover" {
					continue
				}
				h := e.headers[i]
				if h.Get("Mcp-Method") != "server/discover" || h.Get("Mcp-Protocol-Version") == "" || h.Get("Mcp-Session-Id") != "" {
					t.Errorf("discover headers: %v", h)
				}
			}
		})
	}
}

// TestHeaderValue checks the base64 sentinel encoding of Mcp-Name.
func TestHeaderValue(t *testing.T) {
	for in, want := range map[string]string{
		"get_weather":        "get_weather",
		"file:///a b/c.json": "file:///a b/c.json",
		"Hello, 世界":          "=?base64?SGVsbG8sIOS4lueVjA==?=",
		" padded ":           "=?base64?IHBhZGRlZCA=?=",
		"line1\nline2":       "=?base64?bGluZTEKbGluZTI=?=",
		"=?base64?literal?=": "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=",
	} {
		if got := transport.HeaderValue(in); got != want {
			t.Errorf("HeaderValue(%q) = %q, want %q", in, got, want)
		}
		if back, err := transport.DecodeHeaderValue(want); err != nil || back != in {
			t.Errorf("DecodeHeaderValue(%q) = %q, %v", want, back, err)
		}
	}
}

// TestShapeForIDE maps answers between the eras.
func TestShapeForIDE(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		method               string
		result, err          string
		modernIDE, modernSrv bool
		wantResult, wantErr  string
	}{
		{name: "modern IDE, legacy result", method: "tools/call", result: `{"content":[]}`, modernIDE: true, wantResult: `{"content":[],"resultType":"complete"}`},
		{name: "modern IDE, legacy not found", method: "resources/read", err: `{"code":-32002,"message":"Resource not found"}`, modernIDE: true, wantErr: `{"code":-32602,"message":"Resource not found"}`},
		{name: "legacy IDE, modern result", method: "tools/call", result: `{"content":[],"resultType":"complete"}`, modernSrv: true, wantResult: `{"content":[]}`},
		{name: "legacy IDE, modern not found", method: "resources/read", err: `{"code":-32602,"message":"Resource test://x not found"}`, modernSrv: true, wantErr: `{"code":-32002,"message":"Resource test://x not found"}`},
		{name: "legacy IDE, invalid params stays", method: "resources/read", err: `{"code":-32602,"message":"uri is required"}`, modernSrv: true, wantErr: `{"code":-32602,"message":"uri is required"}`},
		{name: "legacy IDE, missing capability", method: "tools/call", err: `{"code":-32021,"message":"needs elicitation"}`, modernSrv: true, wantErr: `{"code":-32600,"message":"mcptray: the server needs a client capability the IDE did not declare (MCP error -32021: needs elicitation)"}`},
		{name: "modern IDE, legacy list gets caching hints", method: "tools/list", result: `{"tools":[]}`, modernIDE: true, wantResult: `{"cacheScope":"private","resultType":"complete","tools":[],"ttlMs":0}`},
		{name: "modern IDE, legacy read keeps its own hints", method: "resources/read", result: `{"contents":[],"ttlMs":5000,"cacheScope":"public"}`, modernIDE: true, wantResult: `{"cacheScope":"public","contents":[],"resultType":"complete","ttlMs":5000}`},
		{name: "modern IDE, a call gets no hints", method: "tools/call", result: `{"content":[],"isError":true}`, modernIDE: true, wantResult: `{"content":[],"isError":true,"resultType":"complete"}`},
		{name: "same era untouched", method: "tools/call", result: `{"b":1,"a":2}`, modernIDE: true, modernSrv: true, wantResult: `{"b":1,"a":2}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r, e json.RawMessage
			if tc.result != "" {
				r = json.RawMessage(tc.result)
			}
			if tc.err != "" {
				e = json.RawMessage(tc.err)
			}
			gr, ge := shapeForIDE(tc.method, r, e, tc.modernIDE, tc.modernSrv)
			if string(gr) != tc.wantResult || string(ge) != tc.wantErr {
				t.Errorf("got %s / %s, want %s / %s", gr, ge, tc.wantResult, tc.wantErr)
			}
		})
	}
}

// TestWithRequestedURI: a resource not found for a modern IDE names the
// URI it asked for.
func TestWithRequestedURI(t *testing.T) {
	params := json.RawMessage(`{"uri":"test://gone","_meta":{}}`)
	for _, tc := range []struct{ in, want string }{
		{`{"code":-32602,"message":"Resource not found"}`, `{"code":-32602,"data":{"uri":"test://gone"},"message":"Resource not found"}`},
		{`{"code":-32602,"message":"x","data":{"why":"gone"}}`, `{"code":-32602,"data":{"uri":"test://gone","why":"gone"},"message":"x"}`},
		{`{"code":-32602,"message":"x","data":{"uri":"test://other"}}`, `{"code":-32602,"message":"x","data":{"uri":"test://other"}}`},
		{`{"code":-32602,"message":"x","data":"text"}`, `{"code":-32602,"message":"x","data":"text"}`},
		{`{"code":-32603,"message":"boom"}`, `{"code":-32603,"message":"boom"}`},
	} {
		if got := string(withRequestedURI(json.RawMessage(tc.in), params)); got != tc.want {
			t.Errorf("withRequestedURI(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// TestSchemaHeaders checks the x-mcp-header rules: a tool that breaks
// one is left out of tools/list.
func TestSchemaHeaders(t *testing.T) {
	for _, tc := range []struct {
		schema string
		want   string // "name@path" joined by spaces, or "error"
	}{
		{`{"type":"object","properties":{"q":{"type":"string"}}}`, ""},
		{`{"type":"object","properties":{"r":{"type":"string","x-mcp-header":"Region"}}}`, "Region@r"},
		{`{"type":"object","properties":{"o":{"type":"object","properties":{"n":{"type":"integer","x-mcp-header":"N"}}}}}`, "N@o.n"},
		{`{"type":"object","properties":{"r":{"type":"number","x-mcp-header":"R"}}}`, "error"},
		{`{"type":"object","properties":{"r":{"type":"string","x-mcp-header":""}}}`, "error"},
		{`{"type":"object","properties":{"r":{"type":"string","x-mcp-header":"a b"}}}`, "error"},
		{`{"type":"object","properties":{"a":{"type":"string","x-mcp-header":"X"},"b":{"type":"string","x-mcp-header":"x"}}}`, "error"},
		{`{"type":"object","properties":{"l":{"type":"array","items":{"type":"string","x-mcp-header":"L"}}}}`, "error"},
		{`{"type":"object","oneOf":[{"properties":{"r":{"type":"string","x-mcp-header":"R"}}}]}`, "error"},
	} {
		hs, err := schemaHeaders(json.RawMessage(tc.schema))
		var got []string
		for _, h := range hs {
			got = append(got, h.name+"@"+strings.Join(h.path, "."))
		}
		g := strings.Join(got, " ")
		if err != nil {
			g = "error"
		}
		if g != tc.want {
			t.Errorf("%s: got %q (%v), want %q", tc.schema, g, err, tc.want)
		}
	}
	u := newSupervisor("srv", config.Server{URL: "http://x"}, globalSettings{}, supervisorDeps{noAutoLogin: true})
	out := u.learnTools(json.RawMessage(`{"tools":[{"name":"ok","inputSchema":{"type":"object"}},{"name":"bad","inputSchema":{"type":"object","properties":{"r":{"type":"number","x-mcp-header":"R"}}}}]}`))
	if strings.Contains(string(out), `"bad"`) || !strings.Contains(string(out), `"ok"`) {
		t.Errorf("learnTools kept the invalid tool or lost the valid one: %s", out)
	}
}

// TestParamsForModern: the quick way of adding the hub's _meta gives the
// same params as decoding them would, and the IDE's own _meta is kept.
func TestParamsForModern(t *testing.T) {
	u := newSupervisor("srv", config.Server{URL: "http://x"}, globalSettings{}, supervisorDeps{noAutoLogin: true})
	s := &session{modern: true}
	s.version.Store(ptr("2026-07-28"))
	caps := json.RawMessage(`{"elicitation":{}}`)
	for _, in := range []string{``, `{}`, ` { } `, `{"name":"echo","arguments":{"text":"_meta"}}`, `{"_meta":{"progressToken":7},"name":"x"}`} {
		out := u.paramsFor(s, json.RawMessage(in), caps)
		var p map[string]json.RawMessage
		if err := json.Unmarshal(out, &p); err != nil {
			t.Fatalf("%q: %s is not an object: %v", in, out, err)
		}
		var meta map[string]json.RawMessage
		_ = json.Unmarshal(p["_meta"], &meta)
		if string(meta[metaProtocolVersion]) != `"2026-07-28"` || string(meta[metaClientCapabilities]) != string(caps) || meta[metaClientInfo] == nil {
			t.Errorf("%q: _meta %s", in, p["_meta"])
		}
		var orig map[string]json.RawMessage
		_ = json.Unmarshal([]byte(in), &orig)
		for k, v := range orig {
			if k != "_meta" && string(p[k]) != string(v) {
				t.Errorf("%q: %s changed to %s", in, k, p[k])
			}
		}
		if strings.Contains(in, "progressToken") && string(meta["progressToken"]) != "7" {
			t.Errorf("%q: the IDE's progress token was lost: %s", in, out)
		}
	}
}

func ptr[T any](v T) *T { return &v }

// TestDropResultType: resultType goes, first, last or in the middle, and
// nothing else does.
func TestDropResultType(t *testing.T) {
	for in, want := range map[string]string{
		`{"resultType":"complete","content":[]}`:                  `{"content":[]}`,
		`{"content":[],"resultType":"complete"}`:                  `{"content":[]}`,
		`{"a":1,"resultType":"complete","b":2}`:                   `{"a":1,"b":2}`,
		`{"x":{"resultType":"complete"},"resultType":"complete"}`: `{"x":{"resultType":"complete"}}`,
		`{"s":"\",\"resultType\":1","resultType":"complete"}`:     `{"s":"\",\"resultType\":1"}`,
		`{ "resultType" : "complete" , "a" : [1] }`:               `{  "a" : [1] }`,
		`{"resultType":"complete"}`:                               `{}`,
		`{"a":["resultType"],"resultType":"complete"}`:            `{"a":["resultType"]}`,
	} {
		if got := string(dropResultType(json.RawMessage(in))); got != want {
			t.Errorf("dropResultType(%s) = %s, want %s", in, got, want)
		}
	}
}

// FuzzDropResultType: whatever object a server sends, the result without
// resultType is valid JSON and equal to the object less that member.
func FuzzDropResultType(f *testing.F) {
	for _, s := range []string{`{"resultType":"complete","content":[]}`, `{"a":{"resultType":"x"},"resultType":"complete"}`, `{"s":"\",\"resultType\":1","resultType":"complete","b":[{"c":"}"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		var want map[string]json.RawMessage
		if json.Unmarshal(in, &want) != nil || resultType(in) != "complete" {
			return
		}
		out := dropResultType(in)
		var got map[string]json.RawMessage
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s → %s: not an object: %v", in, out, err)
		}
		delete(want, "resultType")
		if len(got) != len(want) {
			t.Fatalf("%s → %s: members %d, want %d", in, out, len(got), len(want))
		}
		for k, v := range want {
			var a, b any
			_ = json.Unmarshal(v, &a)
			_ = json.Unmarshal(got[k], &b)
			ja, _ := json.Marshal(a)
			jb, _ := json.Marshal(b)
			if string(ja) != string(jb) {
				t.Fatalf("%s → %s: %s changed", in, out, k)
			}
		}
	})
}

// TestNewerCall: upstream ids compare as numbers ("10" after "9").
func TestNewerCall(t *testing.T) {
	c := func(k string) *call { return &call{upKey: k} }
	if !newerCall(c("10"), c("9")) || newerCall(c("9"), c("10")) || !newerCall(c("12"), c("11")) {
		t.Error("newerCall orders upstream ids as strings")
	}
}
