package transport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// TestStreamableIdleAndClose: Idle is closed while no call runs and open
// while one does; a response stream the server keeps open after the
// answer is drained in the background, and Close ends and waits for that
// drain.
func TestStreamableIdleAndClose(t *testing.T) {
	release := make(chan struct{})
	held := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.WriteHeader(http.StatusMethodNotAllowed)
			return
		}
		b, _ := io.ReadAll(r.Body)
		m, _ := jsonrpc.Parse(b)
		w.Header().Set("Content-Type", "text/event-stream")
		if m.Method == "hold" {
			close(held)
			<-release
		}
		fmt.Fprintf(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{}}\n\n", m.ID)
		w.(http.Flusher).Flush()
		<-r.Context().Done() // keep the stream open after the answer
	}))
	defer srv.Close()
	c := NewStreamable(Options{URL: srv.URL, Client: srv.Client()})
	if !isDone(c.Idle()) || c.Busy() != 0 {
		t.Fatal("a new conn is not idle")
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Call(context.Background(), &jsonrpc.Message{JSONRPC: "2.0", ID: jsonrpc.IntID(1), Method: "hold"})
		done <- err
	}()
	<-held
	idle := c.Idle()
	if isDone(idle) || c.Busy() != 1 {
		t.Fatalf("idle with a call in flight (busy %d)", c.Busy())
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	select {
	case <-idle:
	case <-time.After(5 * time.Second):
		t.Fatal("Idle not closed after the call ended")
	}
	start := time.Now()
	c.Close() // the drain of the open stream ends with it
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %s: it did not end the drain", d)
	}
	if c.wg.Go(func() {}) {
		t.Error("the conn's group accepts goroutines after Close")
	}
}

// TestCallOnClosedConnIsUnsent: a call on a connection already closed
// (a rebuild tore it down between acquire and Call) never reaches the
// server, so it reports NotSent and may be retried, a tools/call too.
func TestCallOnClosedConnIsUnsent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the server got a %s after Close", r.Method)
	}))
	defer srv.Close()
	for name, conn := range map[string]Conn{
		"streamable": NewStreamable(Options{URL: srv.URL, Client: srv.Client()}),
		"modern":     NewModern(Options{URL: srv.URL, Client: srv.Client()}, "2026-07-28"),
	} {
		conn.Close()
		_, err := conn.Call(context.Background(), &jsonrpc.Message{JSONRPC: "2.0", ID: json.RawMessage("1"), Method: "tools/call"})
		if !NotSent(err) || !errors.Is(err, ErrConnClosed) {
			t.Errorf("%s: Call after Close: %v (NotSent %v)", name, err, NotSent(err))
		}
	}
}
