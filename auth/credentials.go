package auth

import (
	"net/url"
	"slices"
	"strings"
	"time"
)

// Token endpoint client authentication methods (RFC 7591, RFC 8414).
const (
	AuthMethodNone              = "none"
	AuthMethodClientSecretBasic = "client_secret_basic"
	AuthMethodClientSecretPost  = "client_secret_post"
)

// Credentials are everything stored for one server: the discovered
// endpoints, the client registration and the tokens. AccessToken,
// RefreshToken and ClientSecret are secrets: never log or display them.
type Credentials struct {
	// ServerURL is the MCP server's URL as configured.
	ServerURL string `json:"serverUrl"`
	// Resource is the RFC 8707 resource indicator sent with every
	// authorization and token request.
	Resource string `json:"resource,omitempty"`

	// Issuer and the endpoints of the authorization server.
	Issuer                string `json:"issuer,omitempty"`
	AuthorizationEndpoint string `json:"authorizationEndpoint,omitempty"`
	TokenEndpoint         string `json:"tokenEndpoint,omitempty"`
	RegistrationEndpoint  string `json:"registrationEndpoint,omitempty"`
	RevocationEndpoint    string `json:"revocationEndpoint,omitempty"`

	// ClientID and ClientSecret identify the client to the authorization
	// server; TokenEndpointAuthMethod is one of AuthMethodNone,
	// AuthMethodClientSecretBasic and AuthMethodClientSecretPost.
	ClientID                string `json:"clientId,omitempty"`
	ClientSecret            string `json:"clientSecret,omitempty"`
	TokenEndpointAuthMethod string `json:"tokenEndpointAuthMethod,omitempty"`

	// RedirectURI is the loopback redirect URI of the registration, on
	// CallbackPort. Registered reports a client that this package registered
	// dynamically (and may therefore drop and register again).
	RedirectURI  string `json:"redirectUri,omitempty"`
	CallbackPort int    `json:"callbackPort,omitempty"`
	Registered   bool   `json:"registered,omitempty"`
	// Registration is how the client is known to the issuer:
	// RegistrationPreRegistered, RegistrationMetadataDocument or
	// RegistrationDynamic ("" in credentials stored before it was kept:
	// see RegistrationMethod).
	Registration string `json:"registration,omitempty"`

	// Scopes granted (or, when the server did not say, requested).
	Scopes []string `json:"scopes,omitempty"`

	// The tokens. A zero Expiry means the server gave no lifetime.
	AccessToken  string    `json:"accessToken,omitempty"`
	RefreshToken string    `json:"refreshToken,omitempty"`
	TokenType    string    `json:"tokenType,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	// IssuedAt is when the access token was obtained (with Expiry it gives
	// the token's lifetime; zero for credentials stored before it was kept).
	IssuedAt time.Time `json:"issuedAt,omitzero"`
	// RefreshedAt is when the tokens were last refreshed (zero: never
	// since the sign-in).
	RefreshedAt time.Time `json:"refreshedAt,omitzero"`

	// Secret is the value of a named static secret, and SecretNames the
	// list of those names; each is set only in the entries that Secrets
	// keeps (see SecretKey), never in a server's credentials.
	Secret      string   `json:"secret,omitempty"`
	SecretNames []string `json:"secretNames,omitempty"`
}

// RefreshAt is when the access token is due for a refresh: ExpiryMargin
// before it expires, or half-way through its life for a token that lives
// less than twice ExpiryMargin (otherwise every use of a token with a
// lifetime under the margin would refresh it). Zero: no known expiry.
func (c *Credentials) RefreshAt() time.Time {
	if c.Expiry.IsZero() {
		return time.Time{}
	}
	margin := ExpiryMargin
	if life := c.Expiry.Sub(c.IssuedAt); !c.IssuedAt.IsZero() && life > 0 && life < 2*ExpiryMargin {
		margin = life / 2
	}
	return c.Expiry.Add(-margin)
}

// clone returns a deep copy.
func (c *Credentials) clone() *Credentials {
	if c == nil {
		return nil
	}
	d := *c
	d.Scopes = slices.Clone(c.Scopes)
	d.SecretNames = slices.Clone(c.SecretNames)
	return &d
}

// RegistrationMethod is Registration, or for credentials stored without
// it, what the registration fields tell.
func (c *Credentials) RegistrationMethod() string {
	switch {
	case c.Registration != "":
		return c.Registration
	case c.ClientID == "":
		return ""
	case c.Registered:
		return RegistrationDynamic
	case strings.HasPrefix(c.ClientID, "https://"):
		return RegistrationMetadataDocument
	}
	return RegistrationPreRegistered
}

// clearTokens forgets the tokens, keeping registration and endpoints.
func (c *Credentials) clearTokens() {
	c.AccessToken, c.RefreshToken, c.TokenType = "", "", ""
	c.Expiry, c.IssuedAt, c.RefreshedAt = time.Time{}, time.Time{}, time.Time{}
}

// clearRegistration forgets the client registration and the tokens issued
// to it.
func (c *Credentials) clearRegistration() {
	c.clearTokens()
	c.ClientID, c.ClientSecret, c.TokenEndpointAuthMethod = "", "", ""
	c.RedirectURI, c.CallbackPort, c.Registered, c.Registration = "", 0, false, ""
}

// Key returns the canonical store key for a server: the URL with scheme and
// host lowercased, the default port dropped, no fragment and no trailing
// slash on the path; the canonical resource is appended (after "#resource=")
// when resource is set and differs from the server URL. Servers renamed in
// the config keep their key. An unparsable URL is used as given, trimmed.
func Key(serverURL, resource string) string {
	k := canonicalURL(serverURL)
	if resource != "" {
		if r := canonicalURL(resource); r != k {
			k += "#resource=" + r
		}
	}
	return k
}

// canonicalURL normalises a URL as Key describes.
func canonicalURL(raw string) string {
	raw = strings.TrimSpace(raw)
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return raw
	}
	u.Scheme = strings.ToLower(u.Scheme)
	host, port := u.Hostname(), u.Port()
	host = strings.ToLower(host)
	if (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	u.Host = host
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u.String()
}
