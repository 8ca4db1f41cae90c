package mcpclient

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// connTracker bounds the endpoint's open connections. Past max, a new
// connection makes the hub close the oldest one that never sent a
// request, else the oldest idle kept-alive one, else the new one itself:
// connections opened and left idle (a local program gone wrong, or one
// that means harm) cost a bounded number of file descriptors and never
// lock out the IDEs that do send requests. Connections in the middle of a
// request or a stream are never closed for room.
type connTracker struct {
	max int

	mu    sync.Mutex
	conns map[net.Conn]*connInfo
}

type connInfo struct {
	state http.ConnState
	since time.Time
}

func newConnTracker(max int) *connTracker {
	return &connTracker{max: max, conns: map[net.Conn]*connInfo{}}
}

// track is the http.Server's ConnState hook.
func (t *connTracker) track(c net.Conn, st http.ConnState) {
	t.mu.Lock()
	switch st {
	case http.StateNew:
		t.conns[c] = &connInfo{state: st, since: time.Now()}
		if len(t.conns) > t.max {
			victim := t.pickLocked(c)
			delete(t.conns, victim)
			t.mu.Unlock()
			_ = victim.Close()
			return
		}
	case http.StateActive, http.StateIdle:
		if ci := t.conns[c]; ci != nil {
			ci.state, ci.since = st, time.Now()
		}
	case http.StateHijacked, http.StateClosed:
		delete(t.conns, c)
	}
	t.mu.Unlock()
}

// pickLocked chooses the connection to close for room: the oldest that
// never sent a request, else the oldest idle one, else the newcomer.
func (t *connTracker) pickLocked(newcomer net.Conn) net.Conn {
	var fresh, idle net.Conn
	var freshAt, idleAt time.Time
	for c, ci := range t.conns {
		if c == newcomer {
			continue
		}
		switch ci.state {
		case http.StateNew:
			if fresh == nil || ci.since.Before(freshAt) {
				fresh, freshAt = c, ci.since
			}
		case http.StateIdle:
			if idle == nil || ci.since.Before(idleAt) {
				idle, idleAt = c, ci.since
			}
		}
	}
	switch {
	case fresh != nil:
		return fresh
	case idle != nil:
		return idle
	}
	return newcomer
}

// open is the number of connections tracked.
func (t *connTracker) open() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.conns)
}
