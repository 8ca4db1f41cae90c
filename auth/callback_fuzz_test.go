package auth

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Placeholders in FuzzCallback inputs, replaced by the values of the login
// under test (the fuzzer could not guess a 256-bit state).
const (
	fzState = "{STATE}"
	fzPort  = "{PORT}"
	fzIss   = "{ISS}"
)

const (
	fzFlagCheckIss     = 1 << iota // the server advertises the iss parameter
	fzFlagExchangeFail             // the token endpoint rejects the code
	fzFlagExpired                  // the state is older than StateLifetime
)

// FuzzCallback sends arbitrary redirect requests, one per line of
// requests ("METHOD target", GET when no method is given), to the login
// callback handler, parsed from the raw request line the way the loopback
// server parses them. Invariants: no panic; a request completes the login
// or triggers the token exchange only if it is a GET of /callback with a
// loopback Host of the right port, an acceptable Origin, the login's
// state as the first state value, an unexpired state not used before and
// a correct iss; the exchange runs at most once, for the code of that
// request; nothing else completes the login; the status is one of the
// handler's; the page never holds markup from the request and its size
// is bounded whatever the request's.
func FuzzCallback(f *testing.F) {
	type seed struct {
		requests, host, origin string
		flags                  uint8
	}
	local := "127.0.0.1:" + fzPort
	seeds := []seed{
		{"GET /callback?code=SplxlOBeZQQYbYS6WxSbIA&state=" + fzState, local, "", 0},
		{"/callback?state=" + fzState + "&code=SplxlOBeZQQYbYS6WxSbIA&iss=" + fzIss, "localhost:" + fzPort, "", fzFlagCheckIss},
		{"/callback?code=abc&state=" + fzState, local, "", fzFlagCheckIss},
		{"/callback?code=abc&state=" + fzState + "&iss=https%3A%2F%2Fevil.example", local, "", 0},
		{"/callback?code=abc&state=" + fzState + "&iss=" + fzIss + "&iss=https%3A%2F%2Fevil.example", local, "", fzFlagCheckIss},
		{"/callback?error=access_denied&error_description=The+user+denied+the+request&state=" + fzState, local, "null", 0},
		{"/callback?error=server_error&state=" + fzState + "&iss=" + fzIss, local, "", fzFlagCheckIss},
		{"/callback?error=%3Cscript%3Ealert(1)%3C%2Fscript%3E&error_description=%3Cimg+src%3Dx+onerror%3Dalert(1)%3E&state=" + fzState, local, "", 0},
		{"/callback?error=<script>alert(document.cookie)</script>&error_description=\"><svg/onload=alert(1)>&state=" + fzState, local, "", 0},
		{"/callback?code=%3Cscript%3Ealert(1)%3C/script%3E&state=" + fzState, local, "", fzFlagExchangeFail},
		{"/callback?code=abc&state=" + fzState + "&iss=%3Cscript%3E", local, "", fzFlagCheckIss},
		{"/callback?code=abc&state=wrong", local, "", 0},
		{"/callback?code=abc&state=<script>alert(1)</script>", local, "", 0},
		{"/callback?code=abc", local, "", 0},
		{"/callback?state=" + fzState, local, "", 0},
		{"/callback?state=" + fzState + "&state=evil&code=x", local, "", 0},
		{"/callback?state=evil&state=" + fzState + "&code=x", local, "", 0},
		{"/callback?code=abc&state=" + fzState + "%00", local, "", 0},
		{"/callback?code=abc&state=" + fzState + "x", local, "", 0},
		{"/callback?code=abc&state=%20" + fzState, local, "", 0},
		{"/callback?code=abc;state=" + fzState, local, "", 0},
		{"/callback?code=&state=" + fzState, local, "", 0},
		{"/callback?code=abc&state=" + fzState, local, "", fzFlagExpired},
		{"POST /callback?code=abc&state=" + fzState, local, "", 0},
		{"HEAD /callback?code=abc&state=" + fzState, local, "", 0},
		{"/callback/?code=abc&state=" + fzState, local, "", 0},
		{"/CALLBACK?code=abc&state=" + fzState, local, "", 0},
		{"/%63allback?code=abc&state=" + fzState, local, "", 0},
		{"//callback?code=abc&state=" + fzState, local, "", 0},
		{"/callback#x?code=abc&state=" + fzState, local, "", 0},
		{"http://127.0.0.1:" + fzPort + "/callback?code=abc&state=" + fzState, "evil.example", "", 0},
		{"http://evil.example/callback?code=abc&state=" + fzState, local, "", 0},
		{"/callback?code=abc&state=" + fzState, "evil.example:" + fzPort, "", 0},
		{"/callback?code=abc&state=" + fzState, "127.0.0.1:1", "", 0},
		{"/callback?code=abc&state=" + fzState, "[::1]:" + fzPort, "", 0},
		{"/callback?code=abc&state=" + fzState, "127.0.0.1", "", 0},
		{"/callback?code=abc&state=" + fzState, "", "", 0},
		{"/callback?code=abc&state=" + fzState, "LocalHost:" + fzPort, "http://localhost:" + fzPort, 0},
		{"/callback?code=abc&state=" + fzState, local, "https://evil.example", 0},
		{"/callback?code=abc&state=" + fzState, local, "http://localhost.evil.example", 0},
		{"/callback?code=abc&state=" + fzState, local, "http://127.0.0.1@evil.example", 0},
		{"/callback?code=abc&state=" + fzState, local, "%zz", 0},
		// Several requests: replay, a bad answer before the real one, a
		// wrong state after it.
		{"/callback?code=a&state=" + fzState + "\n/callback?code=b&state=" + fzState, local, "", 0},
		{"/callback?state=" + fzState + "\n/favicon.ico\n/callback?code=abc&state=" + fzState, local, "", 0},
		{"/callback?code=abc&state=nope\n/callback?error=access_denied&state=" + fzState + "\n/callback?code=abc&state=" + fzState, local, "", 0},
		{"/callback?code=abc&state=" + fzState + "\n/callback?code=abc&state=" + fzState, local, "", fzFlagExchangeFail},
		{"/callback?code=" + strings.Repeat("%3Cb%3E", 400) + "&state=" + fzState, local, "", fzFlagExchangeFail},
		{"/callback?error=" + strings.Repeat("'", 600) + "&error_description=" + strings.Repeat("%22", 600) + "&state=" + fzState, local, "", 0},
		{"/callback?error=a%0D%0ASet-Cookie:+x=1&error_description=%1B[31mred&state=" + fzState, local, "", 0},
		{"/callback?error=%FF%FE&state=" + fzState, local, "", 0},
	}
	for _, s := range seeds {
		f.Add(s.requests, s.host, s.origin, s.flags)
	}

	const (
		state  = "q3RZ0x8Yc2mJ5vPbL1dNwT7uKfHs9eGiA4oXyB6zC0E" // 43 chars, as newState makes
		issuer = "https://as.example/tenant"
		port   = 53682
		server = "https://mcp.example/mcp"
	)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := NewManager(Config{ServerURL: server, Now: func() time.Time { return now }})
	skeleton := renderPage("", "")
	f.Fuzz(func(t *testing.T, requests, host, origin string, flags uint8) {
		repl := strings.NewReplacer(fzState, state, fzPort, strconv.Itoa(port), fzIss, url.QueryEscape(issuer))
		host, origin = repl.Replace(host), repl.Replace(origin)
		if strings.ContainsAny(host+origin, "\r\n") {
			return // not a header the request line parser could see
		}
		type exchangeCall struct {
			code string
			ctx  context.Context
		}
		var calls []exchangeCall
		ctx := context.WithValue(context.Background(), fuzzCtxKey{}, "login")
		cb := &callback{
			m:        m,
			port:     port,
			state:    state,
			created:  now,
			issuer:   issuer,
			checkIss: flags&fzFlagCheckIss != 0,
			exchange: func(ctx context.Context, code string) error {
				calls = append(calls, exchangeCall{code, ctx})
				if flags&fzFlagExchangeFail != 0 {
					// What exchangeError makes of an error answer that
					// quotes the code.
					return &ServerError{Op: "token", URL: "https://as.example/token", StatusCode: 400,
						Code: "invalid_grant", Description: shorten("authorization code " + code + " is unknown")}
				}
				return nil
			},
			ctx:    ctx,
			result: make(chan error, 1),
		}
		if flags&fzFlagExpired != 0 {
			cb.created = now.Add(-StateLifetime - time.Nanosecond)
		}

		lines := strings.Split(requests, "\n")
		if len(lines) > 8 {
			lines = lines[:8]
		}
		finished := false
		for _, line := range lines {
			line = strings.TrimSuffix(repl.Replace(line), "\r")
			if !strings.Contains(line, " ") {
				line = "GET " + line
			}
			raw := line + " HTTP/1.1\r\nHost: " + host + "\r\n"
			if origin != "" {
				raw += "Origin: " + origin + "\r\n"
			}
			req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw + "\r\n")))
			if err != nil {
				continue // the server answers 400 itself
			}
			req.RemoteAddr = "127.0.0.1:40000"

			before := len(calls)
			usedBefore := cb.used
			rec := httptest.NewRecorder()
			cb.ServeHTTP(rec, req)
			resp := rec.Result()
			body := rec.Body.String()

			var outcome error
			done := false
			select {
			case outcome = <-cb.result:
				done = true
			default:
			}
			exchanged := len(calls) > before

			// Which requests may complete the login, stated from the
			// request alone.
			q, _ := url.ParseQuery(req.URL.RawQuery)
			accepted := req.Method == http.MethodGet && req.URL.Path == "/callback" &&
				fuzzLoopbackHost(req.Host, port) && fuzzOriginOK(req.Header.Get("Origin")) &&
				len(q["state"]) > 0 && q["state"][0] == state &&
				!usedBefore && flags&fzFlagExpired == 0
			issOK := !(cb.checkIss || q.Has("iss")) || q.Get("iss") == issuer
			code, answerErr := q.Get("code"), q.Get("error")
			wantDone := accepted && (!issOK || answerErr != "" || code != "")
			wantExchange := accepted && issOK && answerErr == "" && code != ""
			if done != wantDone || exchanged != wantExchange {
				t.Fatalf("request %q (Host %q, Origin %q, flags %#x): completed the login %v, ran the exchange %v; want %v, %v (status %d)",
					line, host, origin, flags, done, exchanged, wantDone, wantExchange, resp.StatusCode)
			}
			if exchanged {
				if c := calls[len(calls)-1]; len(calls) != before+1 || c.code != code || c.ctx != ctx {
					t.Fatalf("request %q: exchange calls %+v after %d", line, calls, before)
				}
			}
			if done {
				if finished {
					t.Fatalf("request %q completed the login a second time", line)
				}
				finished = true
				var se *ServerError
				var ae *AuthorizationError
				switch {
				case exchanged && flags&fzFlagExchangeFail == 0:
					if outcome != nil || resp.StatusCode != http.StatusOK {
						t.Fatalf("request %q: exchange succeeded but the login got %v, status %d", line, outcome, resp.StatusCode)
					}
				case exchanged:
					if !errors.As(outcome, &se) || resp.StatusCode != http.StatusBadGateway {
						t.Fatalf("request %q: failed exchange gave %v, status %d", line, outcome, resp.StatusCode)
					}
				case !errors.As(outcome, &ae) || resp.StatusCode != http.StatusBadRequest:
					t.Fatalf("request %q: completed without an exchange with %v, status %d", line, outcome, resp.StatusCode)
				case !issOK:
					if ae.Code != "invalid_issuer" {
						t.Fatalf("request %q: wrong iss gave %v", line, ae)
					}
					checkServerText(t, "description", ae.Description, 300)
				default:
					checkServerText(t, "error code", ae.Code, 200+len("…"))
					checkServerText(t, "error description", ae.Description, 200+len("…"))
					if ae.Code != shorten(answerErr) || errors.Is(ae, ErrAccessDenied) != (answerErr == "access_denied") {
						t.Fatalf("request %q: error answer gave %#v", line, ae)
					}
				}
			} else if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusBadGateway {
				t.Fatalf("request %q: status %d but the login was not completed", line, resp.StatusCode)
			}
			if cb.used != (usedBefore || done) {
				t.Fatalf("request %q: the state is used %v after completing the login %v", line, cb.used, done)
			}

			switch resp.StatusCode {
			case http.StatusNotFound:
				if body != "404 page not found\n" {
					t.Fatalf("request %q: 404 body %q", line, body)
				}
				continue
			case http.StatusOK, http.StatusBadRequest, http.StatusForbidden, http.StatusMethodNotAllowed, http.StatusBadGateway:
			default:
				t.Fatalf("request %q: status %d", line, resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" ||
				resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Cache-Control") != "no-store" {
				t.Fatalf("request %q: headers %v", line, resp.Header)
			}
			// The page's only markup is the template's; a request never
			// adds any, and the page stays small.
			if strings.Count(body, "<") != strings.Count(skeleton, "<") || strings.Contains(strings.ToLower(body), "<script") {
				t.Fatalf("request %q: markup from the request in the page:\n%s", line, body)
			}
			if len(body) > len(skeleton)+4096 {
				t.Fatalf("request %q of %d bytes gave a page of %d bytes", line, len(line), len(body))
			}
		}
		if len(calls) > 1 {
			t.Fatalf("%d code exchanges for one login", len(calls))
		}
	})
}

type fuzzCtxKey struct{}

// fuzzLoopbackHost: the Host of a redirect to our listener (the name may
// be bracketed, as net.SplitHostPort allows).
func fuzzLoopbackHost(host string, port int) bool {
	p := ":" + strconv.Itoa(port)
	for _, h := range []string{"127.0.0.1", "localhost", "[127.0.0.1]", "[localhost]"} {
		if strings.EqualFold(host, h+p) {
			return true
		}
	}
	return false
}

// fuzzOriginOK: no Origin, "null", or a loopback origin.
func fuzzOriginOK(origin string) bool {
	if origin == "" || origin == "null" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && (u.Hostname() == "127.0.0.1" || strings.EqualFold(u.Hostname(), "localhost"))
}

// checkServerText checks server text placed into errors and logs: bounded
// and free of control characters.
func checkServerText(t *testing.T, what, s string, max int) {
	t.Helper()
	if len(s) > max || strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		t.Fatalf("%s %q is not shortened or holds control characters", what, s)
	}
}

func renderPage(title, msg string) string {
	rec := httptest.NewRecorder()
	page(rec, http.StatusOK, title, msg)
	return rec.Body.String()
}
