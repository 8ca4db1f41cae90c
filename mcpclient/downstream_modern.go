package mcpclient

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// The hub as a server of both eras towards IDEs. An IDE of the modern
// era (MCP 2026-07-28) sends no initialize: every request names its
// version, capabilities and identity in _meta. One connection may carry
// both kinds; the hub decides per request. server/discover and
// subscriptions/listen are answered by the hub itself, whatever the era
// of the server behind it: discover from what the hub knows of the server
// (also while it reconnects or waits for a sign-in), listen from the
// notifications of the hub's one upstream session.

// listenSub is one subscriptions/listen stream of a modern IDE: what it
// opted in to, as the hub agreed.
type listenSub struct {
	id                       json.RawMessage // the listen request's id: the subscription id
	tools, prompts, resource bool            // list changes
	uris                     []string        // resources/updated for these
}

// handleModern serves a request whose _meta names a modern protocol
// version. It reports false for requests that take the common path
// (forwarded upstream: forward shapes them for the server's era).
func (d *downstream) handleModern(m *jsonrpc.Message, version string) bool {
	d.mu.Lock()
	d.modernSeen = true
	d.mu.Unlock()
	if !slices.Contains(config.ModernProtocolVersions, version) {
		data := map[string]any{"supported": config.AllProtocolVersions(), "requested": version}
		d.write(jsonrpc.EncodeError(m.ID, jsonrpc.CodeUnsupportedProtocolVersion, fmt.Sprintf("mcptray: protocol version %s is not supported; mcptray speaks %v", version, config.AllProtocolVersions()), data))
		return true
	}
	if msg := checkModernMeta(m.Params); msg != "" {
		d.write(jsonrpc.EncodeError(m.ID, jsonrpc.CodeInvalidParams, msg, nil))
		return true
	}
	switch m.Method {
	case "server/discover":
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			d.write(jsonrpc.EncodeResponse(m.ID, d.up.discoverResult(d.ctx), nil))
		}()
		return true
	case "subscriptions/listen":
		d.listen(m)
		return true
	case "initialize", "ping", "logging/setLevel", "resources/subscribe", "resources/unsubscribe":
		// Removed in 2026-07-28 (a request carrying its _meta is of that
		// revision): no handshake, no ping, the level goes in _meta,
		// subscriptions in subscriptions/listen.
		d.write(jsonrpc.EncodeError(m.ID, jsonrpc.CodeMethodNotFound, fmt.Sprintf("mcptray: %s does not exist in MCP %s%s", m.Method, version, removedInstead[m.Method]), nil))
		return true
	}
	return false
}

// removedInstead says what replaces a method 2026-07-28 removed.
var removedInstead = map[string]string{
	"initialize":            " (server/discover tells what the server offers; every request carries its own _meta)",
	"logging/setLevel":      " (use the io.modelcontextprotocol/logLevel _meta key)",
	"resources/subscribe":   " (use subscriptions/listen)",
	"resources/unsubscribe": " (use subscriptions/listen)",
}

// checkModernMeta checks the _meta every 2026-07-28 request carries: the
// protocol version (checked by the caller) and the client's capabilities
// (clientInfo is a SHOULD). It returns the Invalid params message, or "".
func checkModernMeta(params json.RawMessage) string {
	var p struct {
		Meta map[string]json.RawMessage `json:"_meta"`
	}
	if json.Unmarshal(params, &p) != nil {
		return "Invalid params: params is not an object"
	}
	caps := p.Meta[metaClientCapabilities]
	if len(caps) == 0 || caps[0] != '{' {
		return "Invalid params: params._meta lacks " + metaClientCapabilities + " (an object)"
	}
	return ""
}

// discoverResult is the hub's answer to server/discover: the versions it
// serves IDEs (both eras), and the server's capabilities, identity and
// instructions, as the IDEs' initialize answer has them.
func (u *supervisor) discoverResult(ctx context.Context) json.RawMessage {
	var ir map[string]json.RawMessage
	_ = json.Unmarshal(u.initializeResult(ctx, ""), &ir)
	out := map[string]any{
		"resultType":        "complete",
		"supportedVersions": config.AllProtocolVersions(),
		"capabilities":      ir["capabilities"],
		"_meta":             map[string]json.RawMessage{metaServerInfo: ir["serverInfo"]},
		// The hub's answer can change with a rebuilt session: a short
		// freshness hint, private to this user.
		"ttlMs":      60000,
		"cacheScope": "private",
	}
	if in := ir["instructions"]; in != nil {
		out["instructions"] = in
	}
	b, _ := json.Marshal(out)
	return b
}

