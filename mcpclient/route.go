package mcpclient

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// cancelCall handles notifications/cancelled from a downstream. It does
// not block: the notification goes upstream from the supervisor's group.
func (u *supervisor) cancelCall(c *call, reason json.RawMessage) {
	c.cancel(errCancelledByClient)
	if s, upKey := u.router.sentOn(c); s != nil {
		p := map[string]json.RawMessage{"requestId": json.RawMessage(upKey)}
		if reason != nil {
			p["reason"] = reason
		}
		pb, _ := json.Marshal(p)
		u.bg.Go(func() {
			ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
			defer cancel()
			if err := s.conn.Send(ctx, &jsonrpc.Message{JSONRPC: "2.0", Method: "notifications/cancelled", Params: pb}); err != nil {
				u.log.Debug("forwarding cancel failed", "err", err)
			}
		})
	}
}

// cancelUpstream sends notifications/cancelled for an upstream request.
func (u *supervisor) cancelUpstream(s *session, upKey, reason string) {
	pb, _ := json.Marshal(map[string]any{"requestId": json.RawMessage(upKey), "reason": reason})
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	_ = s.conn.Send(ctx, &jsonrpc.Message{JSONRPC: "2.0", Method: "notifications/cancelled", Params: pb})
}

// mapProgressToken swaps the IDE's progress token in a request's params
// for one unique on this upstream, and records the route back on c.
func (u *supervisor) mapProgressToken(c *call, params json.RawMessage) json.RawMessage {
	var p map[string]json.RawMessage
	if err := json.Unmarshal(params, &p); err != nil {
		return params
	}
	var meta map[string]json.RawMessage
	if err := json.Unmarshal(p["_meta"], &meta); err != nil || meta["progressToken"] == nil {
		return params
	}
	tok := strconv.Quote("mcptray-" + strconv.FormatInt(u.nextTok.Add(1), 10))
	u.router.setToken(c, meta["progressToken"], tok)
	meta["progressToken"] = json.RawMessage(tok)
	p["_meta"], _ = json.Marshal(meta)
	out, err := json.Marshal(p)
	if err != nil {
		return params
	}
	return out
}

// inbound handles what the upstream sends on its own.
func (u *supervisor) inbound(s *session, m *jsonrpc.Message, related string) {
	s.touch()
	switch {
	case m.IsRequest():
		// Bounded: a server that floods requests gets the excess
		// refused, not a goroutine each.
		select {
		case s.serverReqs <- struct{}{}:
		default:
			u.serverReqDrops.add(u.log)
			return
		}
		if !u.bg.Go(func() {
			defer func() { <-s.serverReqs }()
			u.serverRequest(s, m, related)
		}) {
			<-s.serverReqs // the supervisor has stopped
		}
	case m.IsNotification():
		if m.Method == "notifications/message" && related != "" {
			// A log message about one request: a modern IDE gets it
			// only for its own requests (the revision scopes them so).
			if d := u.router.ideOf(related); d != nil && !d.legacyMode() {
				d.notify(jsonrpc.EncodeRequest(nil, m.Method, m.Params))
				return
			}
		}
		u.serverNotification(s, m)
	}
}

// maxServerRequests bounds the server→client requests of one session in
// progress at once; each waits for an IDE's answer.
const maxServerRequests = 64

// serverRequest routes a server→client request (sampling, elicitation,
// roots) to the downstream whose call it belongs to, else to one that
// declared the capability, and sends the answer back upstream.
func (u *supervisor) serverRequest(s *session, m *jsonrpc.Message, related string) {
	reply := func(result, errObj json.RawMessage) {
		ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
		defer cancel()
		if err := s.conn.Send(ctx, &jsonrpc.Message{JSONRPC: "2.0", ID: m.ID, Result: result, Error: errObj}); err != nil {
			u.log.Debug("answering a server request failed", "method", m.Method, "err", err)
		}
	}
	if m.Method == "ping" {
		reply(json.RawMessage("{}"), nil)
		return
	}
	d := u.pickDownstream(m.Method, related)
	c := u.inputCall(d, related)
	if c == nil && d == nil {
		c = u.router.modernCallWithCap(capabilityFor(m.Method))
	}
	if d == nil && c == nil {
		e, _ := json.Marshal(jsonrpc.Error{Code: jsonrpc.CodeMethodNotFound, Message: fmt.Sprintf("mcptray: no IDE attached to %q can answer %s right now", u.name, m.Method)})
		reply(nil, e)
		return
	}
	// An IDE that never answers holds the request no longer than one of
	// its own would be held.
	rctx, cancel := context.WithTimeout(s.ctx, time.Duration(u.limits().RequestTimeout)*time.Second)
	defer cancel()
	if c != nil {
		// A modern IDE's request: the input goes to it as input_required.
		res, err := u.askModernIDE(rctx, c, m)
		if err != nil {
			e, _ := json.Marshal(jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("mcptray: the IDE did not answer %s: %v", m.Method, err)})
			reply(nil, e)
			return
		}
		reply(res, nil)
		return
	}
	resp, err := d.request(rctx, m.Method, m.Params, jsonrpc.IDKey(m.ID))
	if err != nil {
		e, _ := json.Marshal(jsonrpc.Error{Code: jsonrpc.CodeInternalError, Message: fmt.Sprintf("mcptray: the IDE did not answer %s: %v", m.Method, err)})
		reply(nil, e)
		return
	}
	reply(resp.Result, resp.Error)
}

// capabilityFor names the client capability a server request needs.
func capabilityFor(method string) string {
	switch {
	case method == "sampling/createMessage":
		return "sampling"
	case method == "elicitation/create":
		return "elicitation"
	case method == "roots/list":
		return "roots"
	}
	return ""
}

