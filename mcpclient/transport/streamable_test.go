package transport

import (
	"context"
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
