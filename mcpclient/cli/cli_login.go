package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/ipc"
)

// Login runs a sign-in through the hub: in the browser (the hub's
// loopback listener receives the callback; the URL is printed for
// machines where no browser opens), with a device code (RFC 8628), or,
// with --no-browser and no device grant, by pasting the final redirect
// URL back on stdin.
func Login(ctx context.Context, env Env, args []string) int {
	fs := newFlags("login", env)
	noBrowser := fs.Bool("no-browser", false, "open no browser: sign in with a code (when the server offers it) or paste the redirect URL back")
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(env.Stderr, "usage: mcptray login NAME [--no-browser]")
		return 2
	}
	name := fs.Arg(0)
	c := client(env, "login")
	if c == nil {
		return 1
	}
	if *noBrowser {
		fmt.Fprintf(env.Stdout, "Signing in to %s without a browser on this machine…\n", name)
	} else {
		fmt.Fprintf(env.Stdout, "Signing in to %s: complete the sign-in in your browser…\n", name)
	}
	device := false
	stdin := bufio.NewReader(env.Stdin)
	ui := ipc.LoginUI{
		NoBrowser: *noBrowser,
		OnURL: func(url string) {
			switch {
			case device:
			case *noBrowser:
				fmt.Fprintf(env.Stdout, "Open this URL in a browser on any machine and sign in:\n  %s\n", url)
			default:
				fmt.Fprintf(env.Stdout, "If no browser opened, open this URL:\n  %s\n", url)
			}
		},
		OnDeviceCode: func(dc ipc.DeviceCode) {
			device = true
			fmt.Fprintf(env.Stdout, "To sign in, open %s on any device and enter the code:\n\n    %s\n\n", dc.VerificationURI, dc.UserCode)
			if dc.VerificationURIComplete != "" {
				fmt.Fprintf(env.Stdout, "Or open this URL, which has the code filled in:\n  %s\n", dc.VerificationURIComplete)
			}
			fmt.Fprintln(env.Stdout, "Waiting for the sign-in to be approved…")
		},
		ReadPasted: func(ctx context.Context, lastErr string) (string, error) {
			if lastErr != "" {
				fmt.Fprintf(env.Stderr, "That was not accepted: %s\n", lastErr)
			}
			fmt.Fprintln(env.Stdout, "When the browser ends on a page that does not load, copy the whole address from its address bar and paste it here:")
			for {
				line, err := stdin.ReadString('\n')
				if strings.TrimSpace(line) != "" {
					return strings.TrimSpace(line), nil
				}
				if err != nil {
					if err == io.EOF {
						return "", errors.New("stdin ended before a redirect URL was pasted")
					}
					return "", err
				}
			}
		},
	}
	if !control(ctx, env, "login", c, 11*time.Minute, func(ctx context.Context) error {
		return c.LoginWith(ctx, name, ui)
	}) {
		return 1
	}
	fmt.Fprintf(env.Stdout, "Signed in to %s.\n", name)
	return 0
}

// Logout revokes (where the server supports it) and deletes a server's
// stored credentials.
func Logout(ctx context.Context, env Env, args []string) int {
	fs := newFlags("logout", env)
	if err := parseArgs(fs, args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(env.Stderr, "usage: mcptray logout NAME")
		return 2
	}
	c := client(env, "logout")
	if c == nil || !control(ctx, env, "logout", c, 2*time.Minute, func(ctx context.Context) error {
		return c.Logout(ctx, fs.Arg(0))
	}) {
		return 1
	}
	fmt.Fprintf(env.Stdout, "Signed out of %s; its stored credentials are deleted.\n", fs.Arg(0))
	return 0
}

// printAuth prints the OAuth health of the servers that use OAuth: one
// line each, and the code of a device sign-in waiting for the user.
func printAuth(w io.Writer, servers []mcpclient.ServerStatus, now time.Time) {
	for _, s := range servers {
		if s.Auth != nil {
			fmt.Fprintf(w, "%s: %s\n", s.Name, AuthSummary(*s.Auth, now))
		}
	}
}

// AuthSummary says a server's OAuth health in one line (no secrets:
// there are none in it).
func AuthSummary(a mcpclient.AuthStatus, now time.Time) string {
	var parts []string
	if a.SignedIn {
		parts = append(parts, "signed in")
	} else {
		parts = append(parts, "not signed in")
	}
	if !a.AccessTokenExpiry.IsZero() {
		if d := a.AccessTokenExpiry.Sub(now); d > 0 {
			parts = append(parts, "access token expires in "+roundDur(d).String())
		} else {
			parts = append(parts, "access token expired "+roundDur(-d).String()+" ago")
		}
	}
	if a.SignedIn {
		if a.RefreshToken {
			parts = append(parts, "refresh token held")
		} else {
			parts = append(parts, "no refresh token")
		}
	}
	if !a.LastRefresh.IsZero() {
		parts = append(parts, "refreshed "+roundDur(now.Sub(a.LastRefresh)).String()+" ago")
	}
	if a.Registration != "" {
		parts = append(parts, "client: "+a.Registration)
	}
	if a.DeviceCode != nil {
		parts = append(parts, "waiting for the code "+a.DeviceCode.UserCode+" to be entered at "+a.DeviceCode.VerificationURI)
	}
	if a.LastError != "" {
		parts = append(parts, "last auth error: "+oneLine(a.LastError, 120))
	}
	return "auth: " + strings.Join(parts, ", ")
}
