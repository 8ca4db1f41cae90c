package jsonrpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseMessage(t *testing.T) {
	const (
		request      = "request"
		notification = "notification"
		response     = "response"
	)
	tests := []struct {
		name   string
		in     string
		kind   string // when no error
		err    error  // ErrBatch, ErrNotJSONRPC, or errJSON for any decoding error
		id     string // raw, byte-for-byte
		method string
		params string // raw, byte-for-byte
		result string // raw, byte-for-byte
		errObj string // raw, byte-for-byte
	}{
		{name: "request", in: `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, kind: request, id: `1`, method: "tools/list"},
		{name: "request string id", in: `{"jsonrpc":"2.0","id":"abc-1","method":"ping","params":{}}`, kind: request, id: `"abc-1"`, method: "ping", params: `{}`},
		{name: "request params kept raw", in: `{"jsonrpc":"2.0","id": 7 ,"method":"tools/call","params":{ "name" : "x",  "arguments":{"b":2,"a":1.50} }}`,
			kind: request, id: `7`, method: "tools/call", params: `{ "name" : "x",  "arguments":{"b":2,"a":1.50} }`},
		{name: "request large id", in: `{"jsonrpc":"2.0","id":123456789012345678901234567890,"method":"ping"}`, kind: request, id: `123456789012345678901234567890`, method: "ping"},
		{name: "request with surrounding whitespace", in: " \r\n\t{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"ping\"}\n\n", kind: request, id: `0`, method: "ping"},
		{name: "notification", in: `{"jsonrpc":"2.0","method":"notifications/initialized"}`, kind: notification, method: "notifications/initialized"},
		{name: "notification with params", in: `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":"t","progress":1}}`,
			kind: notification, method: "notifications/progress", params: `{"progressToken":"t","progress":1}`},
		{name: "null id is a notification", in: `{"jsonrpc":"2.0","id":null,"method":"notifications/cancelled"}`, kind: notification, id: `null`, method: "notifications/cancelled"},
		{name: "response result", in: `{"jsonrpc":"2.0","id":3,"result":{"tools":[ ]}}`, kind: response, id: `3`, result: `{"tools":[ ]}`},
		{name: "response result null", in: `{"jsonrpc":"2.0","id":3,"result":null}`, kind: response, id: `3`, result: `null`},
		{name: "response empty result", in: `{"jsonrpc":"2.0","id":"x","result":{}}`, kind: response, id: `"x"`, result: `{}`},
		{name: "response error", in: `{"jsonrpc":"2.0","id":4,"error":{"code":-32601,"message":"Method not found"}}`,
			kind: response, id: `4`, errObj: `{"code":-32601,"message":"Method not found"}`},
		{name: "error response with null id", in: `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`,
			kind: response, id: `null`, errObj: `{"code":-32700,"message":"Parse error"}`},

		{name: "batch", in: `[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"x"}]`, err: ErrBatch},
		{name: "batch with leading whitespace", in: " \n\t[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", err: ErrBatch},
		{name: "empty batch", in: `[]`, err: ErrBatch},

		{name: "empty object", in: `{}`, err: ErrNotJSONRPC},
		{name: "foreign object", in: `{"hello":"world"}`, err: ErrNotJSONRPC},
		{name: "id without method or result", in: `{"jsonrpc":"2.0","id":1}`, err: ErrNotJSONRPC},
		{name: "empty method", in: `{"jsonrpc":"2.0","id":1,"method":""}`, err: ErrNotJSONRPC},
		{name: "JSON null", in: `null`, err: ErrNotJSONRPC},

		{name: "empty input", in: ``, err: errJSON},
		{name: "whitespace only", in: " \n", err: errJSON},
		{name: "not JSON", in: `event: message`, err: errJSON},
		{name: "truncated", in: `{"jsonrpc":"2.0","id":1,"method":"pi`, err: errJSON},
		{name: "trailing garbage", in: `{"jsonrpc":"2.0","id":1,"method":"ping"} x`, err: errJSON},
		{name: "two objects", in: `{"jsonrpc":"2.0","method":"a"}{"jsonrpc":"2.0","method":"b"}`, err: errJSON},
		{name: "method not a string", in: `{"jsonrpc":"2.0","id":1,"method":5}`, err: errJSON},
		{name: "JSON string", in: `"ping"`, err: errJSON},
		{name: "JSON number", in: `42`, err: errJSON},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Parse([]byte(tt.in))
			switch {
			case tt.err == errJSON:
				if err == nil || err == ErrBatch || err == ErrNotJSONRPC {
					t.Fatalf("err = %v, want a JSON decoding error", err)
				}
				if m != nil {
					t.Errorf("message %+v returned with the error", m)
				}
				return
			case tt.err != nil:
				if err != tt.err {
					t.Fatalf("err = %v, want %v", err, tt.err)
				}
				if m != nil {
					t.Errorf("message %+v returned with the error", m)
				}
				return
			case err != nil:
				t.Fatalf("parseMessage: %v", err)
			}
			kinds := map[string]bool{request: m.IsRequest(), notification: m.IsNotification(), response: m.IsResponse()}
			for k, is := range kinds {
				if is != (k == tt.kind) {
					t.Errorf("is %s = %v, want kind %s", k, is, tt.kind)
				}
			}
			if string(m.ID) != tt.id {
				t.Errorf("ID = %q, want %q", m.ID, tt.id)
			}
			if m.Method != tt.method {
				t.Errorf("Method = %q, want %q", m.Method, tt.method)
			}
			if string(m.Params) != tt.params {
				t.Errorf("Params = %q, want %q", m.Params, tt.params)
			}
			if string(m.Result) != tt.result {
				t.Errorf("Result = %q, want %q", m.Result, tt.result)
			}
			if string(m.Error) != tt.errObj {
				t.Errorf("Error = %q, want %q", m.Error, tt.errObj)
			}
			if m.JSONRPC != "2.0" {
				t.Errorf("JSONRPC = %q", m.JSONRPC)
			}
		})
	}
}

