package mcpclient

import (
	"context"
	"encoding/json"
	"time"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// The upstream session is shared and can be rebuilt under the IDEs, so the
// hub keeps the session state IDEs set up: resource subscriptions (counted
// across IDEs) and the logging level. A new session gets them replayed.

// subscribe forwards resources/subscribe once per URI across IDEs.
func (u *upstream) subscribe(ctx context.Context, d *downstream, m *jsonrpc.Message) []byte {
	uri := uriOf(m.Params)
	d.mu.Lock()
	already := d.subs[uri]
	d.mu.Unlock()
	u.mu.Lock()
	shared := u.subs[uri] > 0
	u.mu.Unlock()
	if uri != "" && (already || shared) {
		u.addSub(d, uri)
		return jsonrpc.EncodeResponse(m.ID, json.RawMessage("{}"), nil)
	}
	line := u.forward(ctx, d, m)
	if uri != "" && isSuccess(line) {
		u.addSub(d, uri)
	}
	return line
}

func (u *upstream) addSub(d *downstream, uri string) {
	d.mu.Lock()
	if d.subs == nil {
		d.subs = map[string]bool{}
	}
	had := d.subs[uri]
	d.subs[uri] = true
	d.mu.Unlock()
	if !had {
		u.mu.Lock()
		u.subs[uri]++
		u.mu.Unlock()
	}
}

// unsubscribe drops an IDE's subscription; the upstream hears of it when
// no IDE wants the URI any more.
func (u *upstream) unsubscribe(ctx context.Context, d *downstream, m *jsonrpc.Message) []byte {
	uri := uriOf(m.Params)
	if uri == "" {
		return u.forward(ctx, d, m)
	}
	if !u.dropSub(d, uri) {
		return jsonrpc.EncodeResponse(m.ID, json.RawMessage("{}"), nil)
	}
	return u.forward(ctx, d, m)
}

// dropSub removes d's subscription and reports whether it was the last.
func (u *upstream) dropSub(d *downstream, uri string) bool {
	d.mu.Lock()
	had := d.subs[uri]
	delete(d.subs, uri)
	d.mu.Unlock()
	if !had {
		return false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	u.subs[uri]--
	if u.subs[uri] <= 0 {
		delete(u.subs, uri)
		return true
	}
	return false
}

// dropAllSubs is called when an IDE goes away.
func (u *upstream) dropAllSubs(d *downstream) {
	d.mu.Lock()
	uris := make([]string, 0, len(d.subs))
	for uri := range d.subs {
		uris = append(uris, uri)
	}
	d.mu.Unlock()
	for _, uri := range uris {
		if u.dropSub(d, uri) {
			u.sendBestEffort("resources/unsubscribe", map[string]string{"uri": uri})
		}
	}
}

// setLevel forwards logging/setLevel and remembers it for new sessions.
func (u *upstream) setLevel(ctx context.Context, d *downstream, m *jsonrpc.Message) []byte {
	line := u.forward(ctx, d, m)
	if isSuccess(line) {
		u.mu.Lock()
		u.logLevel = append(json.RawMessage(nil), m.Params...)
		u.mu.Unlock()
	}
	return line
}

// replaySessionState re-creates subscriptions and the logging level on a
// new session.
func (u *upstream) replaySessionState(s *session) {
	u.mu.Lock()
	level := u.logLevel
	uris := make([]string, 0, len(u.subs))
	for uri := range u.subs {
		uris = append(uris, uri)
	}
	u.mu.Unlock()
	ctx, cancel := context.WithTimeout(s.ctx, 30*time.Second)
	defer cancel()
	if level != nil {
		if _, err := s.conn.Call(ctx, &jsonrpc.Message{JSONRPC: "2.0", ID: jsonrpc.IntID(u.nextID.Add(1)), Method: "logging/setLevel", Params: level}); err != nil {
			u.log.Debug("replaying logging/setLevel failed", "err", err)
		}
	}
	for _, uri := range uris {
		p, _ := json.Marshal(map[string]string{"uri": uri})
		if _, err := s.conn.Call(ctx, &jsonrpc.Message{JSONRPC: "2.0", ID: jsonrpc.IntID(u.nextID.Add(1)), Method: "resources/subscribe", Params: p}); err != nil {
			u.log.Debug("replaying a subscription failed", "err", err)
		}
	}
}

// sendBestEffort sends a request on the current session, ignoring the answer.
func (u *upstream) sendBestEffort(method string, params any) {
	u.mu.Lock()
	s := u.cur
	u.mu.Unlock()
	if s == nil {
		return
	}
	p, _ := json.Marshal(params)
	u.bg.Go(func() {
		ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
		defer cancel()
		_, _ = s.conn.Call(ctx, &jsonrpc.Message{JSONRPC: "2.0", ID: jsonrpc.IntID(u.nextID.Add(1)), Method: method, Params: p})
	})
}

// subscribers returns the IDEs subscribed to uri.
func (u *upstream) subscribers(uri string) []*downstream {
	u.mu.Lock()
	ds := make([]*downstream, 0, len(u.downstreams))
	for d := range u.downstreams {
		ds = append(ds, d)
	}
	u.mu.Unlock()
	out := ds[:0]
	for _, d := range ds {
		d.mu.Lock()
		if d.subs[uri] {
			out = append(out, d)
		}
		d.mu.Unlock()
	}
	return out
}

func uriOf(params json.RawMessage) string {
	var p struct {
		URI string `json:"uri"`
	}
	_ = json.Unmarshal(params, &p)
	return p.URI
}

// isSuccess reports a response line carrying a result.
func isSuccess(line []byte) bool {
	m, err := jsonrpc.Parse(line)
	return err == nil && m.Error == nil && m.Result != nil
}
