package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ---- one traced request: TCP, TLS, HTTP --------------------------------------

type traceKey struct{}

// trace records what happened during one request.
type trace struct {
	dnsErr            error
	connects          []connectEvent
	tlsStarted        bool
	tlsState          *tls.ConnectionState
	tlsErr            error
	gotConn           bool
	connectStatus     int // the proxy's answer to CONNECT
	connectStatusText string
}

type connectEvent struct {
	addr string
	err  error
	took time.Duration
}

func traceOf(ctx context.Context) *trace {
	t, _ := ctx.Value(traceKey{}).(*trace)
	return t
}

func withTrace(ctx context.Context) (context.Context, *trace) {
	t := &trace{}
	var connStart time.Time
	ct := &httptrace.ClientTrace{
		DNSDone: func(i httptrace.DNSDoneInfo) {
			if i.Err != nil {
				t.dnsErr = i.Err
			}
		},
		ConnectStart: func(string, string) { connStart = time.Now() },
		ConnectDone: func(_, addr string, err error) {
			t.connects = append(t.connects, connectEvent{addr: addr, err: err, took: time.Since(connStart)})
		},
		TLSHandshakeStart: func() { t.tlsStarted = true },
		TLSHandshakeDone: func(st tls.ConnectionState, err error) {
			if err != nil {
				t.tlsErr = err
				return
			}
			t.tlsState = &st
		},
		GotConn: func(httptrace.GotConnInfo) { t.gotConn = true },
	}
	ctx = context.WithValue(ctx, traceKey{}, t)
	return httptrace.WithClientTrace(ctx, ct), t
}

// checkHTTP sends one GET to the server URL and reports the TCP, TLS and
// HTTP steps it went through.
func (s *serverCheck) checkHTTP(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	ctx, tr := withTrace(ctx)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.u.String(), nil)
	for k, v := range s.headers {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := s.client.Do(req)
	if resp != nil {
		// Read nothing: a legacy SSE endpoint streams forever.
		resp.Body.Close()
	}
	if !s.reportTCP(tr, err) {
		s.skip(CheckTLS, CheckHTTP)
		return false
	}
	via := ""
	if s.proxy != nil {
		via = ", through " + s.proxy.Redacted()
	}
	// The proxy's CONNECT answer, for https through an http proxy.
	if tr.connectStatus != 0 && tr.connectStatus != http.StatusOK {
		if s.u.Scheme == "https" {
			s.skip(CheckTLS)
		}
		fix := "ask your network admin to allow " + s.u.Host + " through the proxy, or add it to NO_PROXY if it is reachable directly"
		if tr.connectStatus == http.StatusProxyAuthRequired {
			fix = "the proxy wants credentials: put them in the proxy URL, HTTPS_PROXY=http://user:password@host:port"
		}
		s.add(CheckHTTP, Fail, fmt.Sprintf("the proxy refused the tunnel to %s: %s", s.u.Host, tr.connectStatusText), fix)
		return false
	}
	if s.u.Scheme == "https" {
		if !s.reportTLS(tr, err) {
			s.skip(CheckHTTP)
			return false
		}
	}
	if err != nil {
		s.add(CheckHTTP, Fail, "no HTTP answer: "+describeErr(err),
			"the server accepted the connection but did not answer; check the url (a TLS port with http://?) and try again")
		return false
	}
	if resp.StatusCode == http.StatusProxyAuthRequired {
		s.add(CheckHTTP, Fail, "the proxy wants credentials (407)"+via,
			"put them in the proxy URL: HTTPS_PROXY=http://user:password@host:port")
		return false
	}
	if resp.StatusCode == http.StatusUnauthorized {
		s.got401 = true
		s.challenge = resp.Header.Get("WWW-Authenticate")
	}
	sum := fmt.Sprintf("reachable: GET answered %s%s", resp.Status, via)
	st := OK
	fix := ""
	if resp.StatusCode >= 500 {
		st = Warn
		fix = "the server (or a proxy in between) reports an error; the initialize check below tells whether MCP works"
	}
	s.add(CheckHTTP, st, sum, fix)
	return true
}

func (s *serverCheck) reportTCP(tr *trace, reqErr error) bool {
	target := "the server"
	if s.proxy != nil {
		target = "the proxy " + s.proxy.Redacted()
	}
	var last connectEvent
	ok := false
	for _, c := range tr.connects {
		last = c
		if c.err == nil {
			ok = true
			break
		}
	}
	if ok {
		s.add(CheckTCP, OK, fmt.Sprintf("connected to %s (%s) in %s", last.addr, strings.TrimPrefix(target, "the "), last.took.Round(time.Millisecond)), "")
		return true
	}
	if len(tr.connects) == 0 {
		if tr.dnsErr != nil {
			s.add(CheckTCP, Fail, fmt.Sprintf("cannot resolve %s: %v", target, tr.dnsErr), "check the host name in HTTPS_PROXY / HTTP_PROXY")
			return false
		}
		if reqErr != nil && !tr.gotConn {
			s.add(CheckTCP, Fail, "could not connect: "+describeErr(reqErr), "check the url and your network")
			return false
		}
		// A reused connection: nothing to report.
		s.add(CheckTCP, OK, "connected", "")
		return true
	}
	err := last.err
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		fix := "check the port in the url and that the server is running"
		if s.proxy != nil {
			fix = "check the proxy's host and port in HTTPS_PROXY / HTTP_PROXY"
		}
		s.add(CheckTCP, Fail, fmt.Sprintf("connection refused by %s: nothing listens on %s", target, last.addr), fix)
	case isTimeout(err):
		s.add(CheckTCP, Fail, fmt.Sprintf("%s (%s) did not answer within %s", target, last.addr, s.opts.Timeout),
			"a firewall may drop the traffic; if your network only reaches the internet through a proxy, set HTTPS_PROXY")
	case errors.Is(err, syscall.ENETUNREACH) || errors.Is(err, syscall.EHOSTUNREACH):
		s.add(CheckTCP, Fail, fmt.Sprintf("%s (%s) is unreachable from this network", target, last.addr),
			"connect the right network or VPN, or set HTTPS_PROXY")
	default:
		s.add(CheckTCP, Fail, fmt.Sprintf("cannot connect to %s (%s): %v", target, last.addr, err), "check the url and your network")
	}
	return false
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

