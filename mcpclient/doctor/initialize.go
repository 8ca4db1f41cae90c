package doctor

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/config"
)

// rpcResponse is a JSON-RPC response.
type rpcResponse struct {
	ID     json.RawMessage `json:"id"`
	Result *struct {
		ProtocolVersion string                         `json:"protocolVersion"`
		ServerInfo      struct{ Name, Version string } `json:"serverInfo"`
		Capabilities    map[string]json.RawMessage     `json:"capabilities"`
	} `json:"result"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func (s *serverCheck) initBody() []byte {
	b, _ := json.Marshal(map[string]any{
		"jsonrpc": "2.0", "id": 1, "method": "initialize",
		"params": map[string]any{
			"protocolVersion": s.protocolVersion(),
			"capabilities":    map[string]any{},
			"clientInfo":      map[string]any{"name": "mcptray-doctor", "version": mcpclient.Version},
		},
	})
	return b
}

// initialize performs one MCP initialize over the server's transport
// (Streamable HTTP; legacy SSE for "sse", and as auto's fallback) and
// returns its finding.
func (s *serverCheck) initialize(ctx context.Context) Finding {
	f := func(st Status, sum, fix string) Finding {
		return Finding{Server: s.name, Check: CheckInitialize, Status: st, Summary: sum, Fix: fix}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*s.opts.Timeout)
	defer cancel()
	if s.sc.Transport == config.TransportSSE {
		return s.legacyInitialize(ctx, f, "")
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.u.String(), bytes.NewReader(s.initBody()))
	s.setHeaders(req)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := s.client.Do(req)
	if err != nil {
		return f(Fail, "initialize failed: "+describeErr(err), "see the checks above; then `mcptray reconnect "+s.name+"`")
	}
	defer resp.Body.Close()
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		msg, err := readRPC(resp)
		if err != nil {
			return f(Fail, "the answer to initialize is not MCP: "+err.Error(), "check that the url is the server's MCP endpoint (often …/mcp)")
		}
		if sid := resp.Header.Get("Mcp-Session-Id"); sid != "" {
			s.endSession(sid)
		}
		return s.initResult(f, msg, "Streamable HTTP")
	case code == http.StatusUnauthorized:
		return s.unauthorized(f, resp)
	case code == http.StatusForbidden:
		sum := "initialize was refused: 403 Forbidden"
		fix := "the credentials are valid but lack access to this server: check the account or token's permissions"
		if strings.Contains(resp.Header.Get("WWW-Authenticate"), "insufficient_scope") {
			fix = "the token lacks a scope the server needs: sign in again so mcptray asks for it"
		}
		return f(Fail, sum, fix)
	case (code == http.StatusNotFound || code == http.StatusMethodNotAllowed) && s.sc.Transport != config.TransportStreamable:
		// auto: a legacy SSE server answers the POST with 404/405.
		return s.legacyInitialize(ctx, f, fmt.Sprintf("POST answered %s, so ", resp.Status))
	case code == http.StatusNotFound || code == http.StatusMethodNotAllowed:
		return f(Fail, fmt.Sprintf("no Streamable HTTP endpoint at this url (POST answered %s)", resp.Status),
			`check the path (often …/mcp); for a legacy SSE endpoint (…/sse) set "transport": "sse" or "auto"`)
	case code == http.StatusTooManyRequests || code >= 500:
		return f(Fail, "initialize got "+resp.Status+bodyHint(resp),
			"the server (or a proxy) is failing; the hub backs off and retries on its own; try again later")
	default:
		return f(Fail, "initialize got "+resp.Status+bodyHint(resp), "check the url and headers in the config")
	}
}

func (s *serverCheck) setHeaders(req *http.Request) {
	for k, v := range s.headers {
		req.Header[k] = v
	}
}

func bodyHint(resp *http.Response) string {
	b, _ := readLimited(resp.Body, 300)
	t := strings.Join(strings.Fields(string(b)), " ")
	if t == "" {
		return ""
	}
	if len(t) > 160 {
		t = t[:160] + "…"
	}
	return ": " + t
}

// unauthorized turns a 401 into "needs login" or "broken", depending on
// whether the server publishes OAuth metadata (checked afterwards).
func (s *serverCheck) unauthorized(f func(Status, string, string) Finding, resp *http.Response) Finding {
	s.got401 = true
	if ch := resp.Header.Get("WWW-Authenticate"); ch != "" {
		s.challenge = ch
	}
	if len(s.headers.Values("Authorization")) > 0 {
		return f(Fail, "the server rejects the Authorization header from the config (401)",
			"the token is wrong or expired: update it (or the variable it comes from)")
	}
	s.needLogin = true
	return f(Warn, "the server needs a login (401 Unauthorized)",
		"sign in from the tray menu or with `mcptray login "+s.name+"`; see the OAuth checks above")
}

func (s *serverCheck) initResult(f func(Status, string, string) Finding, msg *rpcResponse, transport string) Finding {
	if msg.Error != nil {
		return f(Fail, fmt.Sprintf("the server refused initialize: %d %s", msg.Error.Code, msg.Error.Message),
			"if it names the protocol version, set protocolVersion for this server (e.g. 2025-06-18)")
	}
	if msg.Result == nil {
		return f(Fail, "initialize returned neither a result nor an error", "report it to the server's operator")
	}
	r := msg.Result
	caps := make([]string, 0, len(r.Capabilities))
	for k := range r.Capabilities {
		caps = append(caps, k)
	}
	sort.Strings(caps)
	name := strings.TrimSpace(r.ServerInfo.Name + " " + r.ServerInfo.Version)
	if name == "" {
		name = "the server"
	}
	sum := fmt.Sprintf("%s answered over %s, protocol %s, capabilities: %s", name, transport, r.ProtocolVersion, strings.Join(caps, ", "))
	if r.ProtocolVersion != "" && r.ProtocolVersion != s.protocolVersion() {
		return f(Info, sum, fmt.Sprintf("the server chose protocol %s instead of %s; mcptray adapts", r.ProtocolVersion, s.protocolVersion()))
	}
	return f(OK, sum, "")
}

// endSession closes the session initialize opened, as a polite client does.
func (s *serverCheck) endSession(sid string) {
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Timeout)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodDelete, s.u.String(), nil)
	s.setHeaders(req)
	req.Header.Set("Mcp-Session-Id", sid)
	req.Header.Set("MCP-Protocol-Version", s.protocolVersion())
	if resp, err := s.client.Do(req); err == nil {
		resp.Body.Close()
	}
}

// readRPC reads the JSON-RPC answer with id 1 from a JSON or SSE body.
func readRPC(resp *http.Response) (*rpcResponse, error) {
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		b, err := readLimited(resp.Body, 4<<20)
		if err != nil {
			return nil, err
		}
		var msg rpcResponse
		if err := json.Unmarshal(b, &msg); err != nil {
			return nil, fmt.Errorf("invalid JSON: %v", err)
		}
		return &msg, nil
	case "text/event-stream":
		sr := newSSEReader(resp.Body)
		for {
			ev, data, err := sr.next()
			if err != nil {
				return nil, fmt.Errorf("the event stream ended before the answer: %v", err)
			}
			if msg, ok := rpcAnswer(ev, data); ok {
				return msg, nil
			}
		}
	}
	return nil, fmt.Errorf("Content-Type %q (want application/json or text/event-stream)", ct)
}

// rpcAnswer reports whether an SSE event is the answer to request 1.
func rpcAnswer(event, data string) (*rpcResponse, bool) {
	if event != "" && event != "message" {
		return nil, false
	}
	var msg rpcResponse
	if json.Unmarshal([]byte(data), &msg) != nil || string(bytes.TrimSpace(msg.ID)) != "1" {
		return nil, false
	}
	return &msg, true
}

// legacyInitialize speaks the 2024-11-05 HTTP+SSE transport: open the
// stream, take the endpoint event, POST initialize there, and read the
// answer from the stream.
func (s *serverCheck) legacyInitialize(ctx context.Context, f func(Status, string, string) Finding, prefix string) Finding {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.u.String(), nil)
	s.setHeaders(req)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := s.client.Do(req)
	if err != nil {
		return f(Fail, prefix+"opening the SSE stream failed: "+describeErr(err), "see the checks above")
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		return s.unauthorized(f, resp)
	}
	ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if resp.StatusCode != http.StatusOK || ct != "text/event-stream" {
		return f(Fail, fmt.Sprintf("%sno MCP endpoint at this url: GET answered %s (%s)", prefix, resp.Status, ct),
			"check the path: Streamable HTTP endpoints usually end in /mcp, legacy SSE ones in /sse")
	}
	sr := newSSEReader(resp.Body)
	ev, data, err := sr.next()
	if err != nil || ev != "endpoint" {
		return f(Fail, prefix+"the SSE stream did not start with an endpoint event", "this is not a legacy MCP SSE endpoint: check the url")
	}
	ep, err := s.u.Parse(strings.TrimSpace(data))
	if err != nil {
		return f(Fail, prefix+"the endpoint event is not a URL: "+err.Error(), "report it to the server's operator")
	}
	if !sameOrigin(ep, s.u) {
		return f(Fail, prefix+"the endpoint event points at another origin ("+ep.Host+")", "mcptray refuses that for safety: report it to the server's operator")
	}
	post, _ := http.NewRequestWithContext(ctx, http.MethodPost, ep.String(), bytes.NewReader(s.initBody()))
	s.setHeaders(post)
	post.Header.Set("Content-Type", "application/json")
	presp, err := s.client.Do(post)
	if err != nil {
		return f(Fail, prefix+"posting initialize failed: "+describeErr(err), "see the checks above")
	}
	io.Copy(io.Discard, io.LimitReader(presp.Body, 1<<20))
	presp.Body.Close()
	if presp.StatusCode/100 != 2 {
		return f(Fail, prefix+"posting initialize got "+presp.Status, "check the headers in the config")
	}
	for {
		ev, data, err := sr.next()
		if err != nil {
			return f(Fail, prefix+"no answer to initialize on the SSE stream: "+describeErr(err), "report it to the server's operator")
		}
		if msg, ok := rpcAnswer(ev, data); ok {
			return s.initResult(f, msg, "legacy SSE")
		}
	}
}

func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Host, b.Host)
}

// sseReader reads server-sent events.
type sseReader struct{ br *bufio.Reader }

func newSSEReader(r io.Reader) *sseReader { return &sseReader{br: bufio.NewReaderSize(r, 64<<10)} }

// next returns the next event's type and data.
func (r *sseReader) next() (event, data string, err error) {
	var lines []string
	size := 0
	for {
		line, err := r.br.ReadString('\n')
		size += len(line)
		if size > 4<<20 {
			return "", "", errors.New("event larger than 4 MiB")
		}
		if err != nil && line == "" {
			return "", "", err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			if len(lines) > 0 || event != "" {
				return event, strings.Join(lines, "\n"), nil
			}
			continue
		}
		k, v, _ := strings.Cut(line, ":")
		v = strings.TrimPrefix(v, " ")
		switch k {
		case "event":
			event = v
		case "data":
			lines = append(lines, v)
		}
		if err != nil {
			return event, strings.Join(lines, "\n"), nil
		}
	}
}
