package mcpclient

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"sync"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient/ipc"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// LoginWith runs a sign-in for a server (joining one that runs) with the
// device and paste-back hooks of opts, and returns when it finished.
func (h *Hub) LoginWith(ctx context.Context, name string, opts LoginOptions) error {
	u, err := h.server(name)
	if err != nil {
		return err
	}
	return h.secrets.ScrubError(u.LoginWith(ctx, opts, true))
}

// maxPastedLine bounds a pasted redirect URL line.
const maxPastedLine = 64 << 10

// serveLogin runs a login for the control API (OpLogin): progress lines
// (the URL, a device code, "paste the redirect URL") while it runs, then
// the final reply. The client may send Pasted lines (paste-back); the
// login stops if the client goes away.
func (h *Hub) serveLogin(ctx context.Context, hello ipc.Hello, c net.Conn, r *bufio.Reader, reply func(ipc.Reply)) {
	ctx, cancel := context.WithTimeout(ctx, auth.DefaultLoginTimeout)
	defer cancel()
	var mu sync.Mutex
	send := func(rep ipc.Reply) {
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() == nil {
			reply(rep)
		}
	}
	var submitMu sync.Mutex
	var submit func(string) error
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		defer cancel() // the client went away (or the login ended)
		for {
			line, err := jsonrpc.ReadLine(r, maxPastedLine)
			if err != nil {
				return
			}
			var p ipc.Pasted
			if json.Unmarshal(line, &p) != nil {
				continue
			}
			submitMu.Lock()
			fn := submit
			submitMu.Unlock()
			if fn == nil {
				send(ipc.Reply{OK: true, Progress: true, Paste: true, PasteError: "the sign-in does not wait for a pasted URL"})
				continue
			}
			if err := fn(p.RedirectURL); err != nil {
				send(ipc.Reply{OK: true, Progress: true, Paste: true, PasteError: h.secrets.Scrub(err.Error())})
			}
		}
	}()
	err := h.LoginWith(ctx, hello.Server, LoginOptions{
		NoBrowser: hello.NoBrowser,
		OnURL:     func(u string) { send(ipc.Reply{OK: true, Progress: true, URL: u}) },
		OnDeviceCode: func(dc auth.DeviceCode) {
			send(ipc.Reply{OK: true, Progress: true, UserCode: dc.UserCode,
				VerificationURI: dc.VerificationURI, VerificationURIComplete: dc.VerificationURIComplete})
		},
		OnPaste: func(fn func(string) error) {
			submitMu.Lock()
			submit = fn
			submitMu.Unlock()
			send(ipc.Reply{OK: true, Progress: true, Paste: true})
		},
	})
	mu.Lock()
	if err != nil {
		reply(ipc.Reply{Error: err.Error()})
	} else {
		reply(ipc.Reply{OK: true})
	}
	mu.Unlock()
	c.Close() // ends the watch
	<-watched
}
