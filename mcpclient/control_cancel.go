package mcpclient

import (
	"bufio"
	"context"
	"errors"
	"net"
	"time"
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
