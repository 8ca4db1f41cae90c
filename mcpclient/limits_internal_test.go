package mcpclient

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// TestFairSemTakesTurns: with every slot taken and one owner queueing a
// burst, the next slot goes to another owner that asked later.
func TestFairSemTakesTurns(t *testing.T) {
	t.Parallel()
	s := newFairSem(2)
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		if err := s.acquire(ctx, "x"); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	var order []string
	var wg sync.WaitGroup
	start := func(owner string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.acquire(ctx, owner); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, owner)
			mu.Unlock()
		}()
	}
	waitQueued := func(n int) {
		for deadline := time.Now().Add(5 * time.Second); ; {
			if _, w := s.inUse(); w == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("waiters never reached %d", n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	for i := 0; i < 5; i++ {
		start("flood")
	}
	waitQueued(5)
	start("other")
	waitQueued(6)
	granted := func(n int) {
		for deadline := time.Now().Add(5 * time.Second); ; {
			mu.Lock()
			got := len(order)
			mu.Unlock()
			if got == n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("granted %d, want %d", got, n)
			}
			time.Sleep(time.Millisecond)
		}
	}
	s.release() // one slot: the flood's turn came first
	granted(1)
	s.release() // the next: the other owner's, not the flood's
	granted(2)
	mu.Lock()
	if order[0] != "flood" || order[1] != "other" {
		t.Errorf("grant order %v, want [flood other]", order)
	}
	mu.Unlock()
	for i := 0; i < 6; i++ { // let the rest through
		s.release()
	}
	wg.Wait()
	if used, waiting := s.inUse(); waiting != 0 || used != 0 {
		t.Errorf("after all: used %d waiting %d", used, waiting)
	}
}

// TestFairSemCancel: a waiter that gives up leaves no slot taken.
func TestFairSemCancel(t *testing.T) {
	t.Parallel()
	s := newFairSem(1)
	if err := s.acquire(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := s.acquire(ctx, "late"); err == nil {
		t.Fatal("acquired a full semaphore")
	}
	s.release()
	if used, waiting := s.inUse(); used != 0 || waiting != 0 {
		t.Errorf("used %d waiting %d", used, waiting)
	}
	if err := s.acquire(context.Background(), "again"); err != nil {
		t.Fatal(err)
	}
}

// TestLineQueueBounds: a queue holds at most its bytes (one line larger
// than the budget goes alone), writers wait for room and a notify-style
// push gives up at once.
func TestLineQueueBounds(t *testing.T) {
	t.Parallel()
	q := newLineQueue(100, 1000)
	ctx := context.Background()
	if !q.push(ctx, make([]byte, 5000), false) {
		t.Fatal("a single large line must go into an empty queue")
	}
	if q.push(ctx, []byte("x"), false) {
		t.Fatal("pushed past the byte budget")
	}
	done := make(chan bool, 1)
	go func() { done <- q.push(ctx, []byte("waits"), true) }()
	select {
	case <-done:
		t.Fatal("a waiting push did not wait")
	case <-time.After(20 * time.Millisecond):
	}
	if got := q.take(); len(got) != 1 {
		t.Fatalf("took %d lines", len(got))
	}
	if !<-done {
		t.Fatal("the waiting push failed")
	}
	if n, b := q.queued(); n != 1 || b != 5 {
		t.Errorf("queued %d lines %d bytes", n, b)
	}
}

// TestDroppedNotificationsLoggedOnce: an IDE that does not read misses
// notifications; the log gets one line with a count, not one per drop.
func TestDroppedNotificationsLoggedOnce(t *testing.T) {
	t.Parallel()
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	u := newSupervisor("x", config.Server{URL: "http://127.0.0.1:1/mcp"}, globalSettings{}, supervisorDeps{log: log})
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	d := newDownstream(ctx, u, a, log)
	const n = 20000
	for i := 0; i < n; i++ {
		d.notify([]byte(`{"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":"x"}}`))
	}
	d.drops.flush(log)
	out := buf.String()
	lines := strings.Count(out, "dropped notifications")
	if lines == 0 || lines > 3 {
		t.Fatalf("%d log lines for the drops:\n%.2000s", lines, out)
	}
	if want := fmt.Sprintf("droppedTotal=%d", n-outQueueLines); !strings.Contains(out, want) {
		t.Errorf("the log does not sum up the drops (%s):\n%s", want, out)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// FuzzHubFraming: whatever an upstream sends and Parse accepts, the lines
// the hub's encoders build from its pieces for an IDE (a response with the
// IDE's id restored, a forwarded request or notification) frame as exactly
// one line of valid JSON-RPC. (The forwarding path itself is covered by
// TestPrettyPrintedUpstreamKeepsFraming and its neighbours.)
func FuzzHubFraming(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"result":{"content":[]}}`,
		"{\n \"jsonrpc\": \"2.0\",\n \"id\": 1,\n \"result\": {\n  \"a\": 1\n }\n}",
		"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{\"data\":\n{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"elicitation/create\"}\n}}",
		`{"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":{}}`,
		`{"jsonrpc":"2.0","id":2,"error":{"code":-1,"message":"x\ny"}}`,
		`[{"jsonrpc":"2.0"}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := jsonrpc.Parse(in)
		if err != nil {
			return
		}
		var lines [][]byte
		switch {
		case m.IsResponse():
			lines = append(lines, jsonrpc.EncodeResponse(json.RawMessage(`"ide-1"`), m.Result, m.Error))
		case m.IsRequest():
			lines = append(lines, jsonrpc.EncodeRequest(json.RawMessage(`"mcptray-s1"`), m.Method, m.Params))
		case m.IsNotification():
			lines = append(lines, jsonrpc.EncodeRequest(nil, m.Method, m.Params))
		}
		for _, l := range lines {
			out, err := jsonrpc.Frame(l)
			if err != nil {
				t.Fatalf("the hub built a line that is not JSON from %q: %q", in, l)
			}
			if bytes.ContainsAny(out, "\r\n") {
				t.Fatalf("framed line holds a line break: %q", out)
			}
			if _, err := jsonrpc.Parse(out); err != nil {
				t.Fatalf("framed line is not JSON-RPC: %q: %v", out, err)
			}
		}
	})
}