func (s *serverCheck) reportTLS(tr *trace, reqErr error) bool {
	now := s.opts.Now()
	switch {
	case tr.tlsState != nil:
		st := tr.tlsState
		sum := tls.VersionName(st.Version)
		fix := ""
		status := OK
		if len(st.PeerCertificates) > 0 {
			c := st.PeerCertificates[0]
			sum += fmt.Sprintf(", certificate for %s from %s, valid until %s", certName(c), issuerName(c), c.NotAfter.Format("2006-01-02"))
			if left := c.NotAfter.Sub(now); left < 14*24*time.Hour {
				status = Warn
				fix = fmt.Sprintf("the certificate expires in %d days: tell the server's operator", int(left.Hours()/24))
			}
		}
		s.add(CheckTLS, status, sum, fix)
		return true
	case tr.tlsErr != nil:
		sum, fix := explainTLS(tr.tlsErr, s.u.Hostname(), s.cfg.CAFile, s.cfgPath, now)
		s.add(CheckTLS, Fail, sum, fix)
		return false
	case reqErr != nil:
		// The handshake never ran or reported through the trace.
		var cve *tls.CertificateVerificationError
		var rhe tls.RecordHeaderError
		if errors.As(reqErr, &cve) || errors.As(reqErr, &rhe) {
			sum, fix := explainTLS(reqErr, s.u.Hostname(), s.cfg.CAFile, s.cfgPath, now)
			s.add(CheckTLS, Fail, sum, fix)
			return false
		}
		s.add(CheckTLS, Fail, "no TLS handshake: "+describeErr(reqErr), "check the url's port and your network")
		return false
	}
	s.add(CheckTLS, OK, "TLS (on a reused connection)", "")
	return true
}

func issuerName(c *x509.Certificate) string {
	if c.Issuer.CommonName != "" {
		return c.Issuer.CommonName
	}
	if len(c.Issuer.Organization) > 0 {
		return c.Issuer.Organization[0]
	}
	return c.Issuer.String()
}

// explainTLS turns a handshake error into what happened and what to do.
func explainTLS(err error, host, caFile, cfgPath string, now time.Time) (summary, fix string) {
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var ua x509.UnknownAuthorityError
	var rhe tls.RecordHeaderError
	switch {
	case errors.As(err, &he):
		names := []string{}
		if he.Certificate != nil {
			names = append(names, he.Certificate.DNSNames...)
			for _, ip := range he.Certificate.IPAddresses {
				names = append(names, ip.String())
			}
			if len(names) == 0 && he.Certificate.Subject.CommonName != "" {
				names = append(names, he.Certificate.Subject.CommonName)
			}
		}
		return fmt.Sprintf("the certificate is for %s, not %s (hostname mismatch)", strings.Join(names, ", "), host),
			"use a host name the certificate names in the url, or ask the server's operator to fix its certificate; a TLS-inspecting proxy can also cause this"
	case errors.As(err, &ci) && ci.Reason == x509.Expired:
		if ci.Cert != nil && now.Before(ci.Cert.NotBefore) {
			return fmt.Sprintf("the certificate is not valid until %s, and this computer's clock says %s", ci.Cert.NotBefore.Format(time.RFC3339), now.Format(time.RFC3339)),
				"check the system clock and time zone"
		}
		when := ""
		if ci.Cert != nil {
			when = " on " + ci.Cert.NotAfter.Format("2006-01-02")
		}
		return "the server's certificate expired" + when,
			fmt.Sprintf("if this computer's clock (%s) is right, the server's operator must renew the certificate", now.Format("2006-01-02"))
	case errors.As(err, &ua):
		issuer := "unknown"
		if ua.Cert != nil {
			issuer = issuerName(ua.Cert)
		}
		sum := fmt.Sprintf("the certificate is signed by an authority this computer does not trust (issuer %q)", issuer)
		if caFile != "" {
			return sum, fmt.Sprintf("caFile %s does not contain that issuer: add its root certificate (PEM) to the file", caFile)
		}
		return sum, fmt.Sprintf(`if your network inspects TLS (a corporate proxy or antivirus), export its root certificate as PEM and set "caFile" to that file in %s`, cfgPath)
	case errors.As(err, &ci):
		return "the certificate is invalid: " + ci.Error(), "ask the server's operator to fix the certificate"
	case errors.As(err, &rhe):
		return "the server does not speak TLS on this port", "use http:// if the server is plain HTTP, or the port that serves HTTPS"
	}
	return "TLS handshake failed: " + describeErr(err), "check the url's port; a proxy or firewall may interfere with TLS"
}

// describeErr shortens a request error: the URL (which may carry a key) is
// left out.
func describeErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timed out"
	}
	return err.Error()
}
