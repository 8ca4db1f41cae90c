package mcpclient

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
	"github.com/mcptray/mcptray/mcpclient/transport"
)

// Fast in-process tests of the router: first the router type on its own
// (indexes, tokens, server requests, subscriptions), then the hub's
// routing code (route.go, forward.go, downstream.go) with real downstreams
// on net.Pipe and a recording stand-in for the upstream connection. The
// latter run in a synctest bubble: synctest.Wait says when everything
// routed has arrived, so "nothing reached this IDE" needs no sleep, and
// requestTimeout passes on the fake clock.

// ---- the router type ----------------------------------------------------------

func rtCall(d *downstream, dsID, upKey string) *call {
	return &call{ds: d, dsID: json.RawMessage(dsID), upKey: upKey, method: "tools/call", cancel: func(error) {}}
}

// tokenRoute is where progress for the upstream token tokenKey goes: the
// IDE and its own token (nil, nil: nowhere).
func tokenRoute(r *router, tokenKey string) (*downstream, json.RawMessage) {
	c := r.byToken(tokenKey)
	if c == nil {
		return nil, nil
	}
	return r.tokenOf(c)
}

// rtEmpty fails the test if the router still indexes any request.
func rtEmpty(t *testing.T, r *router) {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.calls) != 0 || len(r.byIDE) != 0 || len(r.tokens) != 0 {
		t.Errorf("router still indexes requests: calls %d, byIDE %d, tokens %d", len(r.calls), len(r.byIDE), len(r.tokens))
	}
}

