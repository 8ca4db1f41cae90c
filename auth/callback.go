package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// callback is the loopback redirect handler of one login. It accepts
// exactly one valid answer: the right state (single use, unexpired), the
// right issuer when the server sends one (RFC 9207), and a code or an
// error. Anything else gets a readable error page (status 400) and leaves
// the listener waiting for the real answer.
type callback struct {
	m           *Manager
	port        int
	redirectURI string
	state       string
	created     time.Time
	issuer      string
	checkIss    bool // the server advertises the iss parameter
	exchange    func(ctx context.Context, code string) error
	ctx         context.Context // the login's
	result      chan error      // buffered(1); receives the one outcome

	mu   sync.Mutex
	used bool
}

// ServeHTTP implements http.Handler.
func (cb *callback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !cb.hostAllowed(r.Host) || !originAllowed(r.Header.Get("Origin")) {
		cb.m.log.Warn("login callback: rejected a request with a foreign Host or Origin (DNS rebinding?)", "host", shorten(r.Host))
		page(w, http.StatusForbidden, "Request refused", "This address only answers the sign-in redirect of mcptray on this computer.")
		return
	}
	if r.URL.Path != "/callback" {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		page(w, http.StatusMethodNotAllowed, "Method not allowed", "The sign-in redirect is a GET request.")
		return
	}
	status, title, msg := cb.answer(r.URL.Query())
	page(w, status, title, msg)
}

// answer checks one authorization response (the query of the redirect,
// from the browser or pasted back) and, when it is the one awaited,
// exchanges the code and hands the outcome to the login. It returns the
// page to show: a status other than 200 with the login still waiting
// means the answer was not accepted.
func (cb *callback) answer(q url.Values) (status int, title, msg string) {
	server := cb.m.cfg.ServerURL
	st := q.Get("state")
	if st == "" {
		cb.m.log.Warn("login callback: no state parameter")
		return http.StatusBadRequest, "Sign-in not recognised", "The answer has no state parameter, so it cannot be matched to a sign-in started by mcptray. Start the sign-in again if it does not finish."
	}

	cb.mu.Lock()
	switch {
	case subtle.ConstantTimeCompare([]byte(st), []byte(cb.state)) != 1:
		cb.mu.Unlock()
		cb.m.log.Warn("login callback: unknown state")
		return http.StatusBadRequest, "Sign-in not recognised", "This answer belongs to another or an older sign-in (its state does not match). Use the newest sign-in link, or start the sign-in again."
	case cb.used:
		cb.mu.Unlock()
		cb.m.log.Warn("login callback: state replayed")
		return http.StatusBadRequest, "Sign-in link already used", "This sign-in answer was already received. Each one can be used once; start the sign-in again if needed."
	case cb.m.now().Sub(cb.created) > StateLifetime:
		cb.mu.Unlock()
		cb.m.log.Warn("login callback: state expired")
		return http.StatusBadRequest, "Sign-in expired", "This sign-in was started more than 10 minutes ago and has expired. Start the sign-in again."
	}
	if iss := q.Get("iss"); (cb.checkIss || q.Has("iss")) && iss != cb.issuer {
		cb.used = true
		cb.mu.Unlock()
		err := &AuthorizationError{Code: "invalid_issuer", Description: "the answer came from issuer " + shorten(strconv.Quote(iss)) + ", not " + strconv.Quote(cb.issuer)}
		cb.m.log.Warn("login callback: issuer mismatch (RFC 9207)", "err", err)
		cb.finish(err)
		return http.StatusBadRequest, "Sign-in refused", "The answer did not come from the expected authorization server (" + cb.issuer + "), so mcptray did not accept it."
	}
	if code := q.Get("error"); code != "" {
		cb.used = true
		cb.mu.Unlock()
		err := &AuthorizationError{Code: shorten(code), Description: shorten(q.Get("error_description"))}
		cb.m.log.Info("login callback: the authorization server answered with an error", "err", err)
		msg := "The authorization server answered: " + err.Code
		if err.Description != "" {
			msg += " (" + err.Description + ")"
		}
		title := "Sign-in failed"
		if err.Code == "access_denied" {
			title = "Sign-in declined"
			msg = "Access to " + server + " was not granted. " + msg + ". You can sign in again from mcptray."
		}
		cb.finish(err)
		return http.StatusBadRequest, title, msg
	}
	code := q.Get("code")
	if code == "" {
		cb.mu.Unlock()
		cb.m.log.Warn("login callback: no code and no error")
		return http.StatusBadRequest, "Sign-in incomplete", "The answer has neither an authorization code nor an error. Finish the sign-in in the browser, or start it again."
	}
	cb.used = true
	cb.mu.Unlock()

	if err := cb.exchange(cb.ctx, code); err != nil {
		cb.m.log.Warn("login: exchanging the authorization code failed", "err", err)
		cb.finish(err)
		return http.StatusBadGateway, "Sign-in failed", "Signing in to " + server + " failed while fetching the tokens: " + err.Error()
	}
	cb.finish(nil)
	return http.StatusOK, "Signed in", "mcptray is now signed in to " + server + ". You can close this tab."
}

// finish hands the outcome to the waiting login (once: the state is
// single use, so only one request gets here).
func (cb *callback) finish(err error) {
	select {
	case cb.result <- err:
	default:
	}
}

// hostAllowed accepts only the loopback names of our own port.
func (cb *callback) hostAllowed(host string) bool {
	h, p, err := net.SplitHostPort(host)
	if err != nil || p != strconv.Itoa(cb.port) {
		return false
	}
	return h == "127.0.0.1" || strings.EqualFold(h, "localhost")
}

// originAllowed accepts no Origin (top-level navigations send none or
// "null") or a loopback one.
func originAllowed(origin string) bool {
	if origin == "" || origin == "null" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	h := u.Hostname()
	return h == "127.0.0.1" || strings.EqualFold(h, "localhost")
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}} · mcptray</title>
<style>body{font-family:system-ui,sans-serif;max-width:40em;margin:4em auto;padding:0 1em;color:#222}h1{font-size:1.4em}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Message}}</p></body></html>
`))

// page writes a small HTML page; the template escapes the text.
func page(w http.ResponseWriter, status int, title, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(status)
	_ = pageTmpl.Execute(w, struct{ Title, Message string }{title, msg})
}

// paste takes a redirect URL the user pasted back (FlowPasteBack): the
// whole URL from the browser's address bar, or just its query. It returns
// nil when the answer was accepted and the sign-in finished, else an error
// in words (the login keeps waiting for a better paste unless the answer
// was a final one, such as an access_denied).
func (cb *callback) paste(raw string) error {
	raw = strings.TrimSpace(raw)
	if i := strings.IndexByte(raw, '?'); i >= 0 {
		raw = raw[i+1:]
	}
	if i := strings.IndexByte(raw, '#'); i >= 0 {
		raw = raw[:i]
	}
	q, err := url.ParseQuery(raw)
	if err != nil || (!q.Has("state") && !q.Has("code") && !q.Has("error")) {
		return errors.New("that is not the address of the sign-in redirect: copy the whole address from the browser's address bar (it starts with " + cb.redirectURI + "?code=)")
	}
	status, title, msg := cb.answer(q)
	if status == http.StatusOK {
		return nil
	}
	return fmt.Errorf("%s: %s", title, msg)
}
