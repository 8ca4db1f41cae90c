package auth

import (
	"net/url"
	"strconv"
)

// ClientMetadataDocument is an OAuth client ID metadata document: the
// JSON to host at its own URL, which then serves as the client ID with
// authorization servers that advertise client_id_metadata_document_supported.
type ClientMetadataDocument struct {
	ClientID                string   `json:"client_id"`
	ClientName              string   `json:"client_name"`
	ClientURI               string   `json:"client_uri,omitempty"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	ApplicationType         string   `json:"application_type"`
}

// NewClientMetadataDocument describes mcptray as a native public client at
// documentURL: loopback redirect URIs (127.0.0.1 without a port, which
// authorization servers match with any port as RFC 8252 section 7.3 says,
// and one with each of ports, for servers that match exactly), the
// authorization code and refresh token grants, no client secret.
func NewClientMetadataDocument(documentURL, clientName string, ports []int) ClientMetadataDocument {
	if clientName == "" {
		clientName = DefaultClientName
	}
	redirects := []string{"http://127.0.0.1/callback"}
	for _, p := range ports {
		if p > 0 {
			redirects = append(redirects, "http://127.0.0.1:"+strconv.Itoa(p)+"/callback")
		}
	}
	d := ClientMetadataDocument{
		ClientID:                documentURL,
		ClientName:              clientName,
		RedirectURIs:            redirects,
		GrantTypes:              []string{"authorization_code", "refresh_token"},
		ResponseTypes:           []string{"code"},
		TokenEndpointAuthMethod: AuthMethodNone,
		ApplicationType:         "native",
	}
	if u, err := url.Parse(documentURL); err == nil && u.Host != "" {
		d.ClientURI = u.Scheme + "://" + u.Host
	}
	return d
}
