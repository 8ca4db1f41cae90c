package doctor_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mcptray/mcptray/mcpclient/doctor"
)

// authServerWith is an MCP endpoint that wants a login, behind an
// authorization server whose metadata is the usual endpoints plus extra.
func authServerWith(t *testing.T, extra map[string]any) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("/mcp", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`Bearer resource_metadata="%s/.well-known/oauth-protected-resource/mcp"`, srv.URL))
		http.Error(w, "unauthorized", http.StatusUnauthorized)
	})
	mux.HandleFunc("/.well-known/oauth-protected-resource/mcp", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"resource": srv.URL + "/mcp", "authorization_servers": []string{srv.URL + "/as"}})
	})
	mux.HandleFunc("/.well-known/oauth-authorization-server/as", func(w http.ResponseWriter, r *http.Request) {
		md := map[string]any{
			"issuer": srv.URL + "/as", "authorization_endpoint": srv.URL + "/as/authorize", "token_endpoint": srv.URL + "/as/token",
			"code_challenge_methods_supported": []string{"S256"},
		}
		for k, v := range extra {
			if v == nil {
				delete(md, k)
				continue
			}
			if s, ok := v.(string); ok {
				v = srv.URL + s // endpoints are paths on the server
			}
			md[k] = v
		}
		json.NewEncoder(w).Encode(md)
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// TestSignInMethod: doctor's sign-in-method check names the flow
// (browser, device, paste-back) and the client registration
// (pre-registered, metadata document, dynamic) the hub will use, each
// with its reason, and fails with the fix when no sign-in can work.
// Whether a browser opens here is the environment's (BROWSER, DISPLAY,
// WAYLAND_DISPLAY), so the rows set it and do not run in parallel.
func TestSignInMethod(t *testing.T) {
	const cimdURL = "https://mcptray.example/oauth/client.json"
	reg := map[string]any{"registration_endpoint": "/as/register"}
	device := map[string]any{"registration_endpoint": "/as/register", "device_authorization_endpoint": "/as/device"}
	cimd := map[string]any{"client_id_metadata_document_supported": true}
	regAndCIMD := map[string]any{"registration_endpoint": "/as/register", "client_id_metadata_document_supported": true}
	cases := []struct {
		name    string
		browser bool           // a browser opens here
		md      map[string]any // the authorization server's extra metadata
		oauth   string         // the server's oauth block, "" for none
		status  doctor.Status
		words   []string
	}{
		{"browser here, dynamic registration", true, reg, "", doctor.Info,
			[]string{"flow: browser (a browser can be opened on this machine)", "client: dynamic (the authorization server offers dynamic client registration)"}},
		{"browser here, the server offers a device grant too", true, device, "", doctor.Info,
			[]string{"flow: browser", "--no-browser` signs in with a code"}},
		{"no browser, device grant offered", false, device, "", doctor.Info,
			[]string{"flow: device (no browser opens here and the authorization server offers the device grant (RFC 8628))", "client: dynamic"}},
		{"no browser, no device grant: paste-back", false, reg, "", doctor.Info,
			[]string{"flow: paste-back (no browser opens here and the authorization server offers no device grant: the redirect URL is pasted back)"}},
		{"device forced", true, device, `{"flow": "device"}`, doctor.Info,
			[]string{`flow: device (oauth.flow is "device")`}},
		{"device forced, not offered", true, reg, `{"flow": "device"}`, doctor.Fail,
			[]string{"advertises no device_authorization_endpoint", "set oauth.flow to auto or browser"}},
		{"browser forced, no browser here: paste-back", false, device, `{"flow": "browser"}`, doctor.Info,
			[]string{`flow: paste-back (oauth.flow is "browser" and no browser opens here: the redirect URL is pasted back)`}},
		{"pre-registered client", true, nil, `{"clientId": "mcptray-desktop"}`, doctor.Info,
			[]string{"client: pre-registered (oauth.clientId is set)"}},
		{"metadata document", true, cimd, fmt.Sprintf(`{"clientMetadataUrl": %q}`, cimdURL), doctor.Info,
			[]string{"client: metadata-document (clientMetadataUrl is set and the authorization server supports client ID metadata documents)"}},
		{"metadata document set, not supported: dynamic", true, reg, fmt.Sprintf(`{"clientMetadataUrl": %q}`, cimdURL), doctor.Info,
			[]string{"client: dynamic", "clientMetadataUrl is set, but the server does not advertise client_id_metadata_document_supported"}},
		{"metadata documents supported, none set: dynamic with the hint", true, regAndCIMD, "", doctor.Info,
			[]string{"client: dynamic", "set clientMetadataUrl to use one"}},
		{"no registration, metadata documents but no URL set", true, cimd, "", doctor.Fail,
			[]string{"does not support dynamic client registration", "or a client ID metadata document (clientMetadataUrl)", "set oauth.clientId"}},
		{"no registration, a URL set but no metadata documents", true, nil, fmt.Sprintf(`{"clientMetadataUrl": %q}`, cimdURL), doctor.Fail,
			[]string{"neither client ID metadata documents nor dynamic client registration", "set oauth.clientId"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, k := range []string{"BROWSER", "DISPLAY", "WAYLAND_DISPLAY", "SSH_CONNECTION", "SSH_TTY"} {
				t.Setenv(k, "")
			}
			if c.browser {
				t.Setenv("BROWSER", "true")
			}
			srv := authServerWith(t, c.md)
			entry := fmt.Sprintf(`{"url": %q}`, srv.URL+"/mcp")
			if c.oauth != "" {
				entry = fmt.Sprintf(`{"url": %q, "oauth": %s}`, srv.URL+"/mcp", c.oauth)
			}
			f := newFixture(t)
			f.config("", map[string]string{"srv": entry})
			rep := f.run("srv", nil)
			expect(t, rep, "srv", doctor.CheckSignInMethod, c.status, c.words...)
		})
	}
}
