package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// deviceGrantType is the grant type of RFC 8628 section 3.4.
const deviceGrantType = "urn:ietf:params:oauth:grant-type:device_code"

// Polling of the device grant (RFC 8628 section 3.5).
const (
	// defaultDeviceInterval is the polling interval when the server names none.
	defaultDeviceInterval = 5 * time.Second
	// slowDownStep is added to the interval on each slow_down (a poll
	// that failed, e.g. timed out, doubles it).
	slowDownStep = 5 * time.Second
	// maxDeviceInterval caps the interval a server may ask for.
	maxDeviceInterval = time.Minute
)

// DeviceCode is what the user needs to approve a device sign-in: the code
// to enter and the page to enter it on. None of it is a secret (the device
// code that the client polls with never leaves this package).
type DeviceCode struct {
	UserCode        string `json:"userCode"`
	VerificationURI string `json:"verificationUri"`
	// VerificationURIComplete, when the server gives one, opens the page
	// with the code filled in.
	VerificationURIComplete string    `json:"verificationUriComplete,omitempty"`
	Expires                 time.Time `json:"expires,omitzero"`
}

// deviceAuthResponse is the answer of the device authorization endpoint
// (RFC 8628 section 3.2). verification_url is Google's spelling.
type deviceAuthResponse struct {
	DeviceCode              string          `json:"device_code"`
	UserCode                string          `json:"user_code"`
	VerificationURI         string          `json:"verification_uri"`
	VerificationURL         string          `json:"verification_url"`
	VerificationURIComplete string          `json:"verification_uri_complete"`
	ExpiresIn               json.RawMessage `json:"expires_in"`
	Interval                json.RawMessage `json:"interval"`
	Error                   string          `json:"error"`
	ErrorDescription        string          `json:"error_description"`
}

// deviceLogin runs the device authorization grant: it asks for a device
// and a user code, shows the user code (opts.OnDeviceCode), then polls the
// token endpoint at the server's interval, slowing down when told to or
// when a poll fails, until the user approved or denied, or the code
// expired. base carries the endpoints and the client; the credentials are
// saved on success.
func (m *Manager) deviceLogin(ctx context.Context, endpoint string, base *Credentials, scopes []string, opts LoginOptions) error {
	form := url.Values{}
	if len(scopes) > 0 {
		form.Set("scope", strings.Join(scopes, " "))
	}
	if base.Resource != "" {
		form.Set("resource", base.Resource)
	}
	da, err := m.deviceAuthorization(ctx, endpoint, form, base)
	if err != nil {
		return err
	}
	dc := DeviceCode{
		UserCode:                shorten(da.UserCode),
		VerificationURI:         da.VerificationURI,
		VerificationURIComplete: da.VerificationURIComplete,
	}
	if dc.VerificationURI == "" {
		dc.VerificationURI = da.VerificationURL
	}
	expiresIn := parseExpiresIn(string(da.ExpiresIn))
	if expiresIn > 0 {
		dc.Expires = m.now().Add(time.Duration(expiresIn) * time.Second)
	}
	interval := defaultDeviceInterval
	if s := parseExpiresIn(string(da.Interval)); s > 0 {
		interval = min(time.Duration(s)*time.Second, maxDeviceInterval)
	}
	m.log.Info("device sign-in: waiting for the user to enter the code", "verification_uri", dc.VerificationURI, "interval", interval)
	if opts.OnDeviceCode != nil {
		opts.OnDeviceCode(dc)
	}
	if opts.OnURL != nil {
		opts.OnURL(dc.VerificationURI)
	}

	// The device code expires; bound the polling by it (the context has
	// its own deadline too).
	if expiresIn > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Duration(expiresIn)*time.Second)
		defer cancel()
	}
	poll := url.Values{"grant_type": {deviceGrantType}, "device_code": {da.DeviceCode}}
	if base.Resource != "" {
		poll.Set("resource", base.Resource)
	}
	// stopped is the end of a polling whose context ended: the code's
	// lifetime passed, or the sign-in was cancelled (or timed out).
	stopped := func() error {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && expiresIn > 0 && !m.now().Before(dc.Expires) {
			return &AuthorizationError{Code: "expired_token", Description: "the code was not entered in time"}
		}
		return fmt.Errorf("auth: the device sign-in to %s did not complete: %w", m.cfg.ServerURL, ctx.Err())
	}
	t := time.NewTimer(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return stopped()
		case <-t.C:
		}
		tr, _, err := m.postForm(ctx, "token", base.TokenEndpoint, poll, base)
		if err != nil && ctx.Err() != nil {
			return stopped() // the poll was cut short by the end
		}
		var se *ServerError
		switch {
		case err == nil:
			if tr.AccessToken == "" {
				return &ServerError{Op: "token", URL: base.TokenEndpoint, Description: "the answer holds no access_token"}
			}
			c := m.withTokens(base, tr)
			if err := m.save(ctx, c); err != nil {
				return err
			}
			m.log.Info("device sign-in finished")
			return nil
		case errors.As(err, &se) && se.Code == "authorization_pending":
		case errors.As(err, &se) && se.Code == "slow_down":
			interval = min(interval+slowDownStep, maxDeviceInterval)
			m.log.Debug("device sign-in: the server asks to poll more slowly", "interval", interval)
		case errors.As(err, &se) && (se.Code == "access_denied" || se.Code == "expired_token"):
			return &AuthorizationError{Code: se.Code, Description: se.Description}
		case errors.As(err, &se) && se.Temporary():
			// RFC 8628 section 3.5: other errors end the polling; a
			// network hiccup or a 5xx is retried, and after a connection
			// timeout the client MUST poll less often: each such failure
			// doubles the interval.
			interval = min(2*interval, maxDeviceInterval)
			m.log.Warn("device sign-in: polling failed; trying again", "err", err, "interval", interval)
		default:
			return err
		}
		t.Reset(interval)
	}
}