func TestRouterIndexesACall(t *testing.T) {
	for _, tc := range []struct {
		name   string
		id     string   // the IDE's id for its request
		same   []string // other spellings of the same id
		others []string // ids that are not it
	}{
		{"integer", `1`, []string{` 1`, "1 \n", "\t1"}, []string{`"1"`, `2`, `1.0`}},
		{"string", `"1"`, []string{` "1" `}, []string{`1`, `"01"`, `" 1"`}},
		{"string with blanks inside", `"a b"`, []string{"\n\"a b\"\t"}, []string{`"a  b"`, `"ab"`}},
		{"spaced when sent", ` 7 `, []string{`7`}, []string{`"7"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRouter()
			d, other := &downstream{}, &downstream{}
			c := rtCall(d, tc.id, "41")
			r.begin(c)
			r.setToken(c, json.RawMessage(`"ide-token"`), `"mcptray-9"`)

			if got := r.ideOf("41"); got != d {
				t.Errorf("ideOf(upstream id) = %p, want the IDE %p", got, d)
			}
			for _, id := range append([]string{tc.id}, tc.same...) {
				if got := r.byIDEID(d, json.RawMessage(id)); got != c {
					t.Errorf("byIDEID(%q) = %v, want the call", id, got)
				}
			}
			for _, id := range tc.others {
				if got := r.byIDEID(d, json.RawMessage(id)); got != nil {
					t.Errorf("byIDEID(%q) found the call of id %q", id, tc.id)
				}
			}
			if got := r.byIDEID(other, json.RawMessage(tc.id)); got != nil {
				t.Errorf("another IDE's id %s found this IDE's call", tc.id)
			}
			if ds, tok := tokenRoute(r, `"mcptray-9"`); ds != d || string(tok) != `"ide-token"` {
				t.Errorf("byToken = %p, %s; want the IDE and its own token", ds, tok)
			}
			if ds, _ := tokenRoute(r, `"ide-token"`); ds != nil {
				t.Errorf("the IDE's own token indexes the call upstream")
			}
			if !r.busy(d) || r.busy(other) {
				t.Errorf("busy = %v, %v; want only the caller busy", r.busy(d), r.busy(other))
			}

			r.end(c)
			if r.ideOf("41") != nil || r.byIDEID(d, json.RawMessage(tc.id)) != nil || r.busy(d) {
				t.Errorf("end left the call indexed")
			}
			if ds, tok := tokenRoute(r, `"mcptray-9"`); ds != nil || tok != nil {
				t.Errorf("end left the progress token indexed")
			}
			rtEmpty(t, r)
		})
	}
}

func TestRouterTwoIDEsSameIDAndToken(t *testing.T) {
	r := newRouter()
	a, b := &downstream{}, &downstream{}
	ca, cb := rtCall(a, `1`, "1"), rtCall(b, `1`, "2")
	r.begin(ca)
	r.begin(cb)
	r.setToken(ca, json.RawMessage(`"tok"`), `"mcptray-1"`)
	r.setToken(cb, json.RawMessage(`"tok"`), `"mcptray-2"`)

	if r.byIDEID(a, json.RawMessage(`1`)) != ca || r.byIDEID(b, json.RawMessage(`1`)) != cb {
		t.Fatal("two IDEs' requests with id 1 collide")
	}
	if r.ideOf("1") != a || r.ideOf("2") != b {
		t.Fatal("the upstream ids do not map to their IDEs")
	}
	for tok, want := range map[string]*downstream{`"mcptray-1"`: a, `"mcptray-2"`: b} {
		if ds, own := tokenRoute(r, tok); ds != want || string(own) != `"tok"` {
			t.Errorf("byToken(%s) = %p %s, want %p \"tok\"", tok, ds, own, want)
		}
	}
	r.end(ca)
	if r.byIDEID(b, json.RawMessage(`1`)) != cb || r.ideOf("2") != b {
		t.Error("ending A's request dropped B's")
	}
	if ds, _ := tokenRoute(r, `"mcptray-2"`); ds != b {
		t.Error("ending A's request dropped B's progress token")
	}
	if r.busy(a) || !r.busy(b) {
		t.Error("busy does not follow the IDE's own requests")
	}
	r.end(cb)
	rtEmpty(t, r)
}

// An IDE may reuse an id (its old request cancelled, the hub still
// waiting for the answer): the old request's end must not forget the new.
func TestRouterReusedIDOutlivesTheOldCall(t *testing.T) {
	r := newRouter()
	d := &downstream{}
	old, cur := rtCall(d, `5`, "10"), rtCall(d, `5`, "11")
	r.begin(old)
	r.begin(cur)
	r.end(old)
	if r.byIDEID(d, json.RawMessage(`5`)) != cur || !r.busy(d) {
		t.Fatal("the old request's end removed the new request of the same id")
	}
	r.end(cur)
	rtEmpty(t, r)
}

func TestRouterServerRequests(t *testing.T) {
	r := newRouter()
	a, b := &downstream{}, &downstream{}
	r.attach(a)
	r.attach(b)
	sa1 := &serverReq{upKey: "7"}
	sb1 := &serverReq{upKey: "7"}
	sb2 := &serverReq{upKey: `"x"`}
	r.addServerReq(a, `"mcptray-s1"`, sa1)
	r.addServerReq(b, `"mcptray-s1"`, sb1)
	r.addServerReq(b, `"mcptray-s2"`, sb2)

	for _, tc := range []struct {
		upKey string
		want  map[*downstream]string
	}{
		{"7", map[*downstream]string{a: `"mcptray-s1"`, b: `"mcptray-s1"`}},
		{`"x"`, map[*downstream]string{b: `"mcptray-s2"`}},
		{"x", map[*downstream]string{}},
		{`"7"`, map[*downstream]string{}},
	} {
		if got := r.serverReqsFor(tc.upKey); !mapsEqual(got, tc.want) {
			t.Errorf("serverReqsFor(%s) = %v, want %v", tc.upKey, got, tc.want)
		}
	}
	if r.takeServerReq(a, `"mcptray-s2"`) != nil {
		t.Error("A took B's server request")
	}
	if r.takeServerReq(a, `"mcptray-s1"`) != sa1 {
		t.Error("A could not take its server request")
	}
	if r.takeServerReq(a, `"mcptray-s1"`) != nil {
		t.Error("a server request was taken twice")
	}
	if got := r.serverReqsFor("7"); !mapsEqual(got, map[*downstream]string{b: `"mcptray-s1"`}) {
		t.Errorf("after A answered, serverReqsFor(7) = %v; want B's only", got)
	}
	r.detach(b)
	if got := r.serverReqsFor("7"); len(got) != 0 {
		t.Errorf("a detached IDE keeps its server requests: %v", got)
	}
	if r.takeServerReq(b, `"mcptray-s2"`) != nil {
		t.Error("a detached IDE's server request can still be taken")
	}
}

func mapsEqual[K comparable, V comparable](a, b map[K]V) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestRouterSubscriptions(t *testing.T) {
	r := newRouter()
	a, b := &downstream{}, &downstream{}
	r.attach(a)
	r.attach(b)
	const u1, u2, u3 = "file:///one", "file:///two", "file:///three"

	type sub struct{ mine, anyone bool }
	check := func(step string, d *downstream, uri string, want sub) {
		t.Helper()
		if mine, anyone := r.subscribed(d, uri); mine != want.mine || anyone != want.anyone {
			t.Errorf("%s: subscribed = %v, %v; want %v, %v", step, mine, anyone, want.mine, want.anyone)
		}
	}

	r.addSub(a, u1)
	check("A subscribed", a, u1, sub{true, true})
	check("A subscribed", b, u1, sub{false, true})
	r.addSub(a, u1) // again: still one IDE
	r.addSub(b, u1) // B shares it
	check("B shares", b, u1, sub{true, true})
	if got := r.subscribers(u1); len(got) != 2 {
		t.Errorf("subscribers = %d IDEs, want 2", len(got))
	}
	if r.dropSub(a, u1) {
		t.Error("A's unsubscribe reported last while B holds the URI (or A's double subscribe counted twice)")
	}
	if r.dropSub(a, u1) {
		t.Error("unsubscribing what A no longer holds reported last")
	}
	check("A left", a, u1, sub{false, true})
	if got := r.subscribers(u1); len(got) != 1 || got[0] != b {
		t.Errorf("subscribers after A left = %v, want B only", got)
	}
	if !r.dropSub(b, u1) {
		t.Error("the last IDE's unsubscribe did not report last")
	}
	check("nobody", b, u1, sub{false, false})

	// Detach gives back what no one else holds.
	r.addSub(a, u2)
	r.addSub(a, u3)
	r.addSub(b, u3)
	r.setLogLevel(json.RawMessage(`{"level":"debug"}`))
	level, uris := r.sessionState()
	slices.Sort(uris)
	if string(level) != `{"level":"debug"}` || !slices.Equal(uris, []string{u3, u2}) {
		t.Errorf("sessionState = %s %v; want the level and %v", level, uris, []string{u3, u2})
	}
	if last := r.detach(a); !slices.Equal(last, []string{u2}) {
		t.Errorf("detach(A) = %v, want [%s] (B still holds %s)", last, u2, u3)
	}
	if _, uris := r.sessionState(); !slices.Equal(uris, []string{u3}) {
		t.Errorf("after A left, sessionState URIs = %v, want [%s]", uris, u3)
	}
	if last := r.detach(b); !slices.Equal(last, []string{u3}) {
		t.Errorf("detach(B) = %v, want [%s]", last, u3)
	}
	if level, uris := r.sessionState(); len(uris) != 0 || string(level) != `{"level":"debug"}` {
		t.Errorf("with no IDE left, sessionState = %s %v; want the level kept and no URIs", level, uris)
	}
	if r.count() != 0 {
		t.Errorf("count = %d after both detached", r.count())
	}
}

// setLogLevel keeps its own copy: the caller's buffer may be reused.
func TestRouterLogLevelIsACopy(t *testing.T) {
	r := newRouter()
	p := []byte(`{"level":"info"}`)
	r.setLogLevel(p)
	copy(p, `{"level":"warn"}`)
	if level, _ := r.sessionState(); string(level) != `{"level":"info"}` {
		t.Errorf("sessionState level = %s after the caller reused its buffer", level)
	}
}

func TestRouterConcurrent(t *testing.T) {
	r := newRouter()
	const ides, perIDE = 8, 200
	var wg sync.WaitGroup
	for i := range ides {
		d := &downstream{}
		wg.Go(func() {
			r.attach(d)
			r.addSub(d, "file:///shared")
			for j := range perIDE {
				// Every IDE uses the same ids and token; the hub's are unique.
				c := rtCall(d, fmt.Sprint(j%4), fmt.Sprintf("%d", i*perIDE+j))
				r.begin(c)
				tok := fmt.Sprintf(`"mcptray-%d"`, i*perIDE+j)
				r.setToken(c, json.RawMessage(`"tok"`), tok)
				r.setSession(c, nil)
				if ds, own := tokenRoute(r, tok); ds != d || string(own) != `"tok"` {
					t.Errorf("byToken(%s) = %p %s, want %p \"tok\"", tok, ds, own, d)
				}
				if r.byIDEID(d, json.RawMessage(fmt.Sprint(j%4))) != c {
					t.Errorf("byIDEID lost IDE %d's request %d", i, j)
				}
				if r.ideOf(c.upKey) != d {
					t.Errorf("ideOf lost IDE %d's request %d", i, j)
				}
				_ = r.busy(d)
				_ = r.ides()
				_, _ = r.sessionState()
				_ = r.serverReqsFor(c.upKey)
				r.end(c)
			}
			r.detach(d)
		})
	}
	wg.Wait()
	rtEmpty(t, r)
	if r.count() != 0 {
		t.Errorf("count = %d", r.count())
	}
	if _, uris := r.sessionState(); len(uris) != 0 {
		t.Errorf("subscriptions left: %v", uris)
	}
}

// ---- the hub's routing, with real downstreams -------------------------------------

// rtConn stands in for the upstream connection: Call waits for the test
// to answer or fail it (or for its context), Send records.
type rtConn struct {
	mu    sync.Mutex
	calls []*rtPending
	sent  []*jsonrpc.Message
	done  chan struct{}
}

type rtPending struct {
	req    *jsonrpc.Message
	ctx    context.Context
	answer chan *jsonrpc.Message
	fail   chan error // the Call's error instead of an answer
}

func (c *rtConn) Call(ctx context.Context, m *jsonrpc.Message) (*jsonrpc.Message, error) {
	p := &rtPending{req: m, ctx: ctx, answer: make(chan *jsonrpc.Message, 1), fail: make(chan error, 1)}
	c.mu.Lock()
	c.calls = append(c.calls, p)
	c.mu.Unlock()
	select {
	case r := <-p.answer:
		return r, nil
	case err := <-p.fail:
		return nil, err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *rtConn) Send(_ context.Context, m *jsonrpc.Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sent = append(c.sent, m)
	return nil
}

func (c *rtConn) takeSent() []*jsonrpc.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.sent
	c.sent = nil
	return s
}

func (c *rtConn) pending() []*rtPending {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.calls)
}

func (c *rtConn) Close()                      {}
func (c *rtConn) Busy() int                   { return 0 }
func (c *rtConn) Idle() <-chan struct{}       { ch := make(chan struct{}); close(ch); return ch }
func (c *rtConn) Done() <-chan struct{}       { return c.done }
func (c *rtConn) Err() error                  { return nil }
func (c *rtConn) SessionID() string           { return "" }
func (c *rtConn) Transport() string           { return "streamable" }
func (c *rtConn) SetProtocolVersion(v string) {}

var _ transport.Conn = (*rtConn)(nil)

// rtHub is one upstream with a live (stand-in) session, in a bubble.
type rtHub struct {
	t    *testing.T
	u    *supervisor
	s    *session
	conn *rtConn
	ides []*rtIDE
}

func newRTHub(t *testing.T) *rtHub {
	u := newSupervisor("srv", config.Server{URL: "http://127.0.0.1:1/mcp"}, globalSettings{}, supervisorDeps{})
	conn := &rtConn{done: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{conn: conn, ctx: ctx, cancel: cancel, broken: transport.NewBroken(), serverReqs: make(chan struct{}, maxServerRequests)}
	u.mu.Lock()
	u.state, u.cur, u.everUp = StateConnected, s, true
	u.mu.Unlock()
	return &rtHub{t: t, u: u, s: s, conn: conn}
}

// close disconnects every IDE and ends the session, and waits for what
// the hub started (defer it inside the bubble).
func (h *rtHub) close() {
	for _, ide := range h.ides {
		ide.conn.Close()
	}
	h.s.cancel()
	synctest.Wait()
	h.u.bg.Wait()
}

// rtIDE is the IDE's end of a downstream's pipe.
type rtIDE struct {
	name string
	d    *downstream
	conn net.Conn
	mu   sync.Mutex
	got  []rtMsg
}

type rtMsg struct {
	ID     json.RawMessage            `json:"id"`
	Method string                     `json:"method"`
	Params map[string]json.RawMessage `json:"params"`
	Result json.RawMessage            `json:"result"`
	Error  *jsonrpc.Error             `json:"error"`
}

// ide attaches an IDE (serve, as the hub runs it) declaring caps.
func (h *rtHub) ide(name string, caps ...string) *rtIDE {
	hubEnd, ideEnd := net.Pipe()
	d := newDownstream(context.Background(), h.u, hubEnd, slog.New(slog.DiscardHandler))
	d.caps = map[string]json.RawMessage{}
	for _, c := range caps {
		d.caps[c] = json.RawMessage(`{}`)
	}
	ide := &rtIDE{name: name, d: d, conn: ideEnd}
	go d.serve(bufio.NewReader(hubEnd))
	go func() {
		sc := bufio.NewScanner(ideEnd)
		for sc.Scan() {
			var m rtMsg
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				h.t.Errorf("%s got a line that is not JSON: %q", name, sc.Bytes())
				continue
			}
			ide.mu.Lock()
			ide.got = append(ide.got, m)
			ide.mu.Unlock()
		}
	}()
	h.ides = append(h.ides, ide)
	synctest.Wait() // attached
	return ide
}

func (i *rtIDE) send(t *testing.T, line string) {
	t.Helper()
	if _, err := i.conn.Write([]byte(line + "\n")); err != nil {
		t.Fatalf("%s: write: %v", i.name, err)
	}
}

// take returns what the IDE received since the last take; call it after
// synctest.Wait.
func (i *rtIDE) take() []rtMsg {
	i.mu.Lock()
	defer i.mu.Unlock()
	got := i.got
	i.got = nil
	return got
}

// one expects exactly one message at the IDE.
func (i *rtIDE) one(t *testing.T, what string) rtMsg {
	t.Helper()
	got := i.take()
	if len(got) != 1 {
		t.Fatalf("%s: %s: got %d messages, want 1: %+v", i.name, what, len(got), got)
	}
	return got[0]
}

func (i *rtIDE) none(t *testing.T, what string) {
	t.Helper()
	if got := i.take(); len(got) != 0 {
		t.Fatalf("%s: %s: got %+v, want nothing", i.name, what, got)
	}
}

// callWithToken has the IDE call a tool with progress token tok; it
// returns the request as the upstream got it.
func (h *rtHub) callWithToken(t *testing.T, i *rtIDE, id, tok string) *rtPending {
	t.Helper()
	before := len(h.conn.pending())
	i.send(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"method":"tools/call","params":{"name":"slow","_meta":{"progressToken":%s}}}`, id, tok))
	synctest.Wait()
	p := h.conn.pending()
	if len(p) != before+1 {
		t.Fatalf("%s's call did not reach the upstream", i.name)
	}
	return p[before]
}

func upstreamToken(t *testing.T, p *rtPending) json.RawMessage {
	t.Helper()
	var params struct {
		Meta struct {
			ProgressToken json.RawMessage `json:"progressToken"`
		} `json:"_meta"`
	}
	if err := json.Unmarshal(p.req.Params, &params); err != nil {
		t.Fatal(err)
	}
	return params.Meta.ProgressToken
}

func progress(tok json.RawMessage, n int) *jsonrpc.Message {
	return &jsonrpc.Message{JSONRPC: "2.0", Method: "notifications/progress", Params: json.RawMessage(fmt.Sprintf(`{"progressToken":%s,"progress":%d}`, tok, n))}
}

func TestRouterProgressReachesItsOwner(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newRTHub(t)
		defer h.close()
		a, b := h.ide("A"), h.ide("B")
		// Both IDEs use id 1 and the same token.
		pa := h.callWithToken(t, a, `1`, `"tok"`)
		pb := h.callWithToken(t, b, `1`, `"tok"`)
		ta, tb := upstreamToken(t, pa), upstreamToken(t, pb)
		if string(ta) == `"tok"` || string(ta) == string(tb) {
			t.Fatalf("upstream tokens %s and %s: want the hub's own, unique", ta, tb)
		}
		if jsonrpc.IDKey(pa.req.ID) == jsonrpc.IDKey(pb.req.ID) {
			t.Fatalf("both IDEs' id 1 went upstream as %s", pa.req.ID)
		}

		for _, tc := range []struct {
			name    string
			tok     json.RawMessage
			n       int // the progress, increasing for each request
			to, not *rtIDE
		}{
			{"A's token", ta, 3, a, b},
			{"B's token", tb, 3, b, a},
			{"A's token, spaced", json.RawMessage(" " + string(ta) + " "), 4, a, b},
		} {
			h.u.serverNotification(h.s, progress(tc.tok, tc.n))
			synctest.Wait()
			m := tc.to.one(t, tc.name)
			if m.Method != "notifications/progress" || string(m.Params["progressToken"]) != `"tok"` || string(m.Params["progress"]) != fmt.Sprint(tc.n) {
				t.Errorf("%s: %s got %+v; want progress %d under its own token \"tok\"", tc.name, tc.to.name, m, tc.n)
			}
			tc.not.none(t, tc.name)
		}
		for _, tok := range []string{`"tok"`, `"mcptray-999"`, `1`} {
			h.u.serverNotification(h.s, progress(json.RawMessage(tok), 1))
		}
		synctest.Wait()
		a.none(t, "unknown tokens")
		b.none(t, "unknown tokens")

		// The answers go back under each IDE's own id; then the tokens
		// are forgotten.
		pa.answer <- &jsonrpc.Message{JSONRPC: "2.0", ID: pa.req.ID, Result: json.RawMessage(`{"who":"A"}`)}
		pb.answer <- &jsonrpc.Message{JSONRPC: "2.0", ID: pb.req.ID, Result: json.RawMessage(`{"who":"B"}`)}
		synctest.Wait()
		for _, w := range []struct {
			ide *rtIDE
			res string
		}{{a, `{"who":"A"}`}, {b, `{"who":"B"}`}} {
			m := w.ide.one(t, "answer")
			if string(m.ID) != "1" || string(m.Result) != w.res {
				t.Errorf("%s got %s %s, want id 1 %s", w.ide.name, m.ID, m.Result, w.res)
			}
		}
		h.u.serverNotification(h.s, progress(ta, 9))
		synctest.Wait()
		a.none(t, "progress after the answer")
		rtEmpty(t, h.u.router)
	})
}

