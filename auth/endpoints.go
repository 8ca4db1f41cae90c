package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// chooseAuthMethod picks the token endpoint auth method: the one the
// registration names, else, for a client with a secret, client_secret_basic
// unless the server only lists client_secret_post; none without a secret.
func chooseAuthMethod(registered, secret string, supported []string) string {
	switch registered {
	case AuthMethodNone:
		return AuthMethodNone
	case AuthMethodClientSecretBasic, AuthMethodClientSecretPost:
		if secret != "" {
			return registered
		}
		return AuthMethodNone
	}
	if secret == "" {
		return AuthMethodNone
	}
	if len(supported) == 0 || slices.Contains(supported, AuthMethodClientSecretBasic) {
		return AuthMethodClientSecretBasic
	}
	if slices.Contains(supported, AuthMethodClientSecretPost) {
		return AuthMethodClientSecretPost
	}
	return AuthMethodClientSecretBasic
}

// oauth2AuthStyle maps an auth method to golang.org/x/oauth2's.
func oauth2AuthStyle(method string) oauth2.AuthStyle {
	if method == AuthMethodClientSecretBasic {
		return oauth2.AuthStyleInHeader
	}
	return oauth2.AuthStyleInParams
}

// authenticate adds client authentication to a token endpoint style request
// (token, refresh, revocation).
func authenticate(req *http.Request, form url.Values, c *Credentials) {
	switch c.TokenEndpointAuthMethod {
	case AuthMethodClientSecretBasic:
		// RFC 6749 section 2.3.1: form-urlencode both before Basic.
		req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(c.ClientSecret))
	case AuthMethodClientSecretPost:
		form.Set("client_id", c.ClientID)
		form.Set("client_secret", c.ClientSecret)
	default:
		form.Set("client_id", c.ClientID)
	}
}

// tokenResponse is a token endpoint answer (RFC 6749 section 5).
type tokenResponse struct {
	AccessToken      string          `json:"access_token"`
	TokenType        string          `json:"token_type"`
	RefreshToken     string          `json:"refresh_token"`
	ExpiresIn        json.RawMessage `json:"expires_in"` // number, or a string at some servers
	Scope            string          `json:"scope"`
	Error            string          `json:"error"`
	ErrorDescription string          `json:"error_description"`
}

// maxExpiresIn caps a token lifetime in seconds (about 68 years, the cap
// of golang.org/x/oauth2) so that it fits a time.Duration: a larger
// expires_in overflowed it into an expiry in the past, and the token was
// refreshed on every use.
const maxExpiresIn = math.MaxInt32

// parseExpiresIn reads an expires_in value (a number or a quoted one); 0
// means none: missing, malformed, not positive, or NaN.
func parseExpiresIn(raw string) int64 {
	raw = strings.Trim(strings.TrimSpace(raw), `"`)
	n, err := strconv.ParseFloat(raw, 64)
	if err != nil || !(n > 0) {
		return 0
	}
	return int64(min(n, maxExpiresIn))
}

// postForm sends a form to an authorization server endpoint and decodes a
// JSON (or form-encoded) answer into a tokenResponse. Failures are
// *ServerError values that hold no part of the request or response bodies.
func (m *Manager) postForm(ctx context.Context, op, endpoint string, form url.Values, c *Credentials) (*tokenResponse, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("auth: %s endpoint %q: %w", op, endpoint, err)
	}
	authenticate(req, form, c)
	enc := form.Encode()
	req.Body = io.NopCloser(strings.NewReader(enc))
	req.ContentLength = int64(len(enc))
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(enc)), nil }
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := m.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, 0, &ServerError{Op: op, URL: endpoint, Err: stripURLError(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataSize))
	if err != nil {
		return nil, resp.StatusCode, &ServerError{Op: op, URL: endpoint, StatusCode: resp.StatusCode, Err: err}
	}
	var tr tokenResponse
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if ct == "application/x-www-form-urlencoded" || ct == "text/plain" {
		if vals, err := url.ParseQuery(string(body)); err == nil {
			tr = tokenResponse{
				AccessToken: vals.Get("access_token"), TokenType: vals.Get("token_type"),
				RefreshToken: vals.Get("refresh_token"), Scope: vals.Get("scope"),
				ExpiresIn: json.RawMessage(strconv.Quote(vals.Get("expires_in"))),
				Error:     vals.Get("error"), ErrorDescription: vals.Get("error_description"),
			}
		}
	} else if len(bytes.TrimSpace(body)) > 0 {
		_ = json.Unmarshal(body, &tr) // a non-JSON answer leaves tr empty
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 || tr.Error != "" {
		return nil, resp.StatusCode, &ServerError{
			Op: op, URL: endpoint, StatusCode: resp.StatusCode,
			Code: shorten(tr.Error), Description: shorten(tr.ErrorDescription),
		}
	}
	return &tr, resp.StatusCode, nil
}

