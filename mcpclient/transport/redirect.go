package transport

import (
	"fmt"
	"net/http"
)

// KeepMethod is the upstream clients' redirect policy: a POST (or DELETE)
// stays one, with its body, whatever the status. Go's client, as browsers
// do, turns them into body-less GETs on 301, 302 and 303, which an MCP
// endpoint answers with an event stream or an error; yet an endpoint that
// moved (http:// to https://, a trailing slash, a new path) usually says so
// with 301 or 302. Headers Go dropped with the body come back; those it
// withholds from another host (Authorization, Cookie) stay withheld.
func KeepMethod(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return fmt.Errorf("stopped after %d redirects (last to %s)", len(via), req.URL.Redacted())
	}
	orig := via[0]
	if req.Method == orig.Method {
		return nil
	}
	req.Method = orig.Method
	if orig.GetBody != nil {
		body, err := orig.GetBody()
		if err != nil {
			return err
		}
		req.Body, req.GetBody, req.ContentLength = body, orig.GetBody, orig.ContentLength
	}
	for _, k := range []string{"Content-Type", "Content-Length", "Content-Encoding"} {
		if v := orig.Header.Values(k); len(v) > 0 && req.Header.Get(k) == "" {
			req.Header[k] = v
		}
	}
	return nil
}
