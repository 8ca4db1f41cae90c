package logfile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
)

// Redacted replaces a secret.
const Redacted = "[REDACTED]"

// secretKeys are attribute keys (lower case, '-' as '_') whose values are
// secrets whatever they look like.
var secretKeys = map[string]bool{
	"authorization": true, "proxy_authorization": true, "cookie": true, "set_cookie": true,
	"token": true, "access_token": true, "refresh_token": true, "id_token": true, "bearer": true,
	"client_secret": true, "password": true, "passwd": true, "secret": true, "api_key": true,
	"apikey": true, "x_api_key": true, "code_verifier": true, "client_assertion": true,
	"private_key": true,
}

func isSecretKey(k string) bool {
	return secretKeys[strings.ReplaceAll(strings.ToLower(k), "-", "_")]
}

// The shapes of secrets inside free text (error messages, URLs, bodies).
var (
	// "Authorization": "…" and friends in JSON: the whole value.
	jsonHeaderRE = regexp.MustCompile(`(?i)("(?:proxy-authorization|authorization|set-cookie|cookie|x-api-key|api-key)"\s*:\s*")((?:[^"\\]|\\.)*)(")`)
	// Authorization: TOKEN (a scheme-less credential: one word that looks
	// random — digits or punctuation in it, or long), as a header line or
	// key=value. Prose such as "Authorization: environment variable X is
	// not set" stays readable.
	authRE = regexp.MustCompile(`(?i)\b((?:proxy-)?authorization|x-api-key|api-key)(\s*[:=]\s*)([A-Za-z0-9._~+/=-]+)`)
	// Cookie: a=b; c=d — the rest of the line.
	cookieRE = regexp.MustCompile(`(?i)\b((?:set-)?cookie)(\s*:\s*)([^\s=;"]+=[^\r\n"]*)`)
	// Bearer/Basic credentials anywhere.
	schemeRE = regexp.MustCompile(`(?i)\b(bearer|basic|dpop)(\s+)[A-Za-z0-9\-._~+/]+=*`)
	// token=… in a query or form body.
	queryRE = regexp.MustCompile(`(?i)((?:^|[?&;\s])(?:access_token|refresh_token|id_token|client_secret|code_verifier|code|token|password|api_key|apikey|key|client_assertion|assertion)=)([^&\s"'#;]+)`)
	// "access_token": "…" in JSON.
	jsonRE = regexp.MustCompile(`(?i)("(?:access_token|refresh_token|id_token|client_secret|code_verifier|code|token|password|api_key|apikey|client_assertion|assertion)"\s*:\s*")((?:[^"\\]|\\.)*)(")`)
	// A JWT.
	jwtRE = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*`)
	// user:password@ in a URL.
	userinfoRE = regexp.MustCompile(`(://[^/\s:@]+:)[^/\s@]+@`)
)

// Redact takes the secrets out of free text: Authorization and Cookie
// header values, Bearer/Basic credentials, token-like query, form and JSON
// values (access_token, refresh_token, code, client_secret, …), JWTs and
// URL passwords.
func Redact(s string) string {
	if s == "" {
		return s
	}
	s = jsonHeaderRE.ReplaceAllString(s, "${1}"+Redacted+"${3}")
	s = schemeRE.ReplaceAllString(s, "${1}${2}"+Redacted)
	s = authRE.ReplaceAllStringFunc(s, func(m string) string {
		g := authRE.FindStringSubmatch(m)
		if g[3] == Redacted[1:len(Redacted)-1] || !looksLikeToken(g[3]) {
			return m
		}
		return g[1] + g[2] + Redacted
	})
	s = cookieRE.ReplaceAllString(s, "${1}${2}"+Redacted)
	s = queryRE.ReplaceAllString(s, "${1}"+Redacted)
	s = jsonRE.ReplaceAllString(s, "${1}"+Redacted+"${3}")
	s = jwtRE.ReplaceAllString(s, Redacted)
	s = userinfoRE.ReplaceAllString(s, "${1}"+Redacted+"@")
	return s
}

// looksLikeToken tells a credential from a word: scheme names are not
// tokens, and a token has a digit or punctuation in it, or is long.
func looksLikeToken(v string) bool {
	switch strings.ToLower(v) {
	case "bearer", "basic", "dpop", "token", "negotiate", "digest":
		return false
	}
	return len(v) >= 20 || strings.ContainsAny(v, "0123456789._~+/=-")
}

// RedactHandler wraps a handler so that no record reaches it with a
// secret: attributes named like secrets (authorization, token, cookie,
// client_secret, …) lose their value, and messages, strings, errors and
// other values are passed through Redact — and, with a Secrets set,
// through its Scrub first, so that known values go whatever their shape.
type RedactHandler struct {
	next slog.Handler
	r    redactor
}

// NewRedactHandler wraps next; it redacts secrets by their shape.
func NewRedactHandler(next slog.Handler) *RedactHandler {
	return &RedactHandler{next: next, r: redactor{patterns: true}}
}

// NewRedactHandlerWith wraps next; it scrubs the values known (known may
// be added to later) and redacts secrets by their shape.
func NewRedactHandlerWith(next slog.Handler, known *Secrets) *RedactHandler {
	return &RedactHandler{next: next, r: redactor{known: known, patterns: true}}
}

// NewScrubHandler wraps next; it only scrubs the values known, in the
// message and in every attribute (strings, errors, groups and other
// values). For a logger whose handler may not redact at all.
func NewScrubHandler(next slog.Handler, known *Secrets) *RedactHandler {
	return &RedactHandler{next: next, r: redactor{known: known}}
}

// Enabled implements slog.Handler.
func (h *RedactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (h *RedactHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, h.r.text(r.Message), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.r.attr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h *RedactHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = h.r.attr(a)
	}
	return &RedactHandler{next: h.next.WithAttrs(red), r: h.r}
}

// WithGroup implements slog.Handler.
func (h *RedactHandler) WithGroup(name string) slog.Handler {
	return &RedactHandler{next: h.next.WithGroup(name), r: h.r}
}

// redactor takes secrets out of log values: known values (Scrub), then,
// with patterns, secret-looking keys and shapes (Redact).
type redactor struct {
	known    *Secrets
	patterns bool
}

func (r redactor) text(s string) string {
	s = r.known.Scrub(s) // first: a pattern could cut a known value in two
	if r.patterns {
		s = Redact(s)
	}
	return s
}

func (r redactor) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	if r.patterns && isSecretKey(a.Key) && v.Kind() != slog.KindGroup {
		if v.Kind() == slog.KindString && v.String() == "" {
			return slog.String(a.Key, "")
		}
		return slog.String(a.Key, Redacted)
	}
	// "code" is an OAuth code when it is a string; numbers stay (JSON-RPC
	// error codes, exit codes).
	if r.patterns && strings.EqualFold(a.Key, "code") && v.Kind() == slog.KindString && v.String() != "" {
		return slog.String(a.Key, Redacted)
	}
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, r.text(v.String()))
	case slog.KindGroup:
		attrs := v.Group()
		red := make([]any, len(attrs))
		for i, g := range attrs {
			red[i] = r.attr(g)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		return slog.Any(a.Key, r.any(v.Any()))
	}
	return slog.Attr{Key: a.Key, Value: v}
}

