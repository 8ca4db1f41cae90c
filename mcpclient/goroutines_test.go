package mcpclient_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mcptray/mcptray/mcpclient"
	fs "github.com/mcptray/mcptray/mcpclient/internal/faultserver"
	"github.com/mcptray/mcptray/mcpclient/internal/testenv"
	"github.com/mcptray/mcptray/mcpclient/ipc"
)

// goroutineStacks returns every goroutine's stack by goroutine id.
func goroutineStacks() map[int]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[int]string{}
	for _, g := range bytes.Split(buf, []byte("\n\n")) {
		head, _, _ := bytes.Cut(g, []byte(" ["))
		id, err := strconv.Atoi(string(bytes.TrimPrefix(head, []byte("goroutine "))))
		if err == nil {
			out[id] = string(g)
		}
	}
	return out
}

// hubOwned reports a stack with a frame (or creator) in mcptray's own
// non-test code, other than the test's servers.
func hubOwned(stack string) bool {
	for _, line := range strings.Split(stack, "\n") {
		line = strings.TrimPrefix(strings.TrimSpace(line), "created by ")
		if !strings.HasPrefix(line, "github.com/mcptray/mcptray/") {
			continue
		}
		if strings.HasPrefix(line, "github.com/mcptray/mcptray/mcpclient_test.") ||
			strings.HasPrefix(line, "github.com/mcptray/mcptray/mcpclient/internal/faultserver.") ||
			strings.HasPrefix(line, "github.com/mcptray/mcptray/mcpclient/internal/testenv.") {
			continue
		}
		return true
	}
	return false
}

// leftovers lists the goroutines of ours that were not there before.
func leftovers(before map[int]string) []string {
	var out []string
	for id, st := range goroutineStacks() {
		if _, ok := before[id]; !ok && hubOwned(st) {
			out = append(out, st)
		}
	}
	return out
}

// checkNoLeftovers fails if a goroutine the hub started outlived Run. It
// looks at once: every one of them has an owner that waited for it, so
// there is no grace period (net/http's own connection goroutines are not
// ours and are not counted).
func checkNoLeftovers(t *testing.T, before map[int]string) {
	t.Helper()
	if left := leftovers(before); len(left) > 0 {
		t.Errorf("%d goroutine(s) of the hub outlived Run:\n\n%s", len(left), strings.Join(left, "\n\n"))
	}
}

