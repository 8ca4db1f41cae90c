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
func (u *supervisor) subscribe(ctx context.Context, d *downstream, m *jsonrpc.Message) []byte {
	uri := uriOf(m.Params)
	if mine, anyone := u.router.subscribed(d, uri); uri != "" && (mine || anyone) {
		u.router.addSub(d, uri)
		return jsonrpc.EncodeResponse(m.ID, json.RawMessage("{}"), nil)
	}
	if s := u.current(); s != nil && s.modern && uri != "" {
		// A modern server has no resources/subscribe: the URI joins the
		// filter of the hub's subscriptions/listen stream.
		u.router.addSub(d, uri)
		u.relistenNow()
		return jsonrpc.EncodeResponse(m.ID, json.RawMessage("{}"), nil)
	}
	line := u.forward(ctx, d, m)
	if uri != "" && isSuccess(line) {
		u.router.addSub(d, uri)
	}
	return line
}

// unsubscribe drops an IDE's subscription; the upstream hears of it when
// no IDE wants the URI any more.
func (u *supervisor) unsubscribe(ctx context.Context, d *downstream, m *jsonrpc.Message) []byte {
	uri := uriOf(m.Params)
	if uri == "" {
		return u.forward(ctx, d, m)
	}
	if !u.router.dropSub(d, uri) {
		return jsonrpc.EncodeResponse(m.ID, json.RawMessage("{}"), nil)
	}
	if s := u.current(); s != nil && s.modern {
		u.relistenNow()
		return jsonrpc.EncodeResponse(m.ID, json.RawMessage("{}"), nil)
	}
	return u.forward(ctx, d, m)
}

// setLevel forwards logging/setLevel and remembers it for new sessions.
func (u *supervisor) setLevel(ctx context.Context, d *downstream, m *jsonrpc.Message) []byte {
	if s := u.current(); s != nil && s.modern {
		// A modern server takes the level in each request's _meta.
		u.router.setLogLevel(m.Params)
		return jsonrpc.EncodeResponse(m.ID, json.RawMessage("{}"), nil)
	}
	line := u.forward(ctx, d, m)
	if isSuccess(line) {
		u.router.setLogLevel(m.Params)
	}
	return line
}

// replaySessionState re-creates subscriptions and the logging level on a
// new session.
func (u *supervisor) replaySessionState(s *session) {
	if s.modern {
		// The level goes with each request; subscriptions ride the
		// listen stream, which the session keeps open.
		u.bg.Go(func() { u.listenLoop(s) })
		return
	}
	level, uris := u.router.sessionState()
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
	if s.replaces {
		// Between the old session and this one's subscriptions the
		// server's updates had nowhere to go.
		u.announceUpdates(uris)
	}
}

// announceUpdates sends notifications/resources/updated for each of uris
// to the IDEs subscribed to it, as if the server had sent it. It is for
// the end of a gap in what carries the server's updates to the hub (a
// broken subscriptions/listen stream reopened): an update the server sent
// during the gap is gone, and the hub cannot tell whether there was one.
// A spurious update only makes an IDE read the resource again; a lost one
// leaves it showing stale content; so every subscribed resource gets one.
// A URI nobody is subscribed to any more gets none (not a broadcast).
func (u *supervisor) announceUpdates(uris []string) {
	for _, uri := range uris {
		p, _ := json.Marshal(map[string]string{"uri": uri})
		u.deliverToSubscribers(p)
	}
}

// sendBestEffort sends a request on the current session, ignoring the answer.
func (u *supervisor) sendBestEffort(method string, params any) {
	s := u.current()
	if s == nil {
		return
	}
	if s.modern {
		// resources/unsubscribe: the listen filter follows router.subs.
		u.relistenNow()
		return
	}
	p, _ := json.Marshal(params)
	u.bg.Go(func() {
		ctx, cancel := context.WithTimeout(s.ctx, 10*time.Second)
		defer cancel()
		_, _ = s.conn.Call(ctx, &jsonrpc.Message{JSONRPC: "2.0", ID: jsonrpc.IntID(u.nextID.Add(1)), Method: method, Params: p})
	})
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
