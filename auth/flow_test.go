package auth

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/mcptray/mcptray/auth/internal/oauthtest"
)

func TestChooseFlow(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name                        string
		configured                  string
		device, noBrowser, canPaste bool
		want                        string
		wantErr                     bool
	}{
		{name: "desktop", want: FlowBrowser, device: true},
		{name: "no browser, device offered", noBrowser: true, device: true, canPaste: true, want: FlowDevice},
		{name: "no browser, no device, terminal", noBrowser: true, canPaste: true, want: FlowPasteBack},
		{name: "no browser, no device, no terminal", noBrowser: true, want: FlowBrowser},
		{name: "forced device", configured: FlowDevice, device: true, want: FlowDevice},
		{name: "forced device, not offered", configured: FlowDevice, wantErr: true},
		{name: "forced browser, no browser", configured: FlowBrowser, device: true, noBrowser: true, canPaste: true, want: FlowPasteBack},
		{name: "unknown", configured: "pigeon", wantErr: true},
	} {
		got, why, err := ChooseFlow(c.configured, c.device, c.noBrowser, c.canPaste)
		if (err != nil) != c.wantErr || got != c.want || (err == nil && why == "") {
			t.Errorf("%s: ChooseFlow = %q, %q, %v; want %q (error %t)", c.name, got, why, err, c.want, c.wantErr)
		}
	}
}

func TestChooseRegistration(t *testing.T) {
	t.Parallel()
	const doc = "https://me.example/c.json"
	for _, c := range []struct {
		name, id, meta string
		cimd, reg      bool
		want           string
	}{
		{name: "configured id wins", id: "abc", meta: doc, cimd: true, reg: true, want: RegistrationPreRegistered},
		{name: "metadata document", meta: doc, cimd: true, reg: true, want: RegistrationMetadataDocument},
		{name: "document not supported", meta: doc, reg: true, want: RegistrationDynamic},
		{name: "no document configured", cimd: true, reg: true, want: RegistrationDynamic},
		{name: "nothing fits", meta: doc, want: ""},
	} {
		got, why, err := ChooseRegistration(c.id, c.meta, c.cimd, c.reg)
		if got != c.want || (c.want == "") != (err != nil) || (err == nil && why == "") {
			t.Errorf("%s: ChooseRegistration = %q, %q, %v; want %q", c.name, got, why, err, c.want)
		}
	}
}

// TestLoginNewIssuerRegistersAgain: credentials stored for another issuer
// (the server's metadata now names a new one) are not used with the new
// issuer: the login registers again, and neither the old client ID nor
// the old tokens reach it (SEP-2352).
func TestLoginNewIssuerRegistersAgain(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthtest.Options{})
	m := h.manager(nil)
	must(t, h.store.Save(context.Background(), m.Key(), &Credentials{
		ServerURL: h.srv.ServerURL(), Issuer: "https://old-issuer.example",
		AuthorizationEndpoint: "https://old-issuer.example/authorize",
		// The same token endpoint as the new issuer's: only the issuer
		// tells them apart.
		TokenEndpoint: h.srv.Issuer() + "/token",
		ClientID:      "old-client-id", Registered: true, CallbackPort: 1, Registration: RegistrationDynamic,
		AccessToken: "old-access-token-value", RefreshToken: "old-refresh-token-value",
		Scopes: []string{"old:scope"},
	}))
	h.login(m, LoginOptions{})
	if n := len(h.srv.Registrations()); n != 1 {
		t.Fatalf("%d registrations with the new issuer, want 1", n)
	}
	c := h.stored(m)
	if c.ClientID == "old-client-id" || c.Issuer == "https://old-issuer.example" || c.RegistrationMethod() != RegistrationDynamic {
		t.Fatalf("stored: client %q, issuer %q, registration %q", c.ClientID, c.Issuer, c.RegistrationMethod())
	}
	var sent []string
	for _, q := range h.srv.AuthorizeRequests() {
		sent = append(sent, q.Encode())
	}
	for _, r := range h.srv.TokenRequests() {
		sent = append(sent, r.Form.Encode(), r.ClientID)
	}
	for _, old := range []string{"old-client-id", "old-access-token-value", "old-refresh-token-value", "old:scope", url.QueryEscape("old:scope")} {
		if slices.ContainsFunc(sent, func(s string) bool { return strings.Contains(s, old) }) {
			t.Errorf("%q was sent to the new issuer", old)
		}
	}
	h.token(m)
}

// TestLoginPasteBack: with no browser and no device grant, the login
// prints the URL and takes the redirect URL pasted back; a paste with the
// wrong state is refused with words and the login keeps waiting.
func TestLoginPasteBack(t *testing.T) {
	t.Parallel()
	h := newHarness(t, oauthtest.Options{})
	m := h.manager(nil)
	urls := make(chan string, 1)
	submits := make(chan func(string) error, 1)
	done := make(chan error, 1)
	go func() {
		done <- h.note(m.Login(context.Background(), LoginOptions{
			WWWAuthenticate: h.srv.Challenge(), NoBrowser: true,
			OnURL:   func(u string) { urls <- u },
			OnPaste: func(submit func(string) error) { submits <- submit },
		}))
	}()
	authURL, submit := <-urls, <-submits
	if n := len(h.browser.Opened()); n != 0 {
		t.Fatalf("a browser was opened %d times", n)
	}
	// The browser on "another machine" follows the redirects up to the
	// loopback address it cannot load; what its address bar shows is
	// what the user pastes.
	redirected, err := oauthtest.FinalRedirect(context.Background(), authURL)
	must(t, err)
	bad := strings.Replace(redirected, "state=", "state=x", 1)
	if err := submit(bad); err == nil || !strings.Contains(err.Error(), "not recognised") {
		t.Fatalf("a wrong state was accepted: %v", err)
	}
	if err := submit("hello"); err == nil {
		t.Fatal("garbage was accepted")
	}
	if err := submit("  " + redirected + "\n"); err != nil {
		t.Fatalf("the real redirect was refused: %v", err)
	}
	must(t, <-done)
	if err := submit(redirected); err == nil {
		t.Fatal("a replayed redirect was accepted")
	}
	h.token(m)
}