// errJSON marks rows where any JSON decoding error is expected.
var errJSON = errors.New("any JSON decoding error")

func TestEncodeResponse(t *testing.T) {
	tests := []struct {
		name   string
		id     json.RawMessage
		result json.RawMessage
		errObj json.RawMessage
		want   string
	}{
		{
			name:   "result kept byte for byte",
			id:     json.RawMessage(`7`),
			result: json.RawMessage("{ \"z\" :1,\n\t\"a\":[ 1 ,2.50 ], \"e\":\"\\u00e9\\/\", \"n\":1e2 }"),
			want:   "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{ \"z\" :1,\n\t\"a\":[ 1 ,2.50 ], \"e\":\"\\u00e9\\/\", \"n\":1e2 }}",
		},
		{
			name:   "string id kept",
			id:     json.RawMessage(`"req-\u00e9"`),
			result: json.RawMessage(`{"content":[]}`),
			want:   `{"jsonrpc":"2.0","id":"req-\u00e9","result":{"content":[]}}`,
		},
		{
			name:   "scalar result",
			id:     json.RawMessage(`1`),
			result: json.RawMessage(`"ok"`),
			want:   `{"jsonrpc":"2.0","id":1,"result":"ok"}`,
		},
		{
			name:   "null result kept",
			id:     json.RawMessage(`1`),
			result: json.RawMessage(`null`),
			want:   `{"jsonrpc":"2.0","id":1,"result":null}`,
		},
		{
			name: "nil result is an empty object",
			id:   json.RawMessage(`1`),
			want: `{"jsonrpc":"2.0","id":1,"result":{}}`,
		},
		{
			name:   "nil id is null",
			result: json.RawMessage(`{}`),
			want:   `{"jsonrpc":"2.0","id":null,"result":{}}`,
		},
		{
			name:   "empty id is null",
			id:     json.RawMessage{},
			result: json.RawMessage(`{}`),
			want:   `{"jsonrpc":"2.0","id":null,"result":{}}`,
		},
		{
			name:   "error kept byte for byte",
			id:     json.RawMessage(`2`),
			errObj: json.RawMessage(`{"message":"nope" , "code":-32000,"data":{"b":1,"a":2}}`),
			want:   `{"jsonrpc":"2.0","id":2,"error":{"message":"nope" , "code":-32000,"data":{"b":1,"a":2}}}`,
		},
		{
			name:   "error wins over result",
			id:     json.RawMessage(`2`),
			result: json.RawMessage(`{"x":1}`),
			errObj: json.RawMessage(`{"code":1,"message":"m"}`),
			want:   `{"jsonrpc":"2.0","id":2,"error":{"code":1,"message":"m"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resultBefore := bytes.Clone(tt.result)
			got := EncodeResponse(tt.id, tt.result, tt.errObj)
			if string(got) != tt.want {
				t.Fatalf("encodeResponse =\n%s\nwant\n%s", got, tt.want)
			}
			if !bytes.Equal(tt.result, resultBefore) {
				t.Errorf("encodeResponse changed its result argument")
			}
			if !json.Valid(got) {
				t.Fatalf("not valid JSON: %s", got)
			}
			m, err := Parse(got)
			if err != nil {
				t.Fatalf("parseMessage of the output: %v", err)
			}
			if !m.IsResponse() {
				t.Errorf("output does not parse as a response: %+v", m)
			}
			if tt.errObj == nil && tt.result != nil && !bytes.Equal(m.Result, tt.result) {
				t.Errorf("result after a round trip = %q, want %q", m.Result, tt.result)
			}
		})
	}
}

func TestEncodeError(t *testing.T) {
	tests := []struct {
		name string
		id   json.RawMessage
		code int
		msg  string
		data any
		want string
	}{
		{
			name: "no data",
			id:   json.RawMessage(`1`),
			code: CodeMethodNotFound,
			msg:  "Method not found",
			want: `{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"Method not found"}}`,
		},
		{
			name: "string id and data",
			id:   json.RawMessage(`"a"`),
			code: CodeUpstreamUnavailable,
			msg:  "jira is unavailable",
			data: map[string]any{"server": "jira", "state": "backoff"},
			want: `{"jsonrpc":"2.0","id":"a","error":{"code":-32010,"message":"jira is unavailable","data":{"server":"jira","state":"backoff"}}}`,
		},
		{
			name: "null id for a parse error",
			code: CodeParseError,
			msg:  "Parse error",
			want: `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`,
		},
		{
			name: "message escaped",
			id:   json.RawMessage(`9`),
			code: CodeInternalError,
			msg:  "bad \"quote\"\nnew line \\ tab\t",
			want: `{"jsonrpc":"2.0","id":9,"error":{"code":-32603,"message":"bad \"quote\"\nnew line \\ tab\t"}}`,
		},
		{
			name: "raw JSON data kept",
			id:   json.RawMessage(`9`),
			code: CodeNeedsLogin,
			msg:  "sign in",
			data: json.RawMessage(`{"url":"https://x.example/login"}`),
			want: `{"jsonrpc":"2.0","id":9,"error":{"code":-32011,"message":"sign in","data":{"url":"https://x.example/login"}}}`,
		},
		{
			name: "unencodable data dropped",
			id:   json.RawMessage(`9`),
			code: CodeInternalError,
			msg:  "m",
			data: make(chan int),
			want: `{"jsonrpc":"2.0","id":9,"error":{"code":-32603,"message":"m"}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EncodeError(tt.id, tt.code, tt.msg, tt.data)
			if string(got) != tt.want {
				t.Fatalf("encodeError =\n%s\nwant\n%s", got, tt.want)
			}
			m, err := Parse(got)
			if err != nil || !m.IsResponse() {
				t.Fatalf("output does not parse as a response: %+v, %v", m, err)
			}
			var e Error
			if err := json.Unmarshal(m.Error, &e); err != nil {
				t.Fatal(err)
			}
			if e.Code != tt.code || e.Message != tt.msg {
				t.Errorf("decoded error = %+v", e)
			}
			if !strings.Contains(e.Error(), tt.msg) {
				t.Errorf("Error.Error() = %q", e.Error())
			}
		})
	}
}