func TestRouterCancelFromIDE(t *testing.T) {
	for _, tc := range []struct {
		name      string
		requestID string // in B's notifications/cancelled
		cancels   bool   // B's call ends
	}{
		{"same id", `1`, true},
		{"spaced id", ` 1 `, true},
		{"string id is another request", `"1"`, false},
		{"unknown id", `2`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newRTHub(t)
				defer h.close()
				a, b := h.ide("A"), h.ide("B")
				pa := h.callWithToken(t, a, `1`, `"t"`)
				pb := h.callWithToken(t, b, `1`, `"t"`)
				h.conn.takeSent()

				b.send(t, fmt.Sprintf(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":%s,"reason":"user"}}`, tc.requestID))
				synctest.Wait()

				if pa.ctx.Err() != nil {
					t.Fatal("B's cancel ended A's call of the same id")
				}
				sent := h.conn.takeSent()
				if !tc.cancels {
					if pb.ctx.Err() != nil {
						t.Fatal("B's call was cancelled")
					}
					if len(sent) != 0 {
						t.Fatalf("the upstream got %v", sent)
					}
					pb.answer <- &jsonrpc.Message{JSONRPC: "2.0", ID: pb.req.ID, Result: json.RawMessage(`{}`)}
					synctest.Wait()
					if m := b.one(t, "answer"); string(m.ID) != "1" {
						t.Errorf("B's answer has id %s", m.ID)
					}
					a.none(t, "B's answer")
					return
				}
				if pb.ctx.Err() == nil {
					t.Fatal("B's call was not cancelled")
				}
				// The upstream hears of it under the hub's id, with the reason.
				if len(sent) != 1 || sent[0].Method != "notifications/cancelled" {
					t.Fatalf("the upstream got %v, want one notifications/cancelled", sent)
				}
				var p struct {
					RequestID json.RawMessage `json:"requestId"`
					Reason    string          `json:"reason"`
				}
				if err := json.Unmarshal(sent[0].Params, &p); err != nil || jsonrpc.IDKey(p.RequestID) != jsonrpc.IDKey(pb.req.ID) || p.Reason != "user" {
					t.Errorf("upstream cancel %s, want requestId %s and reason user", sent[0].Params, pb.req.ID)
				}
				// The IDE gets no answer to what it cancelled; the router forgets it.
				b.none(t, "after its cancel")
				a.none(t, "after B's cancel")
				if h.u.router.busy(b.d) || !h.u.router.busy(a.d) {
					t.Error("the router did not forget B's cancelled call (or forgot A's)")
				}
			})
		})
	}
}