// refreshTokens runs the refresh_token grant with the resource indicator
// (which golang.org/x/oauth2 would not send) and returns the updated
// credentials.
func (m *Manager) refreshTokens(ctx context.Context, c *Credentials) (*Credentials, error) {
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {c.RefreshToken},
	}
	if c.Resource != "" {
		form.Set("resource", c.Resource)
	}
	tr, _, err := m.postForm(ctx, "refresh", c.TokenEndpoint, form, c)
	if err != nil {
		return nil, err
	}
	if tr.AccessToken == "" {
		return nil, &ServerError{Op: "refresh", URL: c.TokenEndpoint, Description: "the answer holds no access_token"}
	}
	n := m.withTokens(c, tr)
	n.RefreshedAt = m.now()
	return n, nil
}

// withTokens returns a copy of c with the tokens of a token endpoint
// answer: a new refresh token replaces the old one (rotation), else the
// old one is kept.
func (m *Manager) withTokens(c *Credentials, tr *tokenResponse) *Credentials {
	n := c.clone()
	n.AccessToken = tr.AccessToken
	if tr.RefreshToken != "" {
		n.RefreshToken = tr.RefreshToken
	}
	n.TokenType = tr.TokenType
	n.Expiry, n.IssuedAt = time.Time{}, time.Time{}
	if s := parseExpiresIn(string(tr.ExpiresIn)); s > 0 {
		n.IssuedAt = m.now()
		n.Expiry = n.IssuedAt.Add(time.Duration(s) * time.Second)
	}
	if tr.Scope != "" {
		n.Scopes = strings.Fields(tr.Scope)
	}
	return n
}

// revoke asks the revocation endpoint (RFC 7009) to revoke one token.
func (m *Manager) revoke(ctx context.Context, c *Credentials, token, hint string) error {
	form := url.Values{"token": {token}, "token_type_hint": {hint}}
	_, _, err := m.postForm(ctx, "revocation", c.RevocationEndpoint, form, c)
	return err
}

// registrationRequest is the RFC 7591 client metadata sent.
type registrationRequest struct {
	ClientName              string   `json:"client_name,omitempty"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	ApplicationType         string   `json:"application_type"`
}

// registrationResponse is the part of the RFC 7591 answer used.
type registrationResponse struct {
	ClientID                string `json:"client_id"`
	ClientSecret            string `json:"client_secret"`
	TokenEndpointAuthMethod string `json:"token_endpoint_auth_method"`
	Error                   string `json:"error"`
	ErrorDescription        string `json:"error_description"`
}

// register registers a native public client for redirectURI (RFC 7591),
// for the device grant too when the server offers it.
func (m *Manager) register(ctx context.Context, as *serverMetadata, redirectURI string) (*registrationResponse, error) {
	grants := []string{"authorization_code", "refresh_token"}
	if as.DeviceAuthorizationEndpoint != "" {
		grants = append(grants, deviceGrantType)
	}
	body, _ := json.Marshal(registrationRequest{
		ClientName:              m.cfg.ClientName,
		RedirectURIs:            []string{redirectURI},
		GrantTypes:              grants,
		ResponseTypes:           []string{"code"},
		TokenEndpointAuthMethod: AuthMethodNone,
		ApplicationType:         "native",
	})
	ep := as.RegistrationEndpoint
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("auth: registration endpoint %q: %w", ep, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := m.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, &ServerError{Op: "registration", URL: ep, Err: stripURLError(err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataSize))
	if err != nil {
		return nil, &ServerError{Op: "registration", URL: ep, StatusCode: resp.StatusCode, Err: err}
	}
	var rr registrationResponse
	jerr := json.Unmarshal(raw, &rr)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, &ServerError{Op: "registration", URL: ep, StatusCode: resp.StatusCode,
			Code: shorten(rr.Error), Description: shorten(rr.ErrorDescription)}
	}
	if jerr != nil || rr.ClientID == "" {
		return nil, &ServerError{Op: "registration", URL: ep, StatusCode: resp.StatusCode,
			Description: "the answer holds no client_id"}
	}
	return &rr, nil
}

// exchangeError converts an error of golang.org/x/oauth2's Exchange, whose
// message may quote the response body, into a *ServerError.
func exchangeError(endpoint string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		se := &ServerError{Op: "token", URL: endpoint, Code: shorten(re.ErrorCode), Description: shorten(re.ErrorDescription)}
		if re.Response != nil {
			se.StatusCode = re.Response.StatusCode
		}
		return se
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return &ServerError{Op: "token", URL: endpoint, Err: ue.Err}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &ServerError{Op: "token", URL: endpoint, Err: err}
	}
	// Parse failures and "server response missing access_token": no body
	// in these messages, but do not pass them on verbatim either.
	return &ServerError{Op: "token", URL: endpoint, Description: "unusable token response"}
}