func (r redactor) any(x any) any {
	switch x := x.(type) {
	case nil:
		return nil
	case error:
		s := x.Error()
		if t := r.text(s); t != s {
			return redactedError{msg: t, err: x}
		}
		return x
	case http.Header:
		out := make(http.Header, len(x))
		for k, vs := range x {
			if r.patterns && isSecretKey(k) {
				out[k] = []string{Redacted}
				continue
			}
			red := make([]string, len(vs))
			for i, v := range vs {
				red[i] = r.text(v)
			}
			out[k] = red
		}
		return out
	case []byte:
		return r.text(string(x))
	case fmt.Stringer:
		s := x.String()
		if t := r.text(s); t != s {
			return t
		}
		return x
	}
	s := fmt.Sprintf("%+v", x)
	if t := r.text(s); t != s {
		return t
	}
	return x
}

// redactedError shows a redacted message and still unwraps to the original,
// so handlers that inspect errors keep working.
type redactedError struct {
	msg string
	err error
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }

// MultiHandler sends every record to each of its handlers.
type MultiHandler []slog.Handler

// Enabled implements slog.Handler.
func (m MultiHandler) Enabled(ctx context.Context, l slog.Level) bool {
	for _, h := range m {
		if h.Enabled(ctx, l) {
			return true
		}
	}
	return false
}

// Handle implements slog.Handler.
func (m MultiHandler) Handle(ctx context.Context, r slog.Record) error {
	var errs []error
	for _, h := range m {
		if h.Enabled(ctx, r.Level) {
			errs = append(errs, h.Handle(ctx, r.Clone()))
		}
	}
	return errors.Join(errs...)
}

// WithAttrs implements slog.Handler.
func (m MultiHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	out := make(MultiHandler, len(m))
	for i, h := range m {
		out[i] = h.WithAttrs(attrs)
	}
	return out
}

// WithGroup implements slog.Handler.
func (m MultiHandler) WithGroup(name string) slog.Handler {
	out := make(MultiHandler, len(m))
	for i, h := range m {
		out[i] = h.WithGroup(name)
	}
	return out
}
