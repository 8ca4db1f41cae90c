package doctor

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/url"
	"os"
	"runtime"
	"strings"

	"github.com/mcptray/mcptray/mcpclient/config"
)

func checkStateDir(home string, add func(Finding)) {
	st, err := os.Stat(home)
	if os.IsNotExist(err) {
		return // created with 0700 when the hub first starts
	}
	if err != nil {
		add(Finding{Check: CheckStateDir, Status: Fail, Summary: fmt.Sprintf("cannot read the state dir %s: %v", home, err),
			Fix: "check its permissions, or set MCPTRAY_HOME to another directory"})
		return
	}
	if !st.IsDir() {
		add(Finding{Check: CheckStateDir, Status: Fail, Summary: home + " is not a directory",
			Fix: "remove it, or set MCPTRAY_HOME to a directory"})
		return
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		add(Finding{Check: CheckStateDir, Status: Warn,
			Summary: fmt.Sprintf("%s is accessible to other users (mode %v); it holds the hub's socket and logs", home, st.Mode().Perm()),
			Fix:     "chmod 700 " + home})
	}
}

// checkCAFile reports on the config's extra CA bundle and returns the
// pool to verify servers with (system roots plus the bundle), or nil for
// the system roots alone.
func checkCAFile(opts Options, cfg *config.Config, add func(Finding)) *x509.CertPool {
	if cfg.CAFile == "" {
		return nil
	}
	b, err := os.ReadFile(cfg.CAFile)
	if err != nil {
		add(Finding{Check: CheckCAFile, Status: Fail, Summary: fmt.Sprintf("cannot read %s: %v", cfg.CAFile, err),
			Fix: `point "caFile" at a readable PEM file, or remove the setting`})
		return nil
	}
	var certs []*x509.Certificate
	rest := b
	for {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		if c, err := x509.ParseCertificate(blk.Bytes); err == nil {
			certs = append(certs, c)
		}
	}
	if len(certs) == 0 {
		add(Finding{Check: CheckCAFile, Status: Fail, Summary: cfg.CAFile + " holds no PEM certificate",
			Fix: "export the root certificate in PEM format (-----BEGIN CERTIFICATE-----) into that file"})
		return nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	now := opts.Now()
	var names, expired []string
	for _, c := range certs {
		pool.AddCert(c)
		names = append(names, certName(c))
		if now.After(c.NotAfter) {
			expired = append(expired, fmt.Sprintf("%s (expired %s)", certName(c), c.NotAfter.Format("2006-01-02")))
		}
	}
	f := Finding{Check: CheckCAFile, Status: OK, Summary: fmt.Sprintf("%s: %d certificate%s: %s", cfg.CAFile, len(certs), plural(len(certs)), strings.Join(names, ", "))}
	if len(expired) > 0 {
		f.Status = Warn
		f.Fix = "replace the expired certificates: " + strings.Join(expired, ", ")
	}
	add(f)
	return pool
}

// certName is a certificate's most readable name.
func certName(c *x509.Certificate) string {
	switch {
	case c.Subject.CommonName != "":
		return c.Subject.CommonName
	case len(c.DNSNames) > 0:
		return c.DNSNames[0]
	case len(c.Subject.Organization) > 0:
		return c.Subject.Organization[0]
	}
	return c.Subject.String()
}

// proxyVars are the variables Go's http.ProxyFromEnvironment reads.
var proxyVars = []string{"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"}

func checkProxyEnv(opts Options, add func(Finding)) {
	var set []string
	status, fix := Info, ""
	for _, k := range proxyVars {
		v, ok := opts.LookupEnv(k)
		if !ok || v == "" {
			continue
		}
		if !strings.HasPrefix(strings.ToLower(k), "no_") {
			if _, err := parseProxy(v); err != nil {
				add(Finding{Check: CheckProxyEnv, Status: Fail, Summary: fmt.Sprintf("%s=%q is not a proxy URL: %v", k, redactURL(v), err),
					Fix: "set it to http://host:port (or http://user:password@host:port)"})
				return
			}
			v = redactURL(v)
		}
		set = append(set, k+"="+v)
	}
	for _, k := range []string{"ALL_PROXY", "all_proxy"} {
		if v := opts.getenv(k); v != "" && opts.getenv("HTTPS_PROXY") == "" && opts.getenv("https_proxy") == "" {
			status = Warn
			fix = fmt.Sprintf("%s is set, but mcptray (Go's HTTP client) ignores it: set HTTPS_PROXY (and HTTP_PROXY) to the proxy instead", k)
		}
	}
	if opts.getenv("REQUEST_METHOD") != "" && opts.getenv("HTTP_PROXY") != "" {
		status = Warn
		fix = "REQUEST_METHOD is set (a CGI environment): Go then ignores HTTP_PROXY; unset REQUEST_METHOD"
	}
	if len(set) == 0 {
		add(Finding{Check: CheckProxyEnv, Status: status, Summary: "no proxy variables set: connections go direct", Fix: fix})
		return
	}
	add(Finding{Check: CheckProxyEnv, Status: status, Summary: strings.Join(set, " "), Fix: fix})
}

// parseProxy reads a proxy variable as Go does: a URL, http:// assumed.
func parseProxy(v string) (*url.URL, error) {
	u, err := url.Parse(v)
	if err != nil || u.Scheme == "" || u.Host == "" {
		if u2, err2 := url.Parse("http://" + v); err2 == nil && u2.Host != "" {
			return u2, nil
		}
		if err == nil {
			err = errors.New("no host")
		}
		return nil, err
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
		return u, nil
	}
	return nil, fmt.Errorf("unsupported scheme %q", u.Scheme)
}

// redactURL hides a password in a URL.
func redactURL(v string) string {
	u, err := url.Parse(v)
	if err != nil || u.User == nil {
		return v
	}
	return u.Redacted()
}