// TestNoGoroutineOutlivesHub drives a hub through calls, cancels, server
// requests, notifications both ways, a list change, a session that is
// drained while a call runs on it, and a server restart, then stops it
// with calls still in flight: when Run returns, no goroutine it started
// may be left.
func TestNoGoroutineOutlivesHub(t *testing.T) {
	before := goroutineStacks()
	a := startFault(t, fs.Options{ForceSSE: true})
	b := startFault(t, fs.Options{Transport: fs.TransportSSE})
	ev := testenv.StartEverything(t, testenv.TransportStreamable, 0)
	m := startFault(t, fs.Options{Era: fs.EraModern})
	f := startHub(t, map[string]string{"a": urlEntry(a.URL()), "b": urlEntry(b.URL()), "ev": urlEntry(ev.URL()), "m": urlEntry(m.URL())})
	ca := launchBridge(t, f.env(), "a", "--no-start")
	ca2 := launchBridge(t, f.env(), "a", "--no-start")
	cb := launchBridge(t, f.env(), "b", "--no-start")
	ca.onServer = func(m *rpcResp) any {
		switch m.Method {
		case "roots/list":
			return map[string]any{"roots": []any{}}
		case "elicitation/create":
			return map[string]any{"action": "accept", "content": map[string]any{"name": "x"}}
		}
		return map[string]any{"role": "assistant", "model": "m", "content": map[string]any{"type": "text", "text": "hi"}}
	}
	caps := map[string]any{"sampling": map[string]any{}, "roots": map[string]any{}, "elicitation": map[string]any{}}
	ca.initialize(caps)
	ca2.initialize(nil)
	cb.initialize(nil)

	// Calls, progress, server→client requests, subscriptions.
	ca.ok("tools/call", echoArgs("one"))
	cb.ok("tools/call", echoArgs("two"))
	ca.ok("tools/call", map[string]any{"name": "progress", "arguments": map[string]any{"count": 2, "ms": 5}, "_meta": map[string]any{"progressToken": 7}})
	ca.ok("tools/call", map[string]any{"name": "elicit", "arguments": map[string]any{}})
	ca.ok("tools/call", map[string]any{"name": "sample", "arguments": map[string]any{"prompt": "hi"}})
	ca.call("resources/subscribe", map[string]any{"uri": "test://static"}) // the fault server refuses it
	ca.call("logging/setLevel", map[string]any{"level": "info"})           // and this
	ca.notify("notifications/roots/list_changed", nil)

	// Subscriptions and the logging level, replayed after a restart; an
	// IDE that leaves drops its subscription upstream.
	cev := launchBridge(t, f.env(), "ev", "--no-start")
	cev.initialize(nil)
	var rl struct{ Resources []struct{ URI string } }
	_ = json.Unmarshal(cev.ok("resources/list", nil), &rl)
	if len(rl.Resources) < 2 {
		t.Fatalf("server-everything lists %d resources", len(rl.Resources))
	}
	cev.ok("resources/subscribe", map[string]any{"uri": rl.Resources[0].URI})
	cev.ok("logging/setLevel", map[string]any{"level": "debug"})
	leaving := launchBridge(t, f.env(), "ev", "--no-start")
	leaving.initialize(nil)
	leaving.ok("resources/subscribe", map[string]any{"uri": rl.Resources[1].URI})
	leaving.stdin.Close()
	<-leaving.exited
	ev.Kill()
	ev.Restart()
	cev.ok("tools/call", map[string]any{"name": "echo", "arguments": map[string]any{"message": "after"}})

	// A cancel from the IDE.
	id, _ := ca2.start("tools/call", map[string]any{"name": "slow", "arguments": map[string]any{"ms": 20000}})
	time.Sleep(100 * time.Millisecond)
	ca2.notify("notifications/cancelled", map[string]any{"requestId": jsonNum(id), "reason": "stop"})

	// The modern era: a legacy IDE on a modern server (its elicitation as
	// MRTR, a subscription on the hub's listen stream); a modern IDE's
	// listen on a legacy server, and its request parked for input that
	// never comes back.
	cm := launchBridge(t, f.env(), "m", "--no-start")
	cm.onServer = ca.onServer
	cm.initialize(caps)
	cm.ok("tools/call", map[string]any{"name": "elicit", "arguments": map[string]any{}})
	cm.ok("resources/subscribe", map[string]any{"uri": "test://static"})
	modern := launchBridge(t, f.env(), "a", "--no-start")
	modern.start("subscriptions/listen", withModern(map[string]any{"notifications": map[string]any{"toolsListChanged": true, "resourceSubscriptions": []string{"test://static"}}}, nil))
	modern.waitNote("notifications/subscriptions/acknowledged", nil, 5*time.Second)
	if r := modern.ok("tools/call", withModern(map[string]any{"name": "elicit", "arguments": map[string]any{}}, map[string]any{"elicitation": map[string]any{}})); !strings.Contains(string(r), "input_required") {
		t.Errorf("the modern IDE's elicit on a legacy server: %s", r)
	}

	// A list change the server announces.
	a.SetTools("echo", "slow", "extra")
	ca.waitNote("notifications/tools/list_changed", nil, 5*time.Second)

	// A session rebuilt under a running call: the old one is drained.
	ca2.start("tools/call", map[string]any{"name": "slow", "arguments": map[string]any{"ms": 20000}})
	time.Sleep(100 * time.Millisecond)
	before2 := f.status("a").SessionsOpened
	a.Inject(fs.Fault{Kind: fs.CorruptSSEClose, Method: "tools/list"})
	ca.ok("tools/list", nil)
	if st := f.waitState("a", mcpclient.StateConnected, 5*time.Second); st.SessionsOpened <= before2 {
		t.Errorf("the corrupt stream did not rebuild the session")
	}

	// A server restart.
	if err := b.Restart(); err != nil {
		t.Fatal(err)
	}
	cb.ok("tools/call", echoArgs("three"))

	// Stop with work in flight: a slow call on each server, a cancel sent
	// to a server that stalls it.
	ca.start("tools/call", map[string]any{"name": "slow", "arguments": map[string]any{"ms": 20000}})
	cb.start("tools/call", map[string]any{"name": "slow", "arguments": map[string]any{"ms": 20000}})
	a.Inject(fs.Fault{Kind: fs.Stall, Method: "notifications/cancelled"})
	id, _ = ca.start("tools/call", map[string]any{"name": "slow", "arguments": map[string]any{"ms": 20000}})
	time.Sleep(100 * time.Millisecond)
	ca.notify("notifications/cancelled", map[string]any{"requestId": jsonNum(id)})
	// And a client that connected but has not said hello yet.
	idle, err := net.Dial("unix", f.hub.Socket())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	time.Sleep(100 * time.Millisecond)

	start := time.Now()
	f.stop()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Run took %s to return after its context ended", d.Round(time.Millisecond))
	}
	checkNoLeftovers(t, before)
}

// TestNoGoroutineOutlivesHandover: a headless hub asked to hand over
// answers, then stops, leaving no goroutine behind.
func TestNoGoroutineOutlivesHandover(t *testing.T) {
	before := goroutineStacks()
	a := startFault(t, fs.Options{})
	f := startHub(t, map[string]string{"a": urlEntry(a.URL())})
	c := launchBridge(t, f.env(), "a", "--no-start")
	c.initialize(nil)
	c.ok("tools/call", echoArgs("one"))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := ipc.NewClient(f.hub.Socket(), "test").Handover(ctx); err != nil {
		t.Fatalf("handover: %v", err)
	}
	select {
	case err := <-f.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the hub did not stop after the handover")
	}
	f.cancel()
	f.cancel = nil
	checkNoLeftovers(t, before)
}
