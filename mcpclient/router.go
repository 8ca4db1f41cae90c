package mcpclient

import (
	"context"
	"encoding/json"
	"sync"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// router keeps what ties the IDEs attached to one server to its upstream
// session, under its own lock: the IDEs themselves, every request in
// flight (one home per request: its ids on both sides, its progress token,
// its session, its cancel), the server's requests waiting for an IDE's
// answer, and the resource subscriptions and logging level the IDEs set
// up (replayed on a rebuilt session). It calls nothing while it holds its
// lock, and no other type takes it.
type router struct {
	mu          sync.Mutex
	downstreams map[*downstream]struct{}
	calls       map[string]*call                 // upstream id → request
	byIDE       map[*downstream]map[string]*call // the IDE's id key → request
	tokens      map[string]*call                 // upstream progress token → request
	serverReqs  map[*downstream]map[string]*serverReq
	subs        map[string]int // resource URI → IDEs subscribed
	ideSubs     map[*downstream]map[string]bool
	logLevel    json.RawMessage // the last logging/setLevel params
}

// call is one IDE request in flight upstream, with everything the hub
// knows about it.
type call struct {
	ds     *downstream // nil for the control API's calls
	dsID   json.RawMessage
	upKey  string
	method string
	cancel context.CancelCauseFunc

	// Set once the request has a progress token of its own upstream.
	token    json.RawMessage // the IDE's progress token
	tokenKey string          // the upstream's

	sess *session // the session it was last sent on (router.mu)

	// progress keeps the progress the IDE hears increasing (its own
	// lock; progress.go).
	progress progressSeq

	// inputs is set for a modern IDE's request: the server requests of a
	// legacy server that belong to it arrive here, to be answered as an
	// input_required result (mrtr_park.go).
	inputs chan *pendingInput
	caps   json.RawMessage // the modern IDE's clientCapabilities
}

// serverReq is a server→client request waiting for an IDE's answer.
type serverReq struct {
	upKey string // the upstream's id for it
	ch    chan *jsonrpc.Message
}

func newRouter() *router {
	return &router{
		downstreams: map[*downstream]struct{}{},
		calls:       map[string]*call{},
		byIDE:       map[*downstream]map[string]*call{},
		tokens:      map[string]*call{},
		serverReqs:  map[*downstream]map[string]*serverReq{},
		subs:        map[string]int{},
		ideSubs:     map[*downstream]map[string]bool{},
	}
}

// ---- IDEs -------------------------------------------------------------------

func (r *router) attach(d *downstream) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.downstreams[d] = struct{}{}
}

// detach forgets an IDE and returns the resource URIs no other IDE is
// subscribed to any more (to unsubscribe upstream).
func (r *router) detach(d *downstream) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.downstreams, d)
	delete(r.serverReqs, d)
	var last []string
	for uri := range r.ideSubs[d] {
		if r.dropSubLocked(uri) {
			last = append(last, uri)
		}
	}
	delete(r.ideSubs, d)
	return last
}

// ides returns the attached IDEs.
func (r *router) ides() []*downstream {
	r.mu.Lock()
	defer r.mu.Unlock()
	ds := make([]*downstream, 0, len(r.downstreams))
	for d := range r.downstreams {
		ds = append(ds, d)
	}
	return ds
}

func (r *router) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.downstreams)
}

// ---- requests in flight --------------------------------------------------------

// begin records a request; end forgets it (and its progress token).
func (r *router) begin(c *call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[c.upKey] = c
	if c.ds != nil {
		m := r.byIDE[c.ds]
		if m == nil {
			m = map[string]*call{}
			r.byIDE[c.ds] = m
		}
		m[jsonrpc.IDKey(c.dsID)] = c
	}
}

func (r *router) end(c *call) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.calls, c.upKey)
	if c.tokenKey != "" {
		delete(r.tokens, c.tokenKey)
	}
	if m := r.byIDE[c.ds]; m != nil && m[jsonrpc.IDKey(c.dsID)] == c {
		delete(m, jsonrpc.IDKey(c.dsID))
		if len(m) == 0 {
			delete(r.byIDE, c.ds)
		}
	}
}

// setToken gives a request the upstream progress token tokenKey for the
// IDE's token.
func (r *router) setToken(c *call, token json.RawMessage, tokenKey string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.token, c.tokenKey = token, tokenKey
	r.tokens[tokenKey] = c
}

// byToken finds the request of an upstream progress token, or nil.
func (r *router) byToken(tokenKey string) *call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.tokens[tokenKey]
}

// tokenOf is the IDE of a request in flight with a progress token, and
// the IDE's own token; nil when it has none or has ended.
func (r *router) tokenOf(c *call) (*downstream, json.RawMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c.tokenKey == "" || r.tokens[c.tokenKey] != c {
		return nil, nil
	}
	return c.ds, c.token
}

// byIDEID finds an IDE's request by the IDE's id.
func (r *router) byIDEID(d *downstream, id json.RawMessage) *call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.byIDE[d][jsonrpc.IDKey(id)]
}

// ideOf is the IDE whose request has the upstream id upKey.
func (r *router) ideOf(upKey string) *downstream {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c := r.calls[upKey]; c != nil {
		return c.ds
	}
	return nil
}

// busy reports whether an IDE has requests in flight.
func (r *router) busy(d *downstream) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byIDE[d]) > 0
}