const rtSampling = `{"messages":[],"maxTokens":5}`

// serverRequest has the upstream send request id 42 as if related to the
// upstream request related.
func (h *rtHub) serverRequest(method, related string) {
	h.u.inbound(h.s, &jsonrpc.Message{JSONRPC: "2.0", ID: json.RawMessage(`42`), Method: method, Params: json.RawMessage(rtSampling)}, related)
	synctest.Wait()
}

func TestRouterServerRequestRouting(t *testing.T) {
	// A has a call in flight (unless idleA), the one a related request
	// names. Without related, an IDE with requests in flight wins, then the one
	// that sent a request last: B, unless the case says otherwise.
	for _, tc := range []struct {
		name     string
		capsA    []string
		capsB    []string
		recentA  bool   // A sent a request last (else B)
		idleA    bool   // A has no call in flight
		idleB    bool   // B has no call in flight
		related  string // "A": related to A's call in flight; other: as given
		method   string
		want     string // "A", "B" or "" (answered with an error)
		wantCode int
	}{
		{name: "related goes to the call's IDE", capsA: []string{"sampling"}, capsB: []string{"sampling"}, related: "A", method: "sampling/createMessage", want: "A"},
		{name: "related wins over the capability", capsB: []string{"sampling"}, related: "A", method: "sampling/createMessage", want: "A"},
		{name: "without related, the capable IDE", capsB: []string{"sampling"}, recentA: true, method: "sampling/createMessage", want: "B"},
		{name: "without related, the most recent capable IDE", capsA: []string{"sampling"}, capsB: []string{"sampling"}, method: "sampling/createMessage", want: "B"},
		{name: "unknown related, the capable IDE", capsB: []string{"elicitation"}, recentA: true, related: "999", method: "elicitation/create", want: "B"},
		// Busy beats recent, both ways round (the IDEs' order in the
		// router's map is not random enough to rely on one).
		{name: "without related, the busy capable IDE", capsA: []string{"roots"}, capsB: []string{"roots"}, idleB: true, method: "roots/list", want: "A"},
		{name: "without related, the busy capable IDE (B)", capsA: []string{"roots"}, capsB: []string{"roots"}, idleA: true, recentA: true, method: "roots/list", want: "B"},
		{name: "never an IDE without the capability", capsA: []string{"roots"}, capsB: []string{"elicitation"}, recentA: true, method: "sampling/createMessage", wantCode: jsonrpc.CodeMethodNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newRTHub(t)
				defer h.close()
				a, b := h.ide("A", tc.capsA...), h.ide("B", tc.capsB...)
				now := time.Now()
				recentA, recentB := now.Add(-time.Minute), now
				if tc.recentA {
					recentA, recentB = recentB, recentA
				}
				a.d.mu.Lock()
				a.d.lastActive = recentA
				a.d.mu.Unlock()
				b.d.mu.Lock()
				b.d.lastActive = recentB
				b.d.mu.Unlock()
				ca := &call{ds: a.d, dsID: json.RawMessage(`3`), upKey: "77", method: "tools/call", cancel: func(error) {}}
				if !tc.idleA {
					h.u.router.begin(ca)
					defer h.u.router.end(ca)
				}
				if !tc.idleB {
					cb := &call{ds: b.d, dsID: json.RawMessage(`3`), upKey: "78", method: "tools/call", cancel: func(error) {}}
					h.u.router.begin(cb)
					defer h.u.router.end(cb)
				}
				related := tc.related
				if related == "A" {
					related = ca.upKey
				}

				// Several rounds: the router keeps the IDEs in a map, and one
				// round could pass by the luck of its order.
				for range 8 {
					h.serverRequest(tc.method, related)
					ides := map[string]*rtIDE{"A": a, "B": b}
					if tc.want == "" {
						a.none(t, "server request")
						b.none(t, "server request")
						sent := h.conn.takeSent()
						if len(sent) != 1 || string(sent[0].ID) != "42" || sent[0].Error == nil {
							t.Fatalf("the upstream got %v, want an error for 42", sent)
						}
						var e jsonrpc.Error
						if err := json.Unmarshal(sent[0].Error, &e); err != nil || e.Code != tc.wantCode {
							t.Errorf("error %s, want code %d", sent[0].Error, tc.wantCode)
						}
						continue
					}
					to := ides[tc.want]
					for n, i := range ides {
						if n != tc.want {
							i.none(t, "server request for "+tc.want)
						}
					}
					m := to.one(t, "server request")
					if m.Method != tc.method || len(m.ID) == 0 || string(m.ID) == "42" {
						t.Fatalf("%s got %+v; want %s under the hub's own id", to.name, m, tc.method)
					}
					if len(h.conn.takeSent()) != 0 {
						t.Fatal("the upstream got an answer before the IDE gave one")
					}
					to.send(t, fmt.Sprintf(`{"jsonrpc":"2.0","id":%s,"result":{"from":%q}}`, m.ID, to.name))
					synctest.Wait()
					sent := h.conn.takeSent()
					if len(sent) != 1 || string(sent[0].ID) != "42" || string(sent[0].Result) != fmt.Sprintf(`{"from":%q}`, to.name) {
						t.Fatalf("the upstream got %v, want %s's answer under id 42", sent, to.name)
					}
					if got := h.u.router.serverReqsFor("42"); len(got) != 0 {
						t.Errorf("the answered server request is still indexed: %v", got)
					}
				}
			})
		})
	}
}

func TestRouterServerCancelsItsRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newRTHub(t)
		defer h.close()
		a, b := h.ide("A", "sampling"), h.ide("B", "sampling")
		ca := &call{ds: a.d, dsID: json.RawMessage(`1`), upKey: "5", method: "tools/call", cancel: func(error) {}}
		h.u.router.begin(ca)
		defer h.u.router.end(ca)

		h.serverRequest("sampling/createMessage", "5")
		req := a.one(t, "server request")
		b.none(t, "server request")

		h.u.serverNotification(h.s, &jsonrpc.Message{JSONRPC: "2.0", Method: "notifications/cancelled", Params: json.RawMessage(`{"requestId":42,"reason":"no longer needed"}`)})
		synctest.Wait()
		m := a.one(t, "server's cancel")
		if m.Method != "notifications/cancelled" || jsonrpc.IDKey(m.Params["requestId"]) != jsonrpc.IDKey(req.ID) || string(m.Params["reason"]) != `"no longer needed"` {
			t.Errorf("A got %+v; want notifications/cancelled for %s with the reason", m, req.ID)
		}
		b.none(t, "server's cancel")

		// A cancel of a request the hub does not know reaches no IDE.
		h.u.serverNotification(h.s, &jsonrpc.Message{JSONRPC: "2.0", Method: "notifications/cancelled", Params: json.RawMessage(`{"requestId":"42"}`)})
		synctest.Wait()
		a.none(t, "cancel of another id")
		b.none(t, "cancel of another id")
	})
}

