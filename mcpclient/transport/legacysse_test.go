package transport

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

func isDone(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestLegacySSEOversizedEvent: on the legacy transport all answers share
// one event stream. An event over the limit is skipped, the call it
// answered (the only one waiting) gets the error, and the stream and the
// session go on.
func TestLegacySSEOversizedEvent(t *testing.T) {
	t.Parallel()
	events := make(chan string, 10)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sse", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "event: endpoint\ndata: /msg?sessionId=1\n\n")
		w.(http.Flusher).Flush()
		for {
			select {
			case ev := <-events:
				io.WriteString(w, ev+"\n\n")
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			}
		}
	})
	mux.HandleFunc("POST /msg", func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		_ = json.NewDecoder(r.Body).Decode(&m)
		w.WriteHeader(http.StatusAccepted)
		if m.Method == "big" {
			// The result before the id, as the TypeScript SDK writes it.
			events <- fmt.Sprintf(`data: {"result":{"x":"%s"},"jsonrpc":"2.0","id":%s}`, strings.Repeat("b", 4096), m.ID)
			return
		}
		events <- fmt.Sprintf(`data: {"jsonrpc":"2.0","id":%s,"result":{}}`, m.ID)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := DialSSE(ctx, Options{URL: srv.URL + "/sse", Client: srv.Client(), MaxMessage: 1024, Inbound: func(*jsonrpc.Message, string) {}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Call(ctx, &jsonrpc.Message{JSONRPC: "2.0", ID: json.RawMessage("1"), Method: "big"})
	if tl, ok := IsTooLarge(err); !ok || tl.Limit != 1024 {
		t.Fatalf("big call: %v, want a TooLargeError", err)
	}
	r, err := c.Call(ctx, &jsonrpc.Message{JSONRPC: "2.0", ID: json.RawMessage("2"), Method: "ping"})
	if err != nil || string(r.ID) != "2" {
		t.Fatalf("the next call on the same stream: %v %v", r, err)
	}
	if isDone(c.Done()) {
		t.Errorf("the session broke: %v", c.Err())
	}
}