// rekey gives a request a new upstream id (a retry on the same session
// must not reuse the id the server may have seen).
func (r *router) rekey(c *call, upKey string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.calls, c.upKey)
	c.upKey = upKey
	r.calls[upKey] = c
}

func (r *router) setSession(c *call, s *session) {
	r.mu.Lock()
	defer r.mu.Unlock()
	c.sess = s
}

// sentOn is the session a request was last sent on, and its id there.
func (r *router) sentOn(c *call) (*session, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return c.sess, c.upKey
}

// ---- the server's requests to an IDE ----------------------------------------------

// It reports false for an IDE that is no longer attached: nothing would
// ever take the request.
func (r *router) addServerReq(d *downstream, hubKey string, sr *serverReq) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.downstreams[d]; !ok {
		return false
	}
	m := r.serverReqs[d]
	if m == nil {
		m = map[string]*serverReq{}
		r.serverReqs[d] = m
	}
	m[hubKey] = sr
	return true
}

// takeServerReq removes and returns the server request an IDE answers.
func (r *router) takeServerReq(d *downstream, hubKey string) *serverReq {
	r.mu.Lock()
	defer r.mu.Unlock()
	sr := r.serverReqs[d][hubKey]
	if sr != nil {
		delete(r.serverReqs[d], hubKey)
		if len(r.serverReqs[d]) == 0 {
			delete(r.serverReqs, d)
		}
	}
	return sr
}

// serverReqsFor finds, per IDE, the hub's id of the server request upKey.
func (r *router) serverReqsFor(upKey string) map[*downstream]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[*downstream]string{}
	for d, m := range r.serverReqs {
		for k, sr := range m {
			if sr.upKey == upKey {
				out[d] = k
			}
		}
	}
	return out
}

// ---- subscriptions and logging level ------------------------------------------------

// subscribed reports whether d, or any IDE, subscribed to uri.
func (r *router) subscribed(d *downstream, uri string) (mine, anyone bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ideSubs[d][uri], r.subs[uri] > 0
}

// addSub records d's subscription to uri.
func (r *router) addSub(d *downstream, uri string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.ideSubs[d]
	if m == nil {
		m = map[string]bool{}
		r.ideSubs[d] = m
	}
	if !m[uri] {
		m[uri] = true
		r.subs[uri]++
	}
}

// dropSub forgets d's subscription to uri; it reports whether it was the
// last IDE subscribed.
func (r *router) dropSub(d *downstream, uri string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.ideSubs[d][uri] {
		return false
	}
	delete(r.ideSubs[d], uri)
	return r.dropSubLocked(uri)
}

func (r *router) dropSubLocked(uri string) bool {
	r.subs[uri]--
	if r.subs[uri] <= 0 {
		delete(r.subs, uri)
		return true
	}
	return false
}

// subscribers are the IDEs subscribed to uri.
func (r *router) subscribers(uri string) []*downstream {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*downstream
	for d := range r.downstreams {
		if r.ideSubs[d][uri] {
			out = append(out, d)
		}
	}
	return out
}

func (r *router) setLogLevel(params json.RawMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logLevel = append(json.RawMessage(nil), params...)
}

// sessionState is what a rebuilt session gets replayed: the logging level
// and every URI some IDE is subscribed to.
func (r *router) sessionState() (json.RawMessage, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	uris := make([]string, 0, len(r.subs))
	for uri := range r.subs {
		uris = append(uris, uri)
	}
	return r.logLevel, uris
}

// logLevelValue is the level IDEs last set (logging/setLevel), as the
// JSON string a modern request's _meta carries; nil when none was set.
func (r *router) logLevelValue() json.RawMessage {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.logLevel == nil {
		return nil
	}
	var p struct {
		Level json.RawMessage `json:"level"`
	}
	if json.Unmarshal(r.logLevel, &p) != nil {
		return nil
	}
	return p.Level
}

// callOf is the request with the upstream id upKey.
func (r *router) callOf(upKey string) *call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[upKey]
}

// modernCallOf is a request in flight of d's that can take input the
// modern way (the newest, by upstream id), or nil.
func (r *router) modernCallOf(d *downstream) *call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var best *call
	for _, c := range r.byIDE[d] {
		if c.inputs != nil && (best == nil || newerCall(c, best)) {
			best = c
		}
	}
	return best
}

// reID gives a request the IDE's id of its retry (a modern IDE's request
// that waited for input comes back under a new id).
func (r *router) reID(c *call, id json.RawMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if m := r.byIDE[c.ds]; m != nil && m[jsonrpc.IDKey(c.dsID)] == c {
		delete(m, jsonrpc.IDKey(c.dsID))
		m[jsonrpc.IDKey(id)] = c
	}
	c.dsID = id
}

// modernCallWithCap is the newest modern IDE request whose IDE declared
// the capability capName, or nil.
func (r *router) modernCallWithCap(capName string) *call {
	r.mu.Lock()
	defer r.mu.Unlock()
	var best *call
	for _, c := range r.calls {
		if c.inputs != nil && (capName == "" || hasCap(c.caps, capName)) && (best == nil || newerCall(c, best)) {
			best = c
		}
	}
	return best
}

// newerCall reports whether a went upstream after b: upstream ids are
// increasing integers, compared as numbers (by length, then digits).
func newerCall(a, b *call) bool {
	if len(a.upKey) != len(b.upKey) {
		return len(a.upKey) > len(b.upKey)
	}
	return a.upKey > b.upKey
}