// listen opens a subscription stream for a modern IDE: it is
// acknowledged with what the server can deliver, stays open (no answer)
// until the IDE cancels it or goes away, and carries the list changes and
// resource updates it opted in to, tagged with its id.
func (d *downstream) listen(m *jsonrpc.Message) {
	var p struct {
		Notifications struct {
			Tools     bool     `json:"toolsListChanged"`
			Prompts   bool     `json:"promptsListChanged"`
			Resources bool     `json:"resourcesListChanged"`
			URIs      []string `json:"resourceSubscriptions"`
		} `json:"notifications"`
	}
	if err := json.Unmarshal(m.Params, &p); err != nil {
		d.write(jsonrpc.EncodeError(m.ID, jsonrpc.CodeInvalidParams, "mcptray: subscriptions/listen params are not valid: "+err.Error(), nil))
		return
	}
	caps := d.up.ideCapabilities(d.ctx)
	has := func(k string) bool { _, ok := caps[k]; return ok }
	sub := &listenSub{
		id:       m.ID,
		tools:    p.Notifications.Tools && has("tools"),
		prompts:  p.Notifications.Prompts && has("prompts"),
		resource: p.Notifications.Resources && has("resources"),
	}
	if has("resources") {
		for _, uri := range p.Notifications.URIs {
			if uri != "" && !slices.Contains(sub.uris, uri) {
				sub.uris = append(sub.uris, uri)
			}
		}
	}
	key := jsonrpc.IDKey(m.ID)
	d.mu.Lock()
	if d.listens == nil {
		d.listens = map[string]*listenSub{}
	}
	old := d.listens[key]
	d.listens[key] = sub
	d.mu.Unlock()
	if old != nil {
		d.dropListenURIs(old)
	}
	agreed := map[string]any{}
	if sub.tools {
		agreed["toolsListChanged"] = true
	}
	if sub.prompts {
		agreed["promptsListChanged"] = true
	}
	if sub.resource {
		agreed["resourcesListChanged"] = true
	}
	if len(sub.uris) > 0 {
		agreed["resourceSubscriptions"] = sub.uris
	}
	ack, _ := json.Marshal(map[string]any{"_meta": map[string]json.RawMessage{metaSubscriptionID: m.ID}, "notifications": agreed})
	d.write(jsonrpc.EncodeRequest(nil, "notifications/subscriptions/acknowledged", ack))
	for _, uri := range sub.uris {
		d.up.subscribeFor(d, uri)
	}
}

// endListen ends a modern IDE's subscription (its notifications/cancelled
// named it); it reports whether id was one.
func (d *downstream) endListen(id json.RawMessage) bool {
	key := jsonrpc.IDKey(id)
	d.mu.Lock()
	sub := d.listens[key]
	delete(d.listens, key)
	d.mu.Unlock()
	if sub == nil {
		return false
	}
	d.dropListenURIs(sub)
	return true
}

// dropListenURIs drops the upstream subscriptions of sub that no other
// listen of d holds.
func (d *downstream) dropListenURIs(sub *listenSub) {
	d.mu.Lock()
	held := map[string]bool{}
	for _, l := range d.listens {
		for _, uri := range l.uris {
			held[uri] = true
		}
	}
	d.mu.Unlock()
	for _, uri := range sub.uris {
		if !held[uri] {
			d.up.unsubscribeFor(d, uri)
		}
	}
}

// legacyMode reports an IDE that gets notifications the legacy way (every
// list change, log messages): one that initialized, or that never sent a
// modern request.
func (d *downstream) legacyMode() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.initialized || !d.modernSeen
}

// deliver passes a notification from the server to the IDE in its era:
// as it is to a legacy session, and tagged with the subscription id on
// each modern listen stream that opted in to it.
func (d *downstream) deliver(method string, params json.RawMessage, line []byte) {
	if d.legacyMode() {
		d.notify(line)
	}
	d.mu.Lock()
	var ids []json.RawMessage
	uri := ""
	if method == "notifications/resources/updated" {
		uri = uriOf(params)
	}
	for _, l := range d.listens {
		ok := false
		switch method {
		case "notifications/tools/list_changed":
			ok = l.tools
		case "notifications/prompts/list_changed":
			ok = l.prompts
		case "notifications/resources/list_changed":
			ok = l.resource
		case "notifications/resources/updated":
			ok = slices.Contains(l.uris, uri)
		}
		if ok {
			ids = append(ids, l.id)
		}
	}
	d.mu.Unlock()
	for _, id := range ids {
		d.notify(jsonrpc.EncodeRequest(nil, method, setMeta(params, metaSubscriptionID, id)))
	}
}

// subscribeFor subscribes d to a resource upstream on behalf of a listen
// stream: through resources/subscribe on a legacy session (once per URI
// across IDEs), through the hub's own listen filter on a modern one.
func (u *supervisor) subscribeFor(d *downstream, uri string) {
	if mine, anyone := u.router.subscribed(d, uri); mine || anyone {
		u.router.addSub(d, uri)
		return
	}
	u.router.addSub(d, uri)
	if s := u.current(); s != nil && s.modern {
		u.relistenNow()
		return
	}
	u.sendBestEffort("resources/subscribe", map[string]string{"uri": uri})
}

func (u *supervisor) unsubscribeFor(d *downstream, uri string) {
	if u.router.dropSub(d, uri) {
		u.sendBestEffort("resources/unsubscribe", map[string]string{"uri": uri})
	}
}

// ideCapabilities are the capabilities the hub offers IDEs for this
// server (what its initialize and discover answers say).
func (u *supervisor) ideCapabilities(ctx context.Context) map[string]json.RawMessage {
	ctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	var ir struct {
		Capabilities map[string]json.RawMessage `json:"capabilities"`
	}
	_ = json.Unmarshal(u.initializeResult(ctx, ""), &ir)
	return ir.Capabilities
}
