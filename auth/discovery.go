package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// maxMetadataSize bounds metadata documents and endpoint answers.
const maxMetadataSize = 1 << 20

// resourceMetadata is RFC 9728 protected resource metadata.
type resourceMetadata struct {
	Resource             string   `json:"resource"`
	AuthorizationServers []string `json:"authorization_servers"`
	ScopesSupported      []string `json:"scopes_supported"`
}

// serverMetadata is RFC 8414 authorization server metadata (also the
// subset of OpenID Connect discovery used here).
type serverMetadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	RegistrationEndpoint              string   `json:"registration_endpoint"`
	RevocationEndpoint                string   `json:"revocation_endpoint"`
	DeviceAuthorizationEndpoint       string   `json:"device_authorization_endpoint"`
	ScopesSupported                   []string `json:"scopes_supported"`
	ResponseTypesSupported            []string `json:"response_types_supported"`
	GrantTypesSupported               []string `json:"grant_types_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	IssParameterSupported             bool     `json:"authorization_response_iss_parameter_supported"`
	ClientIDMetadataDocumentSupported bool     `json:"client_id_metadata_document_supported"`
}

// discovery is what a login learned about the server.
type discovery struct {
	prm      *resourceMetadata // nil: 2025-03-26 back-compat (no PRM)
	as       serverMetadata
	resource string // the resource indicator to send
}

// discover finds the protected resource metadata and the authorization
// server metadata, as the MCP authorization spec orders the attempts.
func (m *Manager) discover(ctx context.Context, ch BearerChallenge) (*discovery, error) {
	server, err := url.Parse(m.cfg.ServerURL)
	if err != nil || (server.Scheme != "https" && server.Scheme != "http") || server.Host == "" {
		return nil, fmt.Errorf("auth: server URL %q is not an http(s) URL", m.cfg.ServerURL)
	}
	d := &discovery{}

	prm, err := m.fetchResourceMetadata(ctx, server, ch.ResourceMetadata)
	if err != nil {
		return nil, err
	}
	d.prm = prm

	if prm == nil {
		// 2025-03-26: the authorization server is the MCP server's origin.
		origin := &url.URL{Scheme: server.Scheme, Host: server.Host}
		m.log.Debug("no protected resource metadata; using the server origin as authorization server (2025-03-26)", "origin", origin.String())
		as, found, err := m.fetchServerMetadata(ctx, origin, false)
		if err != nil {
			return nil, err
		}
		if !found {
			m.log.Debug("no authorization server metadata; using the default endpoints (2025-03-26)")
			as = serverMetadata{
				Issuer:                origin.String(),
				AuthorizationEndpoint: origin.JoinPath("authorize").String(),
				TokenEndpoint:         origin.JoinPath("token").String(),
				RegistrationEndpoint:  origin.JoinPath("register").String(),
			}
		}
		d.as = as
	} else {
		if len(prm.AuthorizationServers) == 0 {
			return nil, fmt.Errorf("auth: the protected resource metadata of %s names no authorization server", m.cfg.ServerURL)
		}
		asURL, err := url.Parse(prm.AuthorizationServers[0])
		if err != nil || (asURL.Scheme != "https" && asURL.Scheme != "http") || asURL.Host == "" {
			return nil, fmt.Errorf("auth: the protected resource metadata names an invalid authorization server %q", prm.AuthorizationServers[0])
		}
		as, found, err := m.fetchServerMetadata(ctx, asURL, true)
		if err != nil {
			return nil, err
		}
		if !found {
			return nil, fmt.Errorf("auth: the authorization server %s publishes no metadata (RFC 8414 or OpenID discovery)", asURL)
		}
		d.as = as
	}

	if d.as.AuthorizationEndpoint == "" || d.as.TokenEndpoint == "" {
		return nil, fmt.Errorf("auth: the authorization server metadata of %s lacks the authorization or token endpoint", d.as.Issuer)
	}
	if ms := d.as.CodeChallengeMethodsSupported; len(ms) > 0 && !slices.Contains(ms, "S256") {
		return nil, fmt.Errorf("auth: the authorization server %s does not support PKCE with S256", d.as.Issuer)
	}

	// The resource indicator: configured, else the one the PRM names (it
	// must cover the server URL), else the canonical server URL.
	switch {
	case m.cfg.Resource != "":
		d.resource = m.cfg.Resource
	case prm != nil && prm.Resource != "":
		if !resourceCovers(prm.Resource, m.cfg.ServerURL) {
			return nil, fmt.Errorf("auth: the protected resource metadata is for %q, not for %s: refusing to authorize", prm.Resource, m.cfg.ServerURL)
		}
		d.resource = prm.Resource
	default:
		d.resource = canonicalURL(m.cfg.ServerURL)
	}
	return d, nil
}

// resourceCovers reports whether the resource identifier res names the
// server URL: same origin, and res's path a prefix of the server's path at
// a segment boundary.
func resourceCovers(res, server string) bool {
	r, err1 := url.Parse(canonicalURL(res))
	s, err2 := url.Parse(canonicalURL(server))
	if err1 != nil || err2 != nil || r.Scheme != s.Scheme || r.Host != s.Host {
		return false
	}
	if r.Path == "" || r.Path == s.Path {
		return true
	}
	return strings.HasPrefix(s.Path, r.Path+"/")
}

// fetchResourceMetadata tries the resource_metadata URL of the challenge,
// then the path-based well-known URL, then the root one. It returns nil
// when none exists.
func (m *Manager) fetchResourceMetadata(ctx context.Context, server *url.URL, fromHeader string) (*resourceMetadata, error) {
	var candidates []string
	if fromHeader != "" {
		if u, err := server.Parse(fromHeader); err == nil && (u.Scheme == "https" || u.Scheme == "http") {
			candidates = append(candidates, u.String())
		}
	}
	origin := url.URL{Scheme: server.Scheme, Host: server.Host}
	if p := strings.TrimRight(server.EscapedPath(), "/"); p != "" {
		candidates = append(candidates, origin.String()+"/.well-known/oauth-protected-resource"+p)
	}
	candidates = append(candidates, origin.String()+"/.well-known/oauth-protected-resource")
	for _, u := range candidates {
		var prm resourceMetadata
		found, err := m.getJSON(ctx, u, &prm)
		if err != nil {
			return nil, err
		}
		if found {
			m.log.Debug("protected resource metadata", "url", u, "authorization_servers", prm.AuthorizationServers)
			return &prm, nil
		}
	}
	return nil, nil
}

// fetchServerMetadata tries the well-known metadata URLs of the issuer in
// the order of the MCP spec: for an issuer with a path, RFC 8414 with path
// insertion, OpenID with path insertion, OpenID with path appending; else
// RFC 8414, then OpenID. checkIssuer requires the document's issuer to be
// the issuer URL (RFC 8414 section 3.3).
func (m *Manager) fetchServerMetadata(ctx context.Context, issuer *url.URL, checkIssuer bool) (serverMetadata, bool, error) {
	origin := url.URL{Scheme: issuer.Scheme, Host: issuer.Host}
	p := strings.TrimRight(issuer.EscapedPath(), "/")
	var candidates []string
	if p != "" {
		candidates = []string{
			origin.String() + "/.well-known/oauth-authorization-server" + p,
			origin.String() + "/.well-known/openid-configuration" + p,
			origin.String() + p + "/.well-known/openid-configuration",
		}
	} else {
		candidates = []string{
			origin.String() + "/.well-known/oauth-authorization-server",
			origin.String() + "/.well-known/openid-configuration",
		}
	}
	for _, u := range candidates {
		var as serverMetadata
		found, err := m.getJSON(ctx, u, &as)
		if err != nil {
			return as, false, err
		}
		if !found {
			continue
		}
		if as.Issuer == "" {
			as.Issuer = issuer.String()
		}
		if checkIssuer && canonicalURL(as.Issuer) != canonicalURL(issuer.String()) {
			return as, false, fmt.Errorf("auth: the metadata at %s is for issuer %q, not %q", u, as.Issuer, issuer.String())
		}
		m.log.Debug("authorization server metadata", "url", u, "issuer", as.Issuer)
		return as, true, nil
	}
	return serverMetadata{}, false, nil
}

// getJSON fetches a metadata document. It reports found=false for 4xx
// answers (the next candidate is tried) and an error for network failures
// and 5xx.
func (m *Manager) getJSON(ctx context.Context, u string, v any) (bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return false, fmt.Errorf("auth: metadata URL %q: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := m.cfg.HTTPClient.Do(req)
	if err != nil {
		return false, &ServerError{Op: "metadata", URL: u, Err: stripURLError(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataSize))
	if err != nil {
		return false, &ServerError{Op: "metadata", URL: u, StatusCode: resp.StatusCode, Err: err}
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
	case resp.StatusCode >= 400 && resp.StatusCode < 500:
		m.log.Debug("no metadata", "url", u, "status", resp.StatusCode)
		return false, nil
	default:
		return false, &ServerError{Op: "metadata", URL: u, StatusCode: resp.StatusCode}
	}
	if err := json.Unmarshal(body, v); err != nil {
		m.log.Debug("metadata is not JSON; ignored", "url", u, "err", err)
		return false, nil
	}
	return true, nil
}

// stripURLError drops the *url.Error wrapper (its message repeats the URL,
// which the ServerError already names).
func stripURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// logAttrs is shared by a Manager's log records.
func serverAttr(u string) slog.Attr { return slog.String("server", u) }
