package mcpclient

import (
	"github.com/mcptray/mcptray/mcpclient/ipc"
	"github.com/mcptray/mcptray/mcpclient/jsonrpc"
)

// CallError is the error response that Hub.Call got for its request: the
// JSON-RPC code and message an IDE would have got, either the server's own
// or one of mcptray's (jsonrpc.CodeNeedsLogin, jsonrpc.CodeServerDisabled,
// …). Over the control socket the same code travels in ipc.Reply.Code, and clients get
// an *ipc.Error. Classify either with ipc.ErrorCode or the Is… helpers,
// never by the message's words.
type CallError struct {
	Code    int
	Message string
	// SigningIn (with jsonrpc.CodeNeedsLogin): when the error was made, a sign-in
	// for the server was under way, one that the hub started itself (it
	// opened a browser window) or that the user started. Waiting for it
	// is what the message asks; starting another is not needed.
	SigningIn bool
}

func (e *CallError) Error() string { return e.Message }

// ErrorCode returns the JSON-RPC error code (see ipc.ErrorCode).
func (e *CallError) ErrorCode() int { return e.Code }

// IsNeedsLogin reports an error that says the server needs a sign-in
// first (jsonrpc.CodeNeedsLogin), from Hub.Call or the control API.
func IsNeedsLogin(err error) bool { return ipc.ErrorCode(err) == jsonrpc.CodeNeedsLogin }

// IsServerDisabled reports an error that says the server is disabled in
// the config or cannot connect for good (jsonrpc.CodeServerDisabled).
func IsServerDisabled(err error) bool { return ipc.ErrorCode(err) == jsonrpc.CodeServerDisabled }

// IsUpstreamUnavailable reports an error that says the server could not be
// reached in time; mcptray keeps retrying (jsonrpc.CodeUpstreamUnavailable).
func IsUpstreamUnavailable(err error) bool {
	return ipc.ErrorCode(err) == jsonrpc.CodeUpstreamUnavailable
}

// IsLostInFlight reports an error that says the connection broke while a
// tools/call ran, which may or may not have completed (jsonrpc.CodeLostInFlight).
func IsLostInFlight(err error) bool { return ipc.ErrorCode(err) == jsonrpc.CodeLostInFlight }