// An IDE that never answers holds the server's request for requestTimeout
// (on the bubble's clock), then the server gets an error.
func TestRouterServerRequestTimesOut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newRTHub(t)
		defer h.close()
		a := h.ide("A", "sampling")
		h.serverRequest("sampling/createMessage", "")
		a.one(t, "server request")
		timeout := time.Duration(h.u.limits().RequestTimeout) * time.Second
		time.Sleep(timeout - time.Second)
		synctest.Wait()
		if sent := h.conn.takeSent(); len(sent) != 0 {
			t.Fatalf("answered before requestTimeout: %v", sent)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		sent := h.conn.takeSent()
		if len(sent) != 1 || string(sent[0].ID) != "42" || sent[0].Error == nil {
			t.Fatalf("after requestTimeout the upstream got %v, want an error for 42", sent)
		}
		if got := h.u.router.serverReqsFor("42"); len(got) != 0 {
			t.Errorf("the timed-out server request is still indexed: %v", got)
		}
	})
}

func TestRouterBroadcast(t *testing.T) {
	for _, tc := range []struct {
		method string
		params string
		subA   bool // A subscribed to the URI in params
		want   []string
	}{
		{"notifications/message", `{"level":"info","data":"hi"}`, false, []string{"A", "B"}},
		{"notifications/tools/list_changed", `{}`, false, []string{"A", "B"}},
		{"notifications/resources/updated", `{"uri":"file:///x"}`, false, []string{"A", "B"}},
		{"notifications/resources/updated", `{"uri":"file:///x"}`, true, []string{"A"}},
	} {
		t.Run(fmt.Sprintf("%s sub=%v", tc.method, tc.subA), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newRTHub(t)
				defer h.close()
				a, b, c := h.ide("A"), h.ide("B"), h.ide("C")
				if tc.subA {
					h.u.router.addSub(a.d, "file:///x")
				}
				h.u.router.addSub(c.d, "file:///x")
				c.conn.Close() // C goes away
				synctest.Wait()
				if n := h.u.router.count(); n != 2 {
					t.Fatalf("%d IDEs attached after C left, want 2", n)
				}

				h.u.serverNotification(h.s, &jsonrpc.Message{JSONRPC: "2.0", Method: tc.method, Params: json.RawMessage(tc.params)})
				synctest.Wait()
				for _, i := range []*rtIDE{a, b} {
					if !slices.Contains(tc.want, i.name) {
						i.none(t, tc.method)
						continue
					}
					m := i.one(t, tc.method)
					if m.Method != tc.method || len(m.ID) != 0 {
						t.Errorf("%s got %+v, want notification %s", i.name, m, tc.method)
					}
				}
				c.none(t, "after it left")
			})
		})
	}
}