func TestEncodeRequest(t *testing.T) {
	tests := []struct {
		name   string
		id     json.RawMessage
		method string
		params json.RawMessage
		want   string
	}{
		{
			name:   "request with params kept byte for byte",
			id:     IntID(12),
			method: "tools/call",
			params: json.RawMessage("{\"name\":\"x\",  \"arguments\":{ \"z\":1, \"a\":[2 ,3] }}"),
			want:   "{\"jsonrpc\":\"2.0\",\"id\":12,\"method\":\"tools/call\",\"params\":{\"name\":\"x\",  \"arguments\":{ \"z\":1, \"a\":[2 ,3] }}}",
		},
		{
			name:   "request without params",
			id:     json.RawMessage(`"s-1"`),
			method: "ping",
			want:   `{"jsonrpc":"2.0","id":"s-1","method":"ping"}`,
		},
		{
			name:   "request with empty params",
			id:     IntID(1),
			method: "tools/list",
			params: json.RawMessage{},
			want:   `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		},
		{
			name:   "notification",
			method: "notifications/initialized",
			want:   `{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		},
		{
			name:   "notification with params",
			method: "notifications/cancelled",
			params: json.RawMessage(`{"requestId":3,"reason":"x"}`),
			want:   `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":3,"reason":"x"}}`,
		},
		{
			name:   "method escaped",
			id:     IntID(-1),
			method: "odd\"method\\",
			want:   `{"jsonrpc":"2.0","id":-1,"method":"odd\"method\\"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := EncodeRequest(tt.id, tt.method, tt.params)
			if string(got) != tt.want {
				t.Fatalf("encodeRequest =\n%s\nwant\n%s", got, tt.want)
			}
			m, err := Parse(got)
			if err != nil {
				t.Fatalf("parseMessage of the output: %v", err)
			}
			if m.Method != tt.method || string(m.ID) != string(tt.id) {
				t.Errorf("round trip = %+v", m)
			}
			if len(tt.params) > 0 && !bytes.Equal(m.Params, tt.params) {
				t.Errorf("params after a round trip = %q, want %q", m.Params, tt.params)
			}
			if (tt.id == nil) != m.IsNotification() {
				t.Errorf("isNotification = %v for id %q", m.IsNotification(), tt.id)
			}
		})
	}
}

func TestIntID(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 1: "1", -7: "-7", 9007199254740993: "9007199254740993"} {
		if got := string(IntID(n)); got != want {
			t.Errorf("IntID(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestIDKey(t *testing.T) {
	key := func(s string) string { return IDKey(json.RawMessage(s)) }
	same := [][2]string{
		{`1`, `1`},
		{` 1`, `1`},
		{"1\n", `1`},
		{"\t\"a\" ", `"a"`},
		{string(IntID(42)), `42`},
	}
	for _, p := range same {
		if key(p[0]) != key(p[1]) {
			t.Errorf("IDKey(%q) = %q != IDKey(%q) = %q, want equal", p[0], key(p[0]), p[1], key(p[1]))
		}
	}
	distinct := [][2]string{
		{`1`, `"1"`},
		{`1`, `-1`},
		{`1`, `10`},
		{`"a"`, `"A"`},
		{`0`, `null`},
		{`""`, ``},
		{`"1"`, `"1 "`},
	}
	for _, p := range distinct {
		if key(p[0]) == key(p[1]) {
			t.Errorf("IDKey(%q) == IDKey(%q) = %q, want distinct", p[0], p[1], key(p[0]))
		}
	}
	// An id seen in a parsed message maps to the same key as the id we sent.
	m, err := Parse([]byte(`{"jsonrpc":"2.0","id": 42 ,"result":{}}`))
	if err != nil {
		t.Fatal(err)
	}
	if IDKey(m.ID) != IDKey(IntID(42)) {
		t.Errorf("IDKey(%q) != IDKey(IntID(42))", m.ID)
	}
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":"x","result":{"a":[1,2,{"b":null}]}}`,
		`{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}`,
		`[{"jsonrpc":"2.0","id":1,"method":"ping"}]`,
		`{}`,
		`null`,
		`{"id":1,"ID":2,"Method":"x"}`,
		"\ufeff{}",
		`{"jsonrpc":"2.0","id":1e400,"method":"\ud800"}`,
		``,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := Parse(in)
		if err != nil {
			if m != nil {
				t.Fatalf("message %+v returned with error %v", m, err)
			}
			return
		}
		if m == nil {
			t.Fatal("nil message without an error")
		}
		n := 0
		for _, is := range []bool{m.IsRequest(), m.IsNotification(), m.IsResponse()} {
			if is {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("message %+v is %d of request/notification/response", m, n)
		}
		_ = IDKey(m.ID)
		// What was parsed can be sent on without producing broken JSON.
		if m.IsResponse() {
			if out := EncodeResponse(m.ID, m.Result, m.Error); !json.Valid(out) {
				t.Fatalf("encodeResponse produced invalid JSON %q from %q", out, in)
			}
		} else {
			id := m.ID
			if !m.HasID() {
				id = nil
			}
			if out := EncodeRequest(id, m.Method, m.Params); !json.Valid(out) {
				t.Fatalf("encodeRequest produced invalid JSON %q from %q", out, in)
			}
		}
		if out := EncodeError(m.ID, CodeInternalError, m.Method, m.Params); !json.Valid(out) {
			t.Fatalf("encodeError produced invalid JSON %q from %q", out, in)
		}
	})
}
