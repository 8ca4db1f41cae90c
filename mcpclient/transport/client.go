package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/url"
	"time"
)

// ClientOptions configure NewHTTPClient. The zero value works: the
// environment's proxy, the system's roots, no cookie jar.
type ClientOptions struct {
	// RootCAs are the roots to trust (the system's plus a caFile); nil:
	// the system's.
	RootCAs *x509.CertPool
	// Jar keeps the server's cookies across clients (rebuilds).
	Jar http.CookieJar
	// Proxy picks the proxy; nil: HTTPS_PROXY, HTTP_PROXY and NO_PROXY.
	Proxy func(*http.Request) (*url.URL, error)
	// DialTimeout bounds a TCP connect and a TLS handshake (default 10 s).
	DialTimeout time.Duration
	// ResponseHeaderTimeout bounds the wait for a response's headers; 0:
	// none (an answer may take as long as a tool runs).
	ResponseHeaderTimeout time.Duration
	// MaxIdlePerHost bounds the idle connections kept per host (default 64).
	MaxIdlePerHost int
	// OnProxyConnectResponse sees the proxy's answer to CONNECT (doctor
	// reports it).
	OnProxyConnectResponse func(ctx context.Context, proxyURL *url.URL, connectReq *http.Request, connectRes *http.Response) error
}

// NewHTTPClient builds the HTTP client for an upstream: the hub's
// sessions and doctor's checks use the same one, so doctor sees what the
// hub sees — the same proxy, roots and redirect policy (KeepMethod).
func NewHTTPClient(o ClientOptions) *http.Client {
	if o.DialTimeout <= 0 {
		o.DialTimeout = 10 * time.Second
	}
	if o.MaxIdlePerHost <= 0 {
		o.MaxIdlePerHost = 64
	}
	if o.Proxy == nil {
		o.Proxy = http.ProxyFromEnvironment
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = o.Proxy
	tr.DialContext = (&net.Dialer{Timeout: o.DialTimeout, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = o.DialTimeout
	tr.ResponseHeaderTimeout = o.ResponseHeaderTimeout
	tr.MaxIdleConnsPerHost = o.MaxIdlePerHost
	tr.MaxIdleConns = 2 * o.MaxIdlePerHost
	tr.IdleConnTimeout = 90 * time.Second
	tr.OnProxyConnectResponse = o.OnProxyConnectResponse
	if o.RootCAs != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: o.RootCAs, MinVersion: tls.VersionTLS12}
	}
	return &http.Client{Transport: tr, Jar: o.Jar, CheckRedirect: KeepMethod}
}
