package doctor

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
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
