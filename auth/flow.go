package auth

import (
	"fmt"
	"os"
	"runtime"
)

// Sign-in flows: how a login obtains the user's consent.
const (
	// FlowBrowser opens the authorization URL in a browser on this
	// machine; the redirect comes back to the loopback listener.
	FlowBrowser = "browser"
	// FlowDevice is the device authorization grant (RFC 8628): the user
	// enters a code on a verification page, from any device, while the
	// login polls the token endpoint.
	FlowDevice = "device"
	// FlowPasteBack prints the authorization URL and takes the final
	// redirect URL pasted back (a browser on another machine cannot reach
	// the loopback listener, but its address bar holds the code).
	FlowPasteBack = "paste-back"
)

// Config.Flow values besides FlowBrowser and FlowDevice.
const (
	// FlowAuto (or "") uses the browser when there is a local one, else
	// the device grant when the server offers it, else paste-back.
	FlowAuto = "auto"
)

// Client registration methods: how the client is known to the
// authorization server.
const (
	// RegistrationPreRegistered is a client ID from the user's config.
	RegistrationPreRegistered = "pre-registered"
	// RegistrationMetadataDocument is a client ID metadata document URL
	// used as the client ID (no registration request).
	RegistrationMetadataDocument = "metadata-document"
	// RegistrationDynamic is a dynamic client registration (RFC 7591).
	RegistrationDynamic = "dynamic"
)

// ChooseFlow decides the sign-in flow: configured is Config.Flow;
// deviceEndpoint reports a device_authorization_endpoint in the
// authorization server's metadata; noBrowser that no browser can be
// opened on this machine (see LocalBrowser) or the user asked for none;
// canPaste that someone can paste a redirect URL back (a terminal). why
// says it in words for doctor and logs. An error means no flow fits.
func ChooseFlow(configured string, deviceEndpoint, noBrowser, canPaste bool) (flow, why string, err error) {
	switch configured {
	case FlowDevice:
		if !deviceEndpoint {
			return "", "", fmt.Errorf("auth: oauth.flow is %q, but the authorization server advertises no device_authorization_endpoint", FlowDevice)
		}
		return FlowDevice, "oauth.flow is \"device\"", nil
	case FlowBrowser:
		if noBrowser && canPaste {
			return FlowPasteBack, "oauth.flow is \"browser\" and no browser opens here: the redirect URL is pasted back", nil
		}
		return FlowBrowser, "oauth.flow is \"browser\"", nil
	case "", FlowAuto:
	default:
		return "", "", fmt.Errorf("auth: unknown oauth.flow %q (want auto, browser or device)", configured)
	}
	switch {
	case !noBrowser:
		return FlowBrowser, "a browser can be opened on this machine", nil
	case deviceEndpoint:
		return FlowDevice, "no browser opens here and the authorization server offers the device grant (RFC 8628)", nil
	case canPaste:
		return FlowPasteBack, "no browser opens here and the authorization server offers no device grant: the redirect URL is pasted back", nil
	}
	return FlowBrowser, "no browser opens here and the authorization server offers no device grant: open the printed URL on this machine, or sign in from a terminal, which can take the redirect URL pasted back", nil
}

// ChooseRegistration decides how the client is known to the authorization
// server: clientID and metadataURL come from the config; cimdSupported
// reports client_id_metadata_document_supported in the server's metadata,
// registrationEndpoint a registration_endpoint. An error means none fits.
func ChooseRegistration(clientID, metadataURL string, cimdSupported, registrationEndpoint bool) (method, why string, err error) {
	switch {
	case clientID != "":
		return RegistrationPreRegistered, "oauth.clientId is set", nil
	case metadataURL != "" && cimdSupported:
		return RegistrationMetadataDocument, "clientMetadataUrl is set and the authorization server supports client ID metadata documents", nil
	case registrationEndpoint:
		why := "the authorization server offers dynamic client registration"
		switch {
		case metadataURL != "":
			why += "; clientMetadataUrl is set, but the server does not advertise client_id_metadata_document_supported"
		case cimdSupported:
			why += "; it also supports client ID metadata documents: set clientMetadataUrl to use one"
		}
		return RegistrationDynamic, why, nil
	}
	if metadataURL != "" {
		return "", "", fmt.Errorf("auth: the authorization server supports neither client ID metadata documents nor dynamic client registration: configure a client ID (oauth.clientId) registered with it")
	}
	return "", "", fmt.Errorf("auth: the authorization server does not support dynamic client registration: configure a client ID (oauth.clientId) registered with it%s", cimdHint(cimdSupported))
}

func cimdHint(supported bool) string {
	if supported {
		return ", or a client ID metadata document (clientMetadataUrl)"
	}
	return ""
}

// LocalBrowser reports whether a browser can be opened on this machine:
// $BROWSER is set, or a graphical session is there (DISPLAY or
// WAYLAND_DISPLAY on Linux and BSD; on macOS and Windows, any session that
// is not an SSH login).
func LocalBrowser() bool {
	if os.Getenv("BROWSER") != "" {
		return true
	}
	switch runtime.GOOS {
	case "darwin", "windows":
		return os.Getenv("SSH_CONNECTION") == "" && os.Getenv("SSH_TTY") == ""
	}
	return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
}
