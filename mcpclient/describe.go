package mcpclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"syscall"
)

// describe renders an error for status, the UI and IDE error messages: the
// network errors users meet most often in plain words, with what to do;
// anything else as the error says.
func describe(err error) string {
	if err == nil {
		return ""
	}
	host := ""
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil {
			host = u.Host
		}
	}
	at := ""
	if host != "" {
		at = " " + host
	}
	var dnsErr *net.DNSError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	var invalid x509.CertificateInvalidError
	var recordErr tls.RecordHeaderError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Sprintf("nothing is listening at%s (connection refused): is the server running, and is the url right?", at)
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return fmt.Sprintf("the host name %s does not resolve: check the url, or your DNS or VPN", dnsErr.Name)
		}
		return fmt.Sprintf("looking up %s failed (%v): check your network, DNS or VPN", dnsErr.Name, dnsErr.Err)
	case errors.As(err, &unknownCA):
		return fmt.Sprintf("the TLS certificate of%s is signed by an authority this machine does not trust: if a corporate proxy or private CA is in the way, set caFile in the config", at)
	case errors.As(err, &hostErr):
		return fmt.Sprintf("the TLS certificate of%s is for another host name (%v): check the url", at, hostErr.Error())
	case errors.As(err, &invalid):
		return fmt.Sprintf("the TLS certificate of%s is not valid (%v): check the server, or this machine's clock", at, invalid.Error())
	case errors.As(err, &recordErr):
		return fmt.Sprintf("%s does not speak TLS: use an http:// url, or the server's TLS port", host)
	case errors.Is(err, syscall.ECONNRESET):
		return fmt.Sprintf("the connection to%s was reset: %v", at, err)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return fmt.Sprintf("%s cannot be reached from this network: check your connection or VPN", host)
	case errors.Is(err, context.DeadlineExceeded) && host != "":
		return fmt.Sprintf("%s did not answer in time", host)
	}
	return err.Error()
}
