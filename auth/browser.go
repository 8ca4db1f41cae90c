package auth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"strings"
)

// DefaultOpenBrowser opens url in the user's browser: the command(s) named
// by $BROWSER when set (a colon-separated list, tried in order; "%s" in a
// command is replaced by the URL, else the URL is appended), otherwise the
// OS default (xdg-open, open, or rundll32 url.dll,FileProtocolHandler). It
// returns once the command started; only http and https URLs are opened.
func DefaultOpenBrowser(ctx context.Context, rawURL string) error {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		return errors.New("auth: refusing to open a non-http(s) URL in the browser")
	}
	if env := os.Getenv("BROWSER"); strings.TrimSpace(env) != "" {
		var errs []error
		for _, cmdline := range strings.Split(env, string(os.PathListSeparator)) {
			args := strings.Fields(cmdline)
			if len(args) == 0 {
				continue
			}
			replaced := false
			for i, a := range args {
				if strings.Contains(a, "%s") {
					args[i] = strings.ReplaceAll(a, "%s", rawURL)
					replaced = true
				}
			}
			if !replaced {
				args = append(args, rawURL)
			}
			if err := startDetached(args[0], args[1:]...); err != nil {
				errs = append(errs, fmt.Errorf("$BROWSER command %q: %w", args[0], err))
				continue
			}
			return nil
		}
		return fmt.Errorf("auth: could not open a browser: %w", errors.Join(errs...))
	}
	name, args := osBrowserCommand(rawURL)
	if err := startDetached(name, args...); err != nil {
		return fmt.Errorf("auth: could not open a browser with %s: %w", name, err)
	}
	return nil
}

// startDetached starts a command and reaps it in the background; the
// browser outlives any context.
func startDetached(name string, args ...string) error {
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	go func() { _ = cmd.Wait() }()
	return nil
}
