package mcpclient

import (
	"encoding/json"
	"sync"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// A request's progress MUST increase with each notification (MCP,
// notifications/progress). The IDE hears one request's progress from more
// than one source, each counting from its start: the hub's own while the
// request is held for a sign-in (1, 2, 3…), then the server's; and the
// server's for each time the hub sends the request (again after a broken
// response stream, on a rebuilt session, after a sign-in), all under the
// one upstream token. progressSeq joins them into one increasing
// sequence: a source that starts (the hub's after the server's, or the
// other way round) or starts over (the server's value goes down) counts
// on from the highest value the IDE has seen, by a base added to its
// values and to its total; a value that still would not increase (a
// repeat, or a fresh source's 0) is left out.

// progressSource is who counts a request's progress.
type progressSource int

const (
	progressFromServer progressSource = iota + 1
	progressFromHold                  // the hub, while the request waits for a sign-in
)

// progressSeq is one request's progress towards its IDE. Its lock is held
// while a notification is passed on, so that two sources' notifications
// reach the IDE in the order their values were given.
type progressSeq struct {
	mu      sync.Mutex
	sent    bool
	last    float64 // the highest progress the IDE has seen
	base    float64 // added to the current source's values
	src     progressSource
	lastRaw float64 // the current source's last value, as it gave it
}

// next maps a source's progress value to the IDE's; ok is false for one
// to leave out.
func (q *progressSeq) next(src progressSource, p float64) (out float64, ok bool) {
	if src != q.src || p < q.lastRaw {
		// A source starts, or starts over: count on from what was sent.
		if q.sent && q.base+p <= q.last {
			q.base = q.last
		}
	}
	q.src, q.lastRaw = src, p
	out = q.base + p
	if q.sent && out <= q.last {
		return 0, false
	}
	q.sent, q.last = true, out
	return out, true
}

// sendProgress passes a progress notification for c to its IDE, under
// the IDE's own token and in its increasing sequence. params are the
// notification's, with the upstream's token or none; a value that is not
// a number passes as it is.
func (u *supervisor) sendProgress(c *call, src progressSource, params map[string]json.RawMessage) {
	d, tok := u.router.tokenOf(c)
	if d == nil {
		return
	}
	params["progressToken"] = tok
	c.progress.mu.Lock()
	defer c.progress.mu.Unlock()
	var p float64
	if err := json.Unmarshal(params["progress"], &p); err == nil {
		out, ok := c.progress.next(src, p)
		if !ok {
			u.log.Debug("left out a progress notification that would not increase", "method", c.method)
			return
		}
		if base := c.progress.base; base != 0 {
			params["progress"], _ = json.Marshal(out)
			var total float64
			if raw, ok := params["total"]; ok && json.Unmarshal(raw, &total) == nil {
				params["total"], _ = json.Marshal(total + base)
			}
		}
	}
	pb, err := json.Marshal(params)
	if err != nil {
		return
	}
	d.notify(jsonrpc.EncodeRequest(nil, "notifications/progress", pb))
}
