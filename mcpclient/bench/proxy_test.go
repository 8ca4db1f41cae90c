package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// countingProxy is a reverse proxy on 127.0.0.1 in front of an MCP server
// that counts the upstream sessions clients open (initialize POSTs answered
// 2xx) and close (DELETEs answered 2xx).
type countingProxy struct {
	srv    *http.Server
	ln     net.Listener
	path   string
	opened atomic.Int64
	closed atomic.Int64
	posts  atomic.Int64
	conns  atomic.Int64 // TCP connections accepted

	mu   sync.Mutex
	live map[string]bool // session ids opened and not deleted
}

// sessionCounts is a snapshot of the counters.
type sessionCounts struct {
	opened, closed, posts, conns int64
}

func (c sessionCounts) sub(o sessionCounts) sessionCounts {
	return sessionCounts{opened: c.opened - o.opened, closed: c.closed - o.closed,
		posts: c.posts - o.posts, conns: c.conns - o.conns}
}

type reqKind int

const (
	kindOther reqKind = iota
	kindInitialize
	kindDelete
)

type kindKey struct{}

func startCountingProxy(target string) (*countingProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &countingProxy{ln: ln, path: u.Path, live: map[string]bool{}}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 256 // no connection churn towards the server at 32 in flight
	tr.MaxIdleConns = 256
	rp := &httputil.ReverseProxy{
		Rewrite:        func(r *httputil.ProxyRequest) { r.SetURL(&url.URL{Scheme: u.Scheme, Host: u.Host}) },
		Transport:      tr,
		FlushInterval:  -1, // SSE and JSON answers go out as they come
		ErrorLog:       log.New(io.Discard, "", 0),
		BufferPool:     &bufferPool{},
		ModifyResponse: p.count,
	}
	p.srv = &http.Server{
		Handler:           p.handler(rp),
		ReadHeaderTimeout: 10 * time.Second,
		ConnState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateNew {
				p.conns.Add(1)
			}
		},
	}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// URL is the proxied MCP endpoint.
func (p *countingProxy) URL() string { return "http://" + p.ln.Addr().String() + p.path }

func (p *countingProxy) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		kind := kindOther
		switch r.Method {
		case http.MethodPost:
			p.posts.Add(1)
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			if isInitialize(body) {
				kind = kindInitialize
			}
		case http.MethodDelete:
			kind = kindDelete
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), kindKey{}, kind)))
	})
}

func isInitialize(body []byte) bool {
	if !bytes.Contains(body, []byte(`"initialize"`)) {
		return false
	}
	var m struct {
		Method string `json:"method"`
	}
	return json.Unmarshal(body, &m) == nil && m.Method == "initialize"
}

func (p *countingProxy) count(resp *http.Response) error {
	if resp.StatusCode/100 != 2 {
		return nil
	}
	kind, _ := resp.Request.Context().Value(kindKey{}).(reqKind)
	sid := resp.Request.Header.Get("Mcp-Session-Id")
	switch kind {
	case kindInitialize:
		p.opened.Add(1)
		p.mu.Lock()
		p.live[resp.Header.Get("Mcp-Session-Id")] = true
		p.mu.Unlock()
	case kindDelete:
		p.closed.Add(1)
		p.mu.Lock()
		delete(p.live, sid)
		p.mu.Unlock()
	}
	return nil
}

func (p *countingProxy) counts() sessionCounts {
	return sessionCounts{opened: p.opened.Load(), closed: p.closed.Load(), posts: p.posts.Load(), conns: p.conns.Load()}
}

// liveSessions is the number of sessions opened and not deleted.
func (p *countingProxy) liveSessions() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.live)
}

// bufferPool recycles the proxy's copy buffers, so the harness allocates
// less in the process that also hosts the hub.
type bufferPool struct{ p sync.Pool }

func (b *bufferPool) Get() []byte {
	if v, ok := b.p.Get().(*[]byte); ok {
		return *v
	}
	return make([]byte, 32<<10)
}

func (b *bufferPool) Put(buf []byte) { b.p.Put(&buf) }

func (p *countingProxy) close() { _ = p.srv.Close() }
