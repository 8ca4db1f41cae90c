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
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/transport"
)

// serverCheck runs the checks of one server.
type serverCheck struct {
	opts     *Options
	name     string
	sc       config.Server
	cfg      *config.Config
	cfgPath  string
	pool     *x509.CertPool
	hubState *mcpclient.ServerStatus

	findings []Finding
	u        *url.URL
	headers  http.Header
	proxy    *url.URL
	client   *http.Client
	// OAuth signals gathered on the way.
	challenge string // a WWW-Authenticate from a 401
	got401    bool
	needLogin bool // initialize got a 401 that a login may fix
}

func (s *serverCheck) add(check string, st Status, summary, fix string) {
	s.findings = append(s.findings, Finding{Server: s.name, Check: check, Status: st, Summary: summary, Fix: fix})
}

func (s *serverCheck) skip(checks ...string) {
	for _, c := range checks {
		s.add(c, Skip, "not checked (an earlier step failed)", "")
	}
}

var envRefRE = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}`)

// expand fills in ${env:VAR}; missing lists the unset variables.
func (s *serverCheck) expand(v string) (out string, missing []string) {
	out = envRefRE.ReplaceAllStringFunc(v, func(m string) string {
		name := envRefRE.FindStringSubmatch(m)[1]
		val, ok := s.opts.LookupEnv(name)
		if !ok {
			missing = append(missing, name)
		}
		return val
	})
	return out, missing
}

func (s *serverCheck) run(ctx context.Context) []Finding {
	if s.sc.Disabled {
		s.add(CheckServer, Info, "disabled in the config: the hub does not connect to it", `set "disabled": false (or use the tray menu) to use it`)
		return s.findings
	}
	s.reportHubState()
	if !s.resolve() {
		return s.findings
	}
	s.buildClient()
	defer s.client.CloseIdleConnections()
	if !s.checkDNS(ctx) {
		s.skip(CheckTCP, CheckHTTP, CheckInitialize)
		return s.findings
	}
	if !s.checkHTTP(ctx) {
		s.skip(CheckInitialize)
		return s.findings
	}
	initFinding := s.initialize(ctx)
	if !s.checkOAuth(ctx) && s.needLogin {
		// A 401 without any OAuth offer: no login can fix it.
		initFinding.Status = Fail
		initFinding.Summary = "initialize was refused: 401 Unauthorized, and the server offers no OAuth sign-in"
		initFinding.Fix = `give the credentials it expects as a header in the config, e.g. "headers": {"Authorization": "Bearer ${env:TOKEN}"}`
	}
	s.findings = append(s.findings, initFinding)
	return s.findings
}

func (s *serverCheck) reportHubState() {
	st := s.hubState
	if st == nil {
		return
	}
	sum := "the hub has it " + string(st.State)
	if st.State == mcpclient.StateConnected {
		sum += fmt.Sprintf(" (%d tools, %s)", st.Tools, st.Transport)
		s.add(CheckHubState, OK, sum, "")
		return
	}
	if st.LastError != "" {
		sum += ": " + st.LastError
	}
	switch st.State {
	case mcpclient.StateNeedsLogin:
		s.add(CheckHubState, Warn, sum, "sign in from the tray menu or with `mcptray login "+s.name+"`")
	case mcpclient.StateBackoff, mcpclient.StateFailed:
		s.add(CheckHubState, Warn, sum, "see the checks below for the cause; `mcptray reconnect "+s.name+"` retries now")
	default:
		s.add(CheckHubState, Info, sum, "")
	}
}

// resolve expands the URL and headers as the hub would.
func (s *serverCheck) resolve() bool {
	raw, missing := s.expand(s.sc.URL)
	if len(missing) > 0 {
		s.add(CheckServer, Fail, fmt.Sprintf("the url uses ${env:%s}, which is not set here", missing[0]),
			fmt.Sprintf("set %s in the environment the hub starts from (your login session or the shell running mcptray), or write the value into %s", missing[0], s.cfgPath))
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		s.add(CheckServer, Fail, fmt.Sprintf("the url %q is not an http(s) URL", stripQuery(raw)), "fix the url in "+s.cfgPath)
		return false
	}
	s.u = u
	s.headers = http.Header{}
	var unset []string
	for _, k := range sortedKeys(s.sc.Headers) {
		v, missing := s.expand(s.sc.Headers[k])
		if len(missing) > 0 {
			unset = append(unset, fmt.Sprintf("%s (header %s)", missing[0], k))
			continue
		}
		s.headers.Set(k, v)
	}
	if len(unset) > 0 {
		s.add(CheckServer, Fail, "environment variables used by headers are not set here: "+strings.Join(unset, ", "),
			"set them in the environment the hub starts from; the checks below run without those headers")
	}
	return true
}

func (s *serverCheck) buildClient() {
	// The hub's own client, redirect policy included: a 301 the hub
	// follows (keeping the POST) is not reported as broken here.
	s.client = transport.NewHTTPClient(transport.ClientOptions{
		RootCAs:               s.pool,
		Proxy:                 s.opts.Proxy,
		DialTimeout:           s.opts.Timeout,
		ResponseHeaderTimeout: s.opts.Timeout,
		MaxIdlePerHost:        4,
		OnProxyConnectResponse: func(ctx context.Context, _ *url.URL, _ *http.Request, res *http.Response) error {
			if t := traceOf(ctx); t != nil {
				t.connectStatus = res.StatusCode
				t.connectStatusText = res.Status
			}
			return nil
		},
	})
	req := &http.Request{Method: http.MethodGet, URL: s.u, Header: http.Header{}}
	p, err := s.opts.Proxy(req)
	switch {
	case err != nil:
		s.add(CheckProxy, Fail, "the proxy setting is invalid: "+err.Error(), "fix HTTPS_PROXY / HTTP_PROXY")
	case p != nil:
		s.proxy = p
		s.add(CheckProxy, Info, "through the proxy "+p.Redacted(), "")
	default:
		s.add(CheckProxy, Info, "direct (no proxy applies to "+s.u.Hostname()+")", "")
	}
}

func (s *serverCheck) checkDNS(ctx context.Context) bool {
	host := s.u.Hostname()
	if ip := net.ParseIP(host); ip != nil {
		s.add(CheckDNS, OK, host+" is an IP address: no lookup", "")
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	addrs, err := s.opts.Resolver.LookupHost(ctx, host)
	if err == nil {
		shown := addrs
		more := ""
		if len(shown) > 3 {
			more = fmt.Sprintf(" (+%d more)", len(shown)-3)
			shown = shown[:3]
		}
		s.add(CheckDNS, OK, fmt.Sprintf("%s → %s%s", host, strings.Join(shown, ", "), more), "")
		return true
	}
	why := err.Error()
	var de *net.DNSError
	if errors.As(err, &de) {
		switch {
		case de.IsNotFound:
			why = "no such host"
		case de.IsTimeout:
			why = "the DNS server did not answer in time"
		}
	}
	if s.proxy != nil {
		s.add(CheckDNS, Info, fmt.Sprintf("%s does not resolve here (%s); the proxy resolves it", host, why), "")
		return true
	}
	s.add(CheckDNS, Fail, fmt.Sprintf("cannot resolve %s: %s", host, why),
		"check the host name in the url; if it is an internal name, connect your VPN; if your network only reaches the internet through a proxy, set HTTPS_PROXY")
	return false
}

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

func stripQuery(u string) string {
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		return u[:i] + "?…"
	}
	return u
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
