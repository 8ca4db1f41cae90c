package mcpclient

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync"
	"time"

	"github.com/mcptray/mcptray/mcpclient/ipc"
)

// errClientLeft is the cause when a control client (`mcptray call`,
// `mcptray tools`) closes its connection before the answer.
var errClientLeft = errors.New("the control client went away")

// whileClientStays returns a context that ends when the control client
// closes its connection: a script's Ctrl-C ends its request, and the
// request's wait for a sign-in, instead of leaving it held. The client
// sends nothing after its hello, so any read ending means it left. stop
// ends the watch and waits for it.
func whileClientStays(ctx context.Context, c net.Conn, r *bufio.Reader) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		if _, err := r.ReadByte(); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				cancel(errClientLeft)
			}
		}
	}()
	return ctx, func() {
		_ = c.SetReadDeadline(time.Unix(1, 0)) // ends the read
		<-watched
		_ = c.SetReadDeadline(time.Time{})
		cancel(nil)
	}
}

// progressReplies sends a control client's progress replies (ipc.Hello
// Progress) for a call or tools request held for a sign-in; end stops them
// before the final reply. A nil *progressReplies sends nothing.
type progressReplies struct {
	mu    sync.Mutex
	send  func(ipc.Reply)
	scrub func(string) string
	done  bool
}

func (p *progressReplies) wait(w HoldWait) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done {
		return
	}
	rep := ipc.Reply{OK: true, Progress: true, Message: p.scrub(w.Message()), URL: w.URL}
	if dc := w.DeviceCode; dc != nil {
		rep.UserCode, rep.VerificationURI, rep.VerificationURIComplete = dc.UserCode, dc.VerificationURI, dc.VerificationURIComplete
	}
	p.send(rep)
}

func (p *progressReplies) end() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.done = true
	p.mu.Unlock()
}