func (u *supervisor) pickDownstream(method, related string) *downstream {
	if related != "" {
		if d := u.router.ideOf(related); d != nil {
			return d
		}
	}
	capName := capabilityFor(method)
	var best *downstream
	var bestActive bool
	var bestAt time.Time
	for _, d := range u.router.ides() {
		if capName != "" && !d.hasCapability(capName) {
			continue
		}
		active, at := u.router.busy(d), d.lastRequest()
		if best == nil || (active && !bestActive) || (active == bestActive && at.After(bestAt)) {
			best, bestActive, bestAt = d, active, at
		}
	}
	return best
}

func (u *supervisor) serverNotification(s *session, m *jsonrpc.Message) {
	if s.modern {
		// What came on the hub's own subscriptions/listen stream is the
		// hub's: the IDEs get it without the hub's subscription id.
		m.Params = setMeta(m.Params, metaSubscriptionID, nil)
	}
	switch m.Method {
	case "notifications/subscriptions/acknowledged":
		return
	case "notifications/progress":
		var p map[string]json.RawMessage
		if err := json.Unmarshal(m.Params, &p); err != nil {
			return
		}
		if c := u.router.byToken(jsonrpc.IDKey(p["progressToken"])); c != nil {
			u.sendProgress(c, progressFromServer, p)
		}
	case "notifications/cancelled":
		var p struct {
			RequestID json.RawMessage `json:"requestId"`
		}
		if json.Unmarshal(m.Params, &p) == nil {
			for d, hubID := range u.router.serverReqsFor(jsonrpc.IDKey(p.RequestID)) {
				d.cancelServerRequest(hubID, m.Params)
			}
		}
	case "notifications/tools/list_changed", "notifications/resources/list_changed", "notifications/prompts/list_changed":
		u.lists.invalidate(m.Method)
		u.broadcastNotification(m.Method, m.Params)
		if s.installed.Load() {
			u.bg.Go(func() { u.refreshLists(s, false) })
		}
	case "notifications/resources/updated":
		if !u.deliverToSubscribers(m.Params) {
			u.broadcastNotification(m.Method, m.Params)
		}
	default:
		u.broadcastNotification(m.Method, m.Params)
	}
}

// deliverToSubscribers sends notifications/resources/updated with params
// to the IDEs subscribed to its URI, each in its era (downstream.deliver:
// a legacy IDE gets it plain, a modern one on each of its listen streams
// that asked for the URI, tagged with that stream's subscription id). It
// reports whether there was any.
func (u *supervisor) deliverToSubscribers(params json.RawMessage) bool {
	subs := u.router.subscribers(uriOf(params))
	if len(subs) == 0 {
		return false
	}
	const method = "notifications/resources/updated"
	line := jsonrpc.EncodeRequest(nil, method, params)
	for _, d := range subs {
		d.deliver(method, params, line)
	}
	return true
}

// broadcastNotification sends a notification to every attached IDE, in
// its era (downstream.deliver).
func (u *supervisor) broadcastNotification(method string, params json.RawMessage) {
	line := jsonrpc.EncodeRequest(nil, method, params)
	for _, d := range u.router.ides() {
		d.deliver(method, params, line)
	}
}

func (u *supervisor) attach(d *downstream) {
	u.router.attach(d)
	u.notify()
}

// detach forgets an IDE that went away; the server hears of subscriptions
// no IDE holds any more.
func (u *supervisor) detach(d *downstream) {
	for _, uri := range u.router.detach(d) {
		u.sendBestEffort("resources/unsubscribe", map[string]string{"uri": uri})
	}
	u.notify()
}

// initializeResult is what the hub answers an IDE's initialize with: the
// upstream's capabilities, server info and instructions, with listChanged
// promised so that rebuilds can announce new lists.
func (u *supervisor) initializeResult(ctx context.Context, requested string) json.RawMessage {
	u.mu.Lock()
	everUp := u.everUp
	u.mu.Unlock()
	if !everUp {
		_, _ = u.acquire(ctx, time.Now().Add(u.tuning.FirstConnectWait))
	}
	u.mu.Lock()
	var init json.RawMessage
	if u.cur != nil {
		init = u.cur.init
	} else if u.lastInit != nil {
		init = u.lastInit
	}
	u.mu.Unlock()

	pv := config.SupportedProtocolVersions[0]
	for _, v := range config.SupportedProtocolVersions {
		if v == requested {
			pv = v
		}
	}
	var src map[string]json.RawMessage
	_ = json.Unmarshal(init, &src)
	caps := map[string]map[string]any{}
	if init != nil {
		var c map[string]map[string]any
		_ = json.Unmarshal(src["capabilities"], &c)
		for k, v := range c {
			if v == nil {
				v = map[string]any{}
			}
			caps[k] = v
		}
	} else {
		caps["tools"] = map[string]any{}
		caps["resources"] = map[string]any{"subscribe": true}
		caps["prompts"] = map[string]any{}
		caps["logging"] = map[string]any{}
		caps["completions"] = map[string]any{}
	}
	for _, k := range []string{"tools", "resources", "prompts"} {
		if caps[k] != nil {
			caps[k]["listChanged"] = true
		}
	}
	out := map[string]any{"protocolVersion": pv, "capabilities": caps}
	if si := src["serverInfo"]; si != nil {
		out["serverInfo"] = si
	} else {
		out["serverInfo"] = map[string]string{"name": u.name, "version": "unknown"}
	}
	if in := src["instructions"]; in != nil {
		out["instructions"] = in
	}
	b, _ := json.Marshal(out)
	return b
}
