// Package transport owns the connection to one upstream MCP server: the
// Conn interface and its two implementations, Streamable HTTP and the
// legacy HTTP+SSE transport (with the SSE parser beside it), the typed
// errors a caller classifies with errors.As, the redirect policy that
// keeps a POST a POST, the HTTP client they share with doctor, and the one
// backoff type. It imports jsonrpc and the standard library, nothing of
// the hub: what to do when a Conn breaks is the supervisor's business.
package transport

import (
	"context"
	"log/slog"
	"net/http"
	"sync"

	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// Transport names, as in the config and in status.
const (
	Auto       = "auto"
	Streamable = "streamable-http"
	SSE        = "sse"
)

// defaultMaxMessage bounds one message when Options.MaxMessage is 0.
const defaultMaxMessage = 64 << 20

// InboundFunc receives messages the upstream sends on its own: requests
// (sampling, elicitation, roots, ping) and notifications. related is the
// upstream id of the request on whose response stream the message came, or
// "" when it came on a standalone stream.
type InboundFunc func(m *jsonrpc.Message, related string)

// Conn is one live MCP session to an upstream, whatever the transport.
//
// Concurrency: every method may be called from any goroutine, at any time,
// also after Close. Call and Send may run concurrently with each other
// (each request has its own HTTP exchange). Messages the server sends on
// its own go to Options.Inbound, from the goroutine that read them: Inbound
// must not block for long (it holds up the stream they came on).
//
// Lifetime: a Conn breaks at most once. Done is closed then, and Err says
// why (a *StreamError for a broken or garbled stream, a *SessionError for a
// session the server forgot, ErrConnClosed after Close). A broken Conn is
// not repaired: the caller builds a new one. A failed Call does not by
// itself break the Conn (one reset connection is not a broken session);
// the caller decides, e.g. with a ping.
type Conn interface {
	// Call sends a request and waits for its response. An error is one of
	// this package's types, the context's error, or a
	// *jsonrpc.TooLargeError for an answer over Options.MaxMessage (the
	// session survives that).
	Call(ctx context.Context, m *jsonrpc.Message) (*jsonrpc.Message, error)
	// Send sends a notification or a response to a server request.
	Send(ctx context.Context, m *jsonrpc.Message) error
	// Close ends the session (DELETE for Streamable HTTP) and every stream,
	// and waits for the Conn's goroutines.
	Close()
	// Idle is closed once no call is in flight (at once when none is); a
	// call started after that is not covered: a later Idle returns a new
	// channel.
	Idle() <-chan struct{}
	// Done is closed when the session broke; Err says why.
	Done() <-chan struct{}
	Err() error
}

// Both transports also have, outside the interface, what only their
// creator needs: SetProtocolVersion (the MCP-Protocol-Version header after
// initialize) and SessionID; StreamableConn has Listen and Busy.

// Options is what both transports need.
type Options struct {
	URL     string
	Client  *http.Client
	Headers http.Header
	Inbound InboundFunc
	Logger  *slog.Logger
	// Token returns the Authorization header value for the next request
	// ("" for none); nil means none.
	Token func(context.Context) (string, error)
	// MaxMessage bounds one message from the server: a JSON body or a
	// whole SSE event (0: 64 MiB).
	MaxMessage int64
}

func (o *Options) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

func (o *Options) maxMessage() int64 {
	if o.MaxMessage <= 0 {
		return defaultMaxMessage
	}
	return o.MaxMessage
}

// tooLarge is the error for a message over the limit whose first bytes
// are prefix.
func (o *Options) tooLarge(prefix []byte) error {
	if len(prefix) > jsonrpc.PrefixSize {
		prefix = prefix[:jsonrpc.PrefixSize]
	}
	return &jsonrpc.TooLargeError{Limit: o.maxMessage(), Prefix: append([]byte(nil), prefix...)}
}

// authorize sets the Authorization header from opts.Token.
func (o *Options) authorize(req *http.Request) error {
	if o.Token == nil {
		return nil
	}
	v, err := o.Token(req.Context())
	if err != nil {
		return err
	}
	if v != "" {
		req.Header.Set("Authorization", v)
	}
	return nil
}

// Broken records the first fatal error of a connection.
type Broken struct {
	once sync.Once
	ch   chan struct{}
	mu   sync.Mutex
	e    error
}

// NewBroken returns a Broken that is not broken.
func NewBroken() Broken { return Broken{ch: make(chan struct{})} }

func (b *Broken) Fail(err error) {
	b.once.Do(func() {
		b.mu.Lock()
		b.e = err
		b.mu.Unlock()
		close(b.ch)
	})
}

func (b *Broken) Done() <-chan struct{} { return b.ch }

func (b *Broken) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.e
}
