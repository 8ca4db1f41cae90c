package app

import (
	"strings"
	"time"

	"github.com/mcptray/mcptray/mcpclient"
)

// AuthText says a server's OAuth health in one line for the window ("" for
// a server that does not use OAuth): signed in or not, the access token's
// expiry, the last refresh, whether a refresh token is held, how mcptray
// is registered, and the last auth error. It holds no secret.
func AuthText(s mcpclient.ServerStatus, now time.Time) string {
	a := s.Auth
	if a == nil {
		return ""
	}
	var parts []string
	if a.SignedIn {
		parts = append(parts, "Signed in")
	} else {
		parts = append(parts, "Not signed in")
	}
	if !a.AccessTokenExpiry.IsZero() {
		if d := a.AccessTokenExpiry.Sub(now); d > 0 {
			parts = append(parts, "token expires in "+ago(d))
		} else {
			parts = append(parts, "token expired")
		}
	}
	if a.SignedIn && !a.RefreshToken {
		parts = append(parts, "no refresh token")
	} else if a.RefreshToken {
		parts = append(parts, "refresh token held")
	}
	if !a.LastRefresh.IsZero() {
		parts = append(parts, "refreshed "+ago(now.Sub(a.LastRefresh))+" ago")
	}
	if a.Registration != "" {
		parts = append(parts, "client: "+a.Registration)
	}
	if a.LastError != "" {
		parts = append(parts, "last auth error: "+a.LastError)
	}
	return strings.Join(parts, " · ")
}

// DeviceCodeText is the pending device sign-in's instruction, "" when none.
func DeviceCodeText(s mcpclient.ServerStatus) string {
	if s.Auth == nil || s.Auth.DeviceCode == nil {
		return ""
	}
	return "Enter the code " + s.Auth.DeviceCode.UserCode + " at " + s.Auth.DeviceCode.VerificationURI
}

func ago(d time.Duration) string {
	if d < time.Minute {
		return d.Round(time.Second).String()
	}
	return d.Round(time.Minute).String()
}
