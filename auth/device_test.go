package auth

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/mcptray/mcptray/auth/internal/oauthtest"
)

// TestDeviceLoginRegistersAgainForTheGrant: a client registered before
// the authorization server offered the device grant does not have it,
// and the device authorization endpoint refuses it with
// unauthorized_client. The login drops that registration, registers once
// more (asking for the device grant now) and signs in with the new
// client; the new registration and its tokens replace the old ones.
func TestDeviceLoginRegistersAgainForTheGrant(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthtest.Options{})
	h.login(h.manager(nil), LoginOptions{}) // a browser sign-in registers client-1
	old := h.stored(h.manager(nil))
	if regs := h.srv.Registrations(); len(regs) != 1 || slices.Contains(asStrings(regs[0]["grant_types"]), oauthtest.DeviceGrantType) {
		t.Fatalf("first registration: %v", regs)
	}

	h.srv.SetDeviceFlow(true)
	m := h.manager(func(c *Config) { c.Flow = FlowDevice })
	var codes []DeviceCode
	h.login(m, LoginOptions{OnDeviceCode: func(dc DeviceCode) { codes = append(codes, dc) }})

	if got, want := h.srv.DeviceAuthorizationRequests(), []string{old.ClientID, "client-2"}; !slices.Equal(got, want) {
		t.Fatalf("device authorization requests by %v, want %v", got, want)
	}
	regs := h.srv.Registrations()
	if len(regs) != 2 || !slices.Contains(asStrings(regs[1]["grant_types"]), oauthtest.DeviceGrantType) {
		t.Fatalf("registrations: %v", regs)
	}
	if len(codes) != 1 {
		t.Fatalf("%d device codes shown, want 1 (the refused request has none)", len(codes))
	}
	c := h.stored(m)
	if c.ClientID != "client-2" || !c.Registered || c.RegistrationMethod() != RegistrationDynamic {
		t.Fatalf("stored client %q (registered %t, %s)", c.ClientID, c.Registered, c.RegistrationMethod())
	}
	if h.srv.CountGrant(oauthtest.DeviceGrantType) != 1 {
		t.Fatalf("%d device grants", h.srv.CountGrant(oauthtest.DeviceGrantType))
	}
	h.token(m)

	// The next device sign-in uses the new registration at once.
	h.login(m, LoginOptions{})
	if n := len(h.srv.Registrations()); n != 2 {
		t.Fatalf("%d registrations after a second device sign-in, want 2", n)
	}
}

// TestDeviceLoginUnauthorizedClientOnce: the new registration happens
// once per login, and only for a registration of mcptray's own: a
// pre-registered client without the grant is an error, with no
// registration.
func TestDeviceLoginUnauthorizedClientOnce(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthtest.Options{DeviceFlow: true, Clients: []oauthtest.Client{
		{ID: "pre", AuthMethod: "none", GrantTypes: []string{"authorization_code", "refresh_token"}},
	}})
	m := h.manager(func(c *Config) { c.Flow, c.ClientID = FlowDevice, "pre" })
	err := h.note(m.Login(context.Background(), LoginOptions{WWWAuthenticate: h.srv.Challenge()}))
	var se *ServerError
	if !errors.As(err, &se) || se.Code != "unauthorized_client" {
		t.Fatalf("Login: %v, want unauthorized_client", err)
	}
	if got := h.srv.DeviceAuthorizationRequests(); !slices.Equal(got, []string{"pre"}) {
		t.Fatalf("device authorization requests by %v", got)
	}
	if n := len(h.srv.Registrations()); n != 0 {
		t.Fatalf("%d registrations for a pre-registered client", n)
	}
}

func asStrings(v any) []string {
	var out []string
	if s, ok := v.([]any); ok {
		for _, e := range s {
			if str, ok := e.(string); ok {
				out = append(out, str)
			}
		}
	}
	return out
}
