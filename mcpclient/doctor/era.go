package doctor

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/mcptray/mcptray/mcpclient"
	"github.com/mcptray/mcptray/mcpclient/config"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// discover probes the server's protocol era as the hub does: a
// 2026-07-28 server/discover first. A modern answer is the server's
// initialize finding (done); a legacy one leaves initialize to run. Either
// way an "era" finding says what was sent, what answered and what mcptray
// chose, and why.
func (s *serverCheck) discover(ctx context.Context) (Finding, bool) {
	f := func(st Status, sum, fix string) Finding {
		return Finding{Server: s.name, Check: CheckInitialize, Status: st, Summary: sum, Fix: fix}
	}
	pin := s.sc.ProtocolVersion
	if s.sc.Transport == config.TransportSSE || (pin != "" && !config.IsModernVersion(pin)) {
		why := `"transport": "sse"`
		if pin != "" {
			why = "protocolVersion " + pin
		}
		s.add(CheckEra, Info, "legacy era: the config pins "+why+", so mcptray opens sessions with initialize and does not probe", "")
		return Finding{}, false
	}
	version := config.ModernProtocolVersions[0]
	if pin != "" {
		version = pin
	}
	// The hub starts initialize beside a probe that has not been
	// answered in a quarter of its connect timeout; doctor gives the
	// probe half its own step timeout, then goes on to initialize too.
	wait := s.opts.Timeout / 2
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	sent := "POST server/discover (MCP " + version + ")"
	for attempt := 0; attempt < 2; attempt++ {
		body, _ := json.Marshal(map[string]any{
			"jsonrpc": "2.0", "id": 1, "method": "server/discover",
			"params": map[string]any{"_meta": map[string]any{
				"io.modelcontextprotocol/protocolVersion":    version,
				"io.modelcontextprotocol/clientCapabilities": map[string]any{},
				"io.modelcontextprotocol/clientInfo":         map[string]any{"name": "mcptray-doctor", "version": mcpclient.Version},
			}},
		})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.u.String(), bytes.NewReader(body))
		s.setHeaders(req)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("MCP-Protocol-Version", version)
		req.Header.Set("Mcp-Method", "server/discover")
		resp, err := s.client.Do(req)
		if err != nil && errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
			s.add(CheckEra, Warn, fmt.Sprintf("%s was not answered within %s: a legacy server that ignores a request without a session, or a slow one; the hub then tries initialize beside it, and so does doctor", sent, wait), "")
			return Finding{}, false
		}
		if err != nil {
			s.add(CheckEra, Warn, sent+" failed: "+describeErr(err), "see the checks above")
			return f(Fail, "server/discover failed: "+describeErr(err), "see the checks above; then `mcptray reconnect "+s.name+"`"), true
		}
		if resp.StatusCode == http.StatusUnauthorized {
			defer resp.Body.Close()
			s.add(CheckEra, Info, sent+" answered 401: the era shows once signed in", "")
			return s.unauthorized(f, resp), true
		}
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 {
			defer resp.Body.Close()
			sum := sent + " answered " + resp.Status + bodyHint(resp)
			s.add(CheckEra, Warn, sum, "")
			return f(Fail, sum, "the server (or a proxy) is failing; the hub backs off and retries on its own; try again later"), true
		}
		var msg struct {
			Result *struct {
				SupportedVersions []string                   `json:"supportedVersions"`
				Capabilities      map[string]json.RawMessage `json:"capabilities"`
				Meta              map[string]struct {
					Name, Version string
				} `json:"_meta"`
			} `json:"result"`
			Error *struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
				Data    struct {
					Supported []string `json:"supported"`
				} `json:"data"`
			} `json:"error"`
		}
		b, _ := readLimited(resp.Body, 1<<20)
		resp.Body.Close()
		if i := bytes.Index(b, []byte("data:")); i >= 0 && !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
			// An event stream: the answer is the first data line.
			line := b[i+5:]
			if j := bytes.IndexByte(line, '\n'); j >= 0 {
				line = line[:j]
			}
			b = bytes.TrimSpace(line)
		}
		perr := json.Unmarshal(b, &msg)
		answer := fmt.Sprintf("HTTP %d", resp.StatusCode)
		if t := strings.Join(strings.Fields(string(b)), " "); t != "" {
			answer += ": " + shorten(t, 160)
		}
		switch {
		case perr == nil && msg.Result != nil && msg.Result.SupportedVersions != nil:
			r := msg.Result
			use := version
			if !slices.Contains(r.SupportedVersions, version) {
				use = ""
				for _, v := range config.ModernProtocolVersions {
					if slices.Contains(r.SupportedVersions, v) {
						use = v
						break
					}
				}
			}
			if use == "" {
				s.add(CheckEra, Info, fmt.Sprintf("legacy era: %s answered supportedVersions %v, with no 2026-07-28 version mcptray speaks; mcptray uses initialize", sent, r.SupportedVersions), "")
				return Finding{}, false
			}
			s.add(CheckEra, OK, fmt.Sprintf("modern era (MCP %s): %s answered a DiscoverResult, supportedVersions %v", use, sent, r.SupportedVersions), "")
			caps := make([]string, 0, len(r.Capabilities))
			for k := range r.Capabilities {
				caps = append(caps, k)
			}
			sort.Strings(caps)
			si := r.Meta["io.modelcontextprotocol/serverInfo"]
			name := strings.TrimSpace(si.Name + " " + si.Version)
			if name == "" {
				name = "the server"
			}
			return f(OK, fmt.Sprintf("%s answered server/discover over Streamable HTTP, protocol %s (modern), capabilities: %s", name, use, strings.Join(caps, ", ")), ""), true
		case perr == nil && msg.Error != nil && msg.Error.Code == jsonrpc.CodeUnsupportedProtocolVersion:
			next := ""
			for _, v := range config.ModernProtocolVersions {
				if slices.Contains(msg.Error.Data.Supported, v) && v != version {
					next = v
				}
			}
			if next != "" && attempt == 0 && pin == "" {
				sent = "POST server/discover (MCP " + next + ")"
				version = next
				continue
			}
			if pin != "" {
				s.add(CheckEra, Warn, fmt.Sprintf("%s answered %s", sent, answer), "")
				return f(Fail, fmt.Sprintf("the server does not speak the pinned protocolVersion %s; it supports %v", pin, msg.Error.Data.Supported), "remove protocolVersion from this server's config, or pin one it supports"), true
			}
			s.add(CheckEra, Info, fmt.Sprintf("legacy era: %s answered UnsupportedProtocolVersion naming only %v; mcptray uses initialize", sent, msg.Error.Data.Supported), "")
			return Finding{}, false
		case perr == nil && msg.Error != nil && jsonrpc.IsModernError(msg.Error.Code):
			s.add(CheckEra, Warn, fmt.Sprintf("modern era: %s answered %s", sent, answer), "")
			return f(Fail, fmt.Sprintf("the server refused server/discover: %d %s", msg.Error.Code, msg.Error.Message), "report it to the server's operator (or to mcptray: it may send a header wrong)"), true
		}
		if pin != "" {
			s.add(CheckEra, Warn, fmt.Sprintf("%s answered %s, which is not a 2026-07-28 answer", sent, answer), "")
			return f(Fail, "the server does not speak the pinned protocolVersion "+pin, "remove protocolVersion from this server's config (mcptray then finds the era itself)"), true
		}
		s.add(CheckEra, Info, fmt.Sprintf("legacy era: %s answered %s, not a 2026-07-28 answer; mcptray uses initialize", sent, answer), "")
		return Finding{}, false
	}
	return Finding{}, false
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
