package doctor

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"

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

// refRE matches ${env:VAR} and ${secret:NAME}, as the hub fills them in.
var refRE = regexp.MustCompile(`\$\{(?:env:([A-Za-z_][A-Za-z0-9_]*)|secret:([^}]*))\}`)

// unsetRef is a reference that could not be filled in here.
type unsetRef struct {
	ref    string // as written: ${env:X} or ${secret:Y}
	fix    string
	secret bool
}

// expand fills in ${env:VAR} and ${secret:NAME}; missing lists what could
// not be filled in, with the fix.
func (s *serverCheck) expand(v string) (out string, missing []unsetRef) {
	out = refRE.ReplaceAllStringFunc(v, func(m string) string {
		sub := refRE.FindStringSubmatch(m)
		if sub[1] != "" {
			val, ok := s.opts.LookupEnv(sub[1])
			if !ok {
				missing = append(missing, unsetRef{ref: m, fix: fmt.Sprintf("set %s in the environment the hub starts from (your login session or the shell running mcptray), or keep the value in the credential store: `mcptray secret set NAME` and write ${secret:NAME} in %s", sub[1], s.cfgPath)})
			}
			return val
		}
		val, ok, err := s.secret(sub[2])
		switch {
		case err != nil:
			missing = append(missing, unsetRef{ref: m, secret: true, fix: "the credential store could not be read: " + err.Error()})
		case !ok:
			missing = append(missing, unsetRef{ref: m, secret: true, fix: fmt.Sprintf("the secret %s is not set: set it with `mcptray secret set %s`", sub[2], sub[2])})
		}
		return val
	})
	return out, missing
}

// secret reads a ${secret:NAME} through opts.LookupSecret.
func (s *serverCheck) secret(name string) (string, bool, error) {
	if s.opts.LookupSecret == nil {
		return "", false, errors.New("no credential store is available here")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*s.opts.Timeout)
	defer cancel()
	v, ok, err := s.opts.LookupSecret(ctx, name)
	if ok {
		s.opts.Secrets.Add(config.SecretValues(v)...)
	}
	return v, ok, err
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
		s.skip(CheckTCP, CheckHTTP, CheckEra, CheckInitialize)
		return s.findings
	}
	if !s.checkHTTP(ctx) {
		s.skip(CheckEra, CheckInitialize)
		return s.findings
	}
	initFinding, done := s.discover(ctx)
	if !done {
		initFinding = s.initialize(ctx)
	}
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
		sum += fmt.Sprintf(" (%d tools, %s", st.Tools, st.Transport)
		if st.Era != "" {
			sum += fmt.Sprintf(", MCP %s, %s era", st.ProtocolVersion, st.Era)
		}
		sum += ")"
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
		s.add(CheckServer, Fail, fmt.Sprintf("the url uses %s, which is not set here", missing[0].ref), missing[0].fix)
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		s.add(CheckServer, Fail, fmt.Sprintf("the url %q is not an http(s) URL", stripQuery(raw)), "fix the url in "+s.cfgPath)
		return false
	}
	s.u = u
	s.headers = http.Header{}
	var unset, fixes []string
	for _, k := range sortedKeys(s.sc.Headers) {
		v, missing := s.expand(s.sc.Headers[k])
		if len(missing) > 0 {
			unset = append(unset, fmt.Sprintf("%s (header %s)", missing[0].ref, k))
			if missing[0].secret {
				fixes = append(fixes, missing[0].fix)
			}
			continue
		}
		s.headers.Set(k, v)
	}
	if len(unset) > 0 {
		fix := "set the variables in the environment the hub starts from"
		if len(fixes) > 0 {
			fix = strings.Join(fixes, "; ")
			if len(fixes) < len(unset) {
				fix += "; set the variables in the environment the hub starts from"
			}
		}
		s.add(CheckServer, Fail, "values used by headers are not set here: "+strings.Join(unset, ", "),
			fix+"; the checks below run without those headers")
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
