package mcpclient

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// A modern IDE on a legacy server: the server asks for input (elicitation,
// sampling, roots) with a server→client request while the IDE's request
// runs, but a 2026-07-28 IDE takes no requests, only input_required
// results. So the hub answers the IDE's request with input_required
// (inputRequests from the server's requests, requestState naming the
// request's "parking place") while the upstream request keeps running.
// The IDE's retry carries inputResponses and that requestState: the hub
// answers the server's requests with them and waits, under the retry's
// id, for the upstream answer (or the next request for input).

// pendingInput is a server's request for input waiting for a modern
// IDE's answer.
type pendingInput struct {
	method string
	params json.RawMessage
	answer chan json.RawMessage // the result; nil: none
}

// callResult is what an upstream Call returned.
type callResult struct {
	resp *jsonrpc.Message
	err  error
}

// parked is an upstream request of a modern IDE whose answer to the IDE
// was an input_required result.
type parked struct {
	d       *downstream
	c       *call
	method  string
	done    <-chan callResult // the upstream Call
	cctx    context.Context   // the request's own (timeout, cancel)
	release func()            // what the request held: its slot, its router entry
	timeout func() []byte     // the IDE's answer when cctx timed out
	pending map[string]*pendingInput
	claimed chan struct{} // closed when a retry takes it over
}

const parkStatePrefix = "mcptray-park-"

// parkGather is how long park waits after a server's request for input
// for another one of the same request.
const parkGather = 25 * time.Millisecond

