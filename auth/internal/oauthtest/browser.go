package oauthtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
)

// Page is what the fake browser ended on.
type Page struct {
	Status int
	Body   string
}

// Browser stands in for the user's browser: Open follows the authorization
// redirect to the loopback callback with an http.Client, as a browser whose
// user consents at once would.
type Browser struct {
	// Before, if set, runs before the authorization URL is followed, with
	// it; tests use it to send their own requests to the callback first.
	Before func(authURL string)

	mu    sync.Mutex
	pages []Page
	urls  []string
}

// Open implements the OpenBrowser hook of auth.Config. It returns an error
// only when the request itself failed.
func (b *Browser) Open(ctx context.Context, authURL string) error {
	b.mu.Lock()
	b.urls = append(b.urls, authURL)
	before := b.Before
	b.mu.Unlock()
	if before != nil {
		before(authURL)
	}
	p, err := Get(ctx, authURL)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.pages = append(b.pages, p)
	b.mu.Unlock()
	return nil
}

// Pages returns the pages the browser ended on, in order.
func (b *Browser) Pages() []Page {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Page(nil), b.pages...)
}

// Opened returns the URLs the browser was asked to open.
func (b *Browser) Opened() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.urls...)
}

// Get fetches u following redirects, like a browser tab would.
func Get(ctx context.Context, u string) (Page, error) {
	return Do(ctx, u, "")
}

// Do fetches u following redirects, with the Host header set to host when
// it is not empty.
func Do(ctx context.Context, u, host string) (Page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return Page{}, err
	}
	if host != "" {
		req.Host = host
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Page{}, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return Page{Status: resp.StatusCode, Body: string(body)}, nil
}

// FinalRedirect follows u's redirects until one points at a loopback
// address (127.0.0.1 or localhost) and returns that URL without loading
// it: what the address bar of a browser on another machine shows at the
// end of a sign-in (the URL a user pastes back).
func FinalRedirect(ctx context.Context, u string) (string, error) {
	var final string
	c := &http.Client{CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if h := req.URL.Hostname(); h == "127.0.0.1" || h == "localhost" {
			final = req.URL.String()
			return http.ErrUseLastResponse
		}
		return nil
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if final == "" {
		return "", fmt.Errorf("no redirect to a loopback address (status %d)", resp.StatusCode)
	}
	return final, nil
}