// deviceAuthorization asks the device authorization endpoint for codes.
func (m *Manager) deviceAuthorization(ctx context.Context, endpoint string, form url.Values, c *Credentials) (*deviceAuthResponse, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("auth: device authorization endpoint %q: %w", endpoint, err)
	}
	authenticate(req, form, c)
	enc := form.Encode()
	req.Body = io.NopCloser(strings.NewReader(enc))
	req.ContentLength = int64(len(enc))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := m.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, &ServerError{Op: "device authorization", URL: endpoint, Err: stripURLError(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataSize))
	if err != nil {
		return nil, &ServerError{Op: "device authorization", URL: endpoint, StatusCode: resp.StatusCode, Err: err}
	}
	var da deviceAuthResponse
	jerr := json.Unmarshal(body, &da)
	if resp.StatusCode < 200 || resp.StatusCode > 299 || da.Error != "" {
		return nil, &ServerError{Op: "device authorization", URL: endpoint, StatusCode: resp.StatusCode,
			Code: shorten(da.Error), Description: shorten(da.ErrorDescription)}
	}
	if jerr != nil || da.DeviceCode == "" || da.UserCode == "" || (da.VerificationURI == "" && da.VerificationURL == "") {
		return nil, &ServerError{Op: "device authorization", URL: endpoint, StatusCode: resp.StatusCode,
			Description: "the answer lacks device_code, user_code or verification_uri"}
	}
	for _, u := range []string{da.VerificationURI, da.VerificationURL, da.VerificationURIComplete} {
		if p, err := url.Parse(u); u != "" && (err != nil || (p.Scheme != "https" && p.Scheme != "http")) {
			return nil, &ServerError{Op: "device authorization", URL: endpoint, Description: "the verification URI is not an http(s) URL"}
		}
	}
	return &da, nil
}
