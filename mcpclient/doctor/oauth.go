package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/mcptray/mcptray/auth"
	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/config"
)

var resourceMetadataRE = regexp.MustCompile(`resource_metadata\s*=\s*(?:"([^"]*)"|([^\s,]+))`)

// fetchJSON GETs a metadata document.
func (s *serverCheck) fetchJSON(ctx context.Context, u string) (map[string]any, int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("MCP-Protocol-Version", s.protocolVersion())
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, 0, errors.New(describeErr(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, resp.StatusCode, fmt.Errorf("HTTP %s", resp.Status)
	}
	b, err := readLimited(resp.Body, 1<<20)
	if err != nil {
		return nil, resp.StatusCode, err
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
		return nil, resp.StatusCode, fmt.Errorf("not a JSON object (Content-Type %q)", ct)
	}
	return doc, resp.StatusCode, nil
}

func (s *serverCheck) protocolVersion() string {
	if s.sc.ProtocolVersion != "" && !config.IsModernVersion(s.sc.ProtocolVersion) {
		return s.sc.ProtocolVersion
	}
	return config.DefaultProtocolVersion
}

// wellKnown builds origin/.well-known/NAME with the URL's path appended
// (RFC 9728 §3.1, RFC 8414 §3.1); path "" or "/" gives the root form.
func wellKnown(u *url.URL, name, path string) string {
	path = strings.TrimSuffix(path, "/")
	return u.Scheme + "://" + u.Host + "/.well-known/" + name + path
}

// checkOAuth finds the protected resource metadata (RFC 9728) and the
// authorization server metadata (RFC 8414 / OpenID discovery) the way the
// MCP authorization spec says a client does, and reports the login state.
// It reports whether the server offers OAuth.
func (s *serverCheck) checkOAuth(ctx context.Context) bool {
	var candidates []string
	if m := resourceMetadataRE.FindStringSubmatch(s.challenge); m != nil {
		candidates = append(candidates, m[1]+m[2])
	}
	if s.u.Path != "" && s.u.Path != "/" {
		candidates = append(candidates, wellKnown(s.u, "oauth-protected-resource", s.u.Path))
	}
	candidates = append(candidates, wellKnown(s.u, "oauth-protected-resource", ""))

	var prm map[string]any
	var prmURL string
	var tried []string
	for _, c := range candidates {
		doc, status, err := s.fetchJSON(ctx, c)
		if err == nil {
			prm, prmURL = doc, c
			break
		}
		if status == 0 || status >= 500 {
			tried = append(tried, fmt.Sprintf("%s (%v)", c, err))
		} else {
			tried = append(tried, fmt.Sprintf("%s (%d)", c, status))
		}
	}

	usesOAuth := false
	var issuers []string
	if prm != nil {
		usesOAuth = true
		resource, _ := prm["resource"].(string)
		for _, a := range asList(prm["authorization_servers"]) {
			issuers = append(issuers, a)
		}
		sum := fmt.Sprintf("at %s: resource %s, authorization server %s", prmURL, resource, strings.Join(issuers, ", "))
		switch {
		case len(issuers) == 0:
			s.add(CheckResourceMeta, Fail, fmt.Sprintf("at %s, but it names no authorization_servers", prmURL),
				"the server's OAuth setup is incomplete: report it to its operator")
		case resource != "" && !resourceMatches(resource, s.u):
			s.add(CheckResourceMeta, Warn, sum,
				fmt.Sprintf("the metadata's resource %s is not the server URL %s; tokens may be issued for the wrong audience: report it to the server's operator, or set oauth.resource", resource, s.u.String()))
		default:
			s.add(CheckResourceMeta, OK, sum, "")
		}
	} else {
		// Servers of the 2025-03-26 spec publish only the authorization
		// server metadata, at the server's origin.
		legacy := wellKnown(s.u, "oauth-authorization-server", "")
		if doc, _, err := s.fetchJSON(ctx, legacy); err == nil {
			usesOAuth = true
			s.add(CheckResourceMeta, Info, "none; the server uses the older (2025-03-26) discovery: authorization server metadata at its origin", "")
			s.reportAuthServer(s.u.Scheme+"://"+s.u.Host, legacy, doc)
		} else if s.got401 {
			s.add(CheckResourceMeta, Fail, "the server answers 401 but publishes no OAuth metadata (tried "+strings.Join(tried, ", ")+")",
				"it expects credentials mcptray cannot obtain by itself: add a header (e.g. \"Authorization\": \"Bearer ${env:TOKEN}\") or the oauth.clientId its provider gave you")
		} else {
			s.add(CheckResourceMeta, Info, "none published: the server does not use OAuth (it needs no login, or takes its credentials from headers)", "")
		}
	}
	if len(issuers) > 0 {
		s.checkAuthServer(ctx, issuers[0])
	}
	if usesOAuth {
		s.checkLogin(ctx)
	}
	return usesOAuth
}

func asList(v any) []string {
	var out []string
	if a, ok := v.([]any); ok {
		for _, e := range a {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// resourceMatches accepts the server URL itself or a prefix of it (an
// origin, or a path the server's endpoint sits under).
func resourceMatches(resource string, u *url.URL) bool {
	r, err := url.Parse(resource)
	if err != nil || !strings.EqualFold(r.Scheme, u.Scheme) || !strings.EqualFold(r.Host, u.Host) {
		return false
	}
	rp := strings.TrimSuffix(r.Path, "/")
	return rp == "" || strings.TrimSuffix(u.Path, "/") == rp || strings.HasPrefix(u.Path, rp+"/")
}

func (s *serverCheck) checkAuthServer(ctx context.Context, issuer string) {
	iu, err := url.Parse(issuer)
	if err != nil || iu.Host == "" {
		s.add(CheckAuthServer, Fail, fmt.Sprintf("the authorization server %q is not a URL", issuer), "report it to the server's operator")
		return
	}
	path := strings.TrimSuffix(iu.Path, "/")
	candidates := []string{wellKnown(iu, "oauth-authorization-server", path), wellKnown(iu, "openid-configuration", path)}
	if path != "" {
		candidates = append(candidates, iu.Scheme+"://"+iu.Host+path+"/.well-known/openid-configuration")
	}
	var tried []string
	for _, c := range candidates {
		doc, _, err := s.fetchJSON(ctx, c)
		if err == nil {
			s.reportAuthServer(issuer, c, doc)
			return
		}
		tried = append(tried, fmt.Sprintf("%s (%v)", c, err))
	}
	s.add(CheckAuthServer, Fail, "no authorization server metadata: tried "+strings.Join(tried, ", "),
		"login cannot work: report it to the server's operator")
}

func (s *serverCheck) reportAuthServer(issuer, at string, doc map[string]any) {
	defer s.reportSignInMethod(doc)
	str := func(k string) string { v, _ := doc[k].(string); return v }
	var problems, fixes []string
	if str("authorization_endpoint") == "" || str("token_endpoint") == "" {
		problems = append(problems, "no authorization_endpoint or token_endpoint")
		fixes = append(fixes, "login cannot work: report it to the server's operator")
	}
	if got := str("issuer"); got != "" && strings.TrimSuffix(got, "/") != strings.TrimSuffix(issuer, "/") {
		problems = append(problems, fmt.Sprintf("its issuer is %s, not %s", got, issuer))
		fixes = append(fixes, "strict clients reject this mismatch: report it to the server's operator")
	}
	methods := asList(doc["code_challenge_methods_supported"])
	hasS256 := false
	for _, m := range methods {
		hasS256 = hasS256 || m == "S256"
	}
	if !hasS256 {
		problems = append(problems, "it does not list PKCE S256 in code_challenge_methods_supported")
		fixes = append(fixes, "MCP clients require PKCE S256; login may still work if the server supports it unannounced")
	}
	reg := str("registration_endpoint") != ""
	cimd, _ := doc["client_id_metadata_document_supported"].(bool)
	hasClientID := s.sc.OAuth != nil && s.sc.OAuth.ClientID != ""
	if !reg && !cimd && !hasClientID {
		problems = append(problems, "no dynamic client registration")
		fixes = append(fixes, "register an app with the provider and set oauth.clientId (and clientSecret if it gives one) for this server")
	}
	var feats []string
	if reg {
		feats = append(feats, "dynamic registration")
	}
	if cimd {
		feats = append(feats, "client ID metadata documents")
	}
	if hasS256 {
		feats = append(feats, "PKCE S256")
	}
	sum := "at " + at
	if len(feats) > 0 {
		sum += ": " + strings.Join(feats, ", ")
	}
	if len(problems) > 0 {
		st := Warn
		if str("authorization_endpoint") == "" || str("token_endpoint") == "" || (!reg && !cimd && !hasClientID) {
			st = Fail
		}
		s.add(CheckAuthServer, st, sum+"; but "+strings.Join(problems, "; "), strings.Join(fixes, "; "))
		return
	}
	s.add(CheckAuthServer, OK, sum, "")
}

func (s *serverCheck) checkLogin(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	state, err := s.opts.Auth.LoginState(ctx, s.name, s.sc)
	login := "sign in from the tray menu or with `mcptray login " + s.name + "`"
	switch {
	case errors.Is(err, ErrAuthUnavailable) && s.hubState != nil && s.hubState.SignedIn:
		s.add(CheckLogin, OK, "signed in (the hub holds a token)", "")
	case errors.Is(err, ErrAuthUnavailable) && s.hubState != nil && s.hubState.State == mcpclient.StateNeedsLogin:
		s.add(CheckLogin, Warn, "not signed in (the hub waits for a login)", login)
	case errors.Is(err, ErrAuthUnavailable):
		s.add(CheckLogin, Info, "unknown until OAuth lands in doctor (the hub knows: `mcptray status`)", "")
	case err != nil:
		s.add(CheckLogin, Warn, err.Error(), login)
	default:
		s.add(CheckLogin, OK, state, "")
	}
}

// CheckSignInMethod says how a sign-in to the server will go: the flow
// (browser, device code, paste-back) and how mcptray is known to the
// authorization server (pre-registered client ID, client ID metadata
// document, dynamic registration), each with the reason.
const CheckSignInMethod = "sign-in-method"

// reportSignInMethod reports CheckSignInMethod from the authorization
// server's metadata and the server's config, as auth decides them.
func (s *serverCheck) reportSignInMethod(doc map[string]any) {
	str := func(k string) string { v, _ := doc[k].(string); return v }
	cimd, _ := doc["client_id_metadata_document_supported"].(bool)
	o := s.sc.OAuth
	if o == nil {
		o = &config.OAuth{}
	}
	meta := o.ClientMetadataURL
	if meta == "" && s.cfg != nil {
		meta = s.cfg.ClientMetadataURL
	}
	device := str("device_authorization_endpoint") != ""
	// The hub decides on its own machine; doctor runs on the same one. A
	// terminal can paste (mcptray login NAME --no-browser).
	flow, flowWhy, ferr := auth.ChooseFlow(o.Flow, device, !auth.LocalBrowser(), true)
	reg, regWhy, rerr := auth.ChooseRegistration(o.ClientID, meta, cimd, str("registration_endpoint") != "")
	switch {
	case ferr != nil:
		s.add(CheckSignInMethod, Fail, ferr.Error(), "set oauth.flow to auto or browser for this server")
	case rerr != nil:
		s.add(CheckSignInMethod, Fail, rerr.Error(), "register an app with the provider and set oauth.clientId, or host a client ID metadata document (`mcptray client-metadata`) and set clientMetadataUrl")
	default:
		sum := fmt.Sprintf("flow: %s (%s); client: %s (%s)", flow, flowWhy, reg, regWhy)
		if device && flow == auth.FlowBrowser {
			sum += "; without a browser here, `mcptray login " + s.name + " --no-browser` signs in with a code"
		}
		s.add(CheckSignInMethod, Info, sum, "")
	}
}
