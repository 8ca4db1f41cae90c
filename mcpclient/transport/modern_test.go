package transport

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// TestModernErrorAnswer: a modern server reports version, header and
// method problems as 4xx with a JSON-RPC error body, which Call returns as
// the request's answer. A 4xx whose JSON body is not a JSON-RPC error (an
// OAuth-style {"error": "..."} from an authorization layer or a proxy) is
// an HTTP failure, never an answer: read as one, its "error" string was
// handed on as a JSON-RPC error object and the era probe saw "error 0".
func TestModernErrorAnswer(t *testing.T) {
	rows := []struct {
		name     string
		status   int
		header   map[string]string
		body     string
		wantCode int // the answer's error code; 0: an error of Call
		wantErr  func(error) bool
	}{
		{name: "unsupported version", status: 400, body: `{"jsonrpc":"2.0","id":7,"error":{"code":-32022,"message":"Unsupported protocol version","data":{"supported":["2026-07-28"]}}}`, wantCode: -32022},
		{name: "method not found, id null", status: 404, body: `{"jsonrpc":"2.0","id":null,"error":{"code":-32601,"message":"Method not found"}}`, wantCode: -32601},
		{name: "oauth-style error body", status: 410, body: `{"error":"test_complete","error_description":"Test is over"}`, wantErr: statusIs(410)},
		{name: "oauth-style 400", status: 400, body: `{"error":"invalid_request"}`, wantErr: statusIs(400)},
		{name: "error object without a code", status: 400, body: `{"jsonrpc":"2.0","id":1,"error":{"message":"no code"}}`, wantErr: statusIs(400)},
		{name: "error code not a number", status: 400, body: `{"jsonrpc":"2.0","id":1,"error":{"code":"bad","message":"x"}}`, wantErr: statusIs(400)},
		{name: "not json-rpc 2.0", status: 400, body: `{"jsonrpc":"1.0","id":1,"error":{"code":-32600,"message":"x"}}`, wantErr: statusIs(400)},
		{
			name: "403 insufficient_scope is a sign-in", status: 403,
			header: map[string]string{"WWW-Authenticate": `Bearer error="insufficient_scope", scope="mcp:admin"`},
			body:   `{"error":"insufficient_scope","error_description":"Scope upgrade will never succeed"}`,
			wantErr: func(err error) bool {
				var ae *AuthError
				return errors.As(err, &ae) && ae.Status == 403
			},
		},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range row.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(row.status)
				io.WriteString(w, row.body)
			}))
			defer srv.Close()
			c := NewModern(Options{URL: srv.URL, Client: srv.Client()}, "2026-07-28")
			defer c.Close()
			resp, err := c.Call(context.Background(), &jsonrpc.Message{JSONRPC: "2.0", ID: json.RawMessage("7"), Method: "server/discover"})
			if row.wantCode == 0 {
				if err == nil {
					t.Fatalf("answer %+v (error %s), want an error of Call", resp, resp.Error)
				}
				if !row.wantErr(err) {
					t.Fatalf("Call: %T %v", err, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Call: %v", err)
			}
			var je jsonrpc.Error
			if resp.Error == nil || json.Unmarshal(resp.Error, &je) != nil || je.Code != row.wantCode {
				t.Fatalf("answer error %s, want code %d", resp.Error, row.wantCode)
			}
			if string(resp.ID) != "7" {
				t.Errorf("answer id %s, want the request's 7", resp.ID)
			}
		})
	}
}

func statusIs(code int) func(error) bool {
	return func(err error) bool {
		var se *StatusError
		return errors.As(err, &se) && se.Status == code
	}
}