// park answers the IDE's request (id) with input_required for pi (and any
// other input the request already waits for) and leaves the upstream
// request running, owned by the parking place until the IDE's retry or
// the request's end.
func (u *supervisor) park(p *parked, id json.RawMessage, pi *pendingInput) []byte {
	p.pending = map[string]*pendingInput{"mcptray-1": pi}
	// A server that asks for several inputs at once (an elicitation and
	// the roots, say) sends its requests back to back: those that come
	// within parkGather of each other go into the one input_required, so
	// the IDE answers them in one round.
	gather := time.NewTimer(parkGather)
	defer gather.Stop()
	for n := 2; ; n++ {
		select {
		case more := <-p.c.inputs:
			p.pending[fmt.Sprintf("mcptray-%d", n)] = more
			gather.Reset(parkGather)
			continue
		case <-gather.C:
		case <-p.cctx.Done():
		}
		break
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	token := parkStatePrefix + hex.EncodeToString(b[:])
	p.claimed = make(chan struct{})
	u.parkMu.Lock()
	if u.parked == nil {
		u.parked = map[string]*parked{}
	}
	u.parked[token] = p
	u.parkMu.Unlock()
	claimed := p.claimed
	if !u.bg.Go(func() { u.reap(p, token, claimed) }) {
		u.reap(p, token, claimed)
		return nil
	}
	reqs := map[string]any{}
	for k, in := range p.pending {
		reqs[k] = map[string]any{"method": in.method, "params": in.params}
	}
	res, _ := json.Marshal(map[string]any{"resultType": "input_required", "inputRequests": reqs, "requestState": token})
	return jsonrpc.EncodeResponse(id, res, nil)
}

// reap ends a parking place that no retry claimed: when the request ends
// (timeout, the IDE's cancel or departure) or the supervisor stops.
func (u *supervisor) reap(p *parked, token string, claimed chan struct{}) {
	u.mu.Lock()
	var stop <-chan struct{}
	if u.runCtx != nil {
		stop = u.runCtx.Done()
	}
	u.mu.Unlock()
	select {
	case <-claimed:
		return
	case <-p.cctx.Done():
	case <-stop:
		p.c.cancel(fmt.Errorf("mcptray is stopping"))
	}
	u.parkMu.Lock()
	if u.parked[token] != p {
		u.parkMu.Unlock()
		return // a retry took it
	}
	delete(u.parked, token)
	u.parkMu.Unlock()
	for _, pi := range p.pending {
		pi.answer <- nil
	}
	p.c.cancel(fmt.Errorf("the IDE did not come back with the input"))
	<-p.done
	p.release()
}

// parkToken is the hub's requestState in a modern IDE's retry, or "".
func parkToken(params json.RawMessage) string {
	if !strings.Contains(string(params), parkStatePrefix) {
		return ""
	}
	var p struct {
		RequestState string `json:"requestState"`
	}
	_ = json.Unmarshal(params, &p)
	if strings.HasPrefix(p.RequestState, parkStatePrefix) {
		return p.RequestState
	}
	return ""
}

// resumeParked takes a modern IDE's retry (m) of a parked request: its
// inputResponses answer the server's requests, and its id gets the
// upstream answer.
func (u *supervisor) resumeParked(ctx context.Context, d *downstream, m *jsonrpc.Message, token string) []byte {
	u.parkMu.Lock()
	p := u.parked[token]
	if p != nil && p.d == d {
		delete(u.parked, token)
	} else {
		p = nil
	}
	u.parkMu.Unlock()
	if p == nil {
		return u.errorLine(m.ID, jsonrpc.CodeInvalidParams, fmt.Sprintf("mcptray: the requestState of this %s is unknown or expired (server %q); send the request again without it", m.Method, u.name))
	}
	close(p.claimed)
	u.router.reID(p.c, m.ID)
	var rp struct {
		InputResponses map[string]json.RawMessage `json:"inputResponses"`
	}
	_ = json.Unmarshal(m.Params, &rp)
	for k, pi := range p.pending {
		pi.answer <- rp.InputResponses[k]
	}
	p.pending = nil
	select {
	case r := <-p.done:
		p.release()
		return u.parkedAnswer(p, m.ID, r)
	case pi := <-p.c.inputs:
		return u.park(p, m.ID, pi)
	case <-p.cctx.Done():
		<-p.done
		p.release()
		if context.Cause(p.cctx) == errRequestTimedOut {
			line := p.timeout()
			return append(line[:0:0], line...)
		}
		return nil
	case <-ctx.Done():
		p.c.cancel(errCancelledByClient)
		<-p.done
		p.release()
		return nil
	}
}

// parkedAnswer is the IDE's answer when the parked request ended.
func (u *supervisor) parkedAnswer(p *parked, id json.RawMessage, r callResult) []byte {
	if r.err != nil {
		if context.Cause(p.cctx) == errRequestTimedOut {
			return p.timeout()
		}
		if p.cctx.Err() != nil {
			return nil
		}
		return u.errorLine(id, jsonrpc.CodeLostInFlight, fmt.Sprintf("mcptray: the connection to server %q broke while %s was waiting for input (%v). It may or may not have completed; check and retry if needed.", u.name, p.method, r.err))
	}
	result, errObj := shapeForIDE(p.method, r.resp.Result, u.scrubJSON(r.resp.Error), true, false)
	return jsonrpc.EncodeResponse(id, result, errObj)
}

// askModernIDE hands a legacy server's request for input to the modern
// IDE request c it belongs to, and waits for the IDE's answer (nil when
// none came).
func (u *supervisor) askModernIDE(ctx context.Context, c *call, m *jsonrpc.Message) (json.RawMessage, error) {
	if capName := capabilityFor(m.Method); capName != "" && !hasCap(c.caps, capName) {
		return nil, fmt.Errorf("the IDE did not declare the %s capability", capName)
	}
	pi := &pendingInput{method: m.Method, params: m.Params, answer: make(chan json.RawMessage, 1)}
	select {
	case c.inputs <- pi:
	case <-ctx.Done():
		return nil, fmt.Errorf("the request ended")
	}
	select {
	case a := <-pi.answer:
		if a == nil {
			return nil, fmt.Errorf("the IDE gave no answer")
		}
		return a, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("no answer in time")
	}
}

func hasCap(caps json.RawMessage, name string) bool {
	var m map[string]json.RawMessage
	_ = json.Unmarshal(caps, &m)
	_, ok := m[name]
	return ok
}

// inputCall is the modern IDE request a server request belongs to: the
// one on whose response stream it came, else (a legacy server that sends
// them on its GET stream) the newest of a modern IDE's.
func (u *supervisor) inputCall(d *downstream, related string) *call {
	if related != "" {
		if c := u.router.callOf(related); c != nil {
			if c.inputs != nil {
				return c
			}
			return nil
		}
	}
	if d != nil && !d.legacyMode() {
		return u.router.modernCallOf(d)
	}
	return nil
}
