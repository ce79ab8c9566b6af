#!/usr/bin/env bash
# chromium: make sure Debian's chromium is installed for the browser test of
# the chat page (server/web, make browser-check), and record its version.
#
#   1. chromium already on PATH (or $NANOCHAT_CHROMIUM): nothing to install;
#   2. otherwise, as root (or through sudo): apt-get update, then
#      apt-get install chromium=$CHROMIUM_VERSION, the version this script was
#      last checked with. Debian's security archive keeps only the newest
#      build of a package, so when that exact version is gone the current
#      candidate is installed instead and the script says so, naming both
#      (update CHROMIUM_VERSION below to the one it names);
#   3. prints "chromium.sh: <path>: <chromium --version>", and writes the same
#      line to ~/.cache/nanochat/chromium-version.
#
# The test itself records the browser's version again in its output (the
# DevTools protocol's Browser.getVersion).
set -euo pipefail

CHROMIUM_VERSION=${CHROMIUM_VERSION:-156.0.8078.129-1~deb12u1}

bin=${NANOCHAT_CHROMIUM:-}
if [ -z "$bin" ]; then
	bin=$(command -v chromium || true)
fi
if [ -z "$bin" ]; then
	sudo=
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null || { echo "chromium.sh: chromium is not installed and installing it needs root (apt-get install chromium)" >&2; exit 1; }
		sudo=sudo
	fi
	echo "chromium.sh: installing Debian's chromium (apt-get)" >&2
	$sudo apt-get update -qq
	want=chromium=$CHROMIUM_VERSION
	if ! apt-cache madison chromium | awk '{print $3}' | grep -qxF "$CHROMIUM_VERSION"; then
		have=$(apt-cache policy chromium | awk '/Candidate:/ {print $2}')
		if [ -z "$have" ] || [ "$have" = "(none)" ]; then
			echo "chromium.sh: no chromium package in the apt sources" >&2
			exit 1
		fi
		echo "chromium.sh: chromium $CHROMIUM_VERSION is no longer in the archive; installing the candidate $have (set CHROMIUM_VERSION in scripts/chromium.sh to it)" >&2
		want=chromium=$have
	fi
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$want" fonts-dejavu-core >/dev/null
	bin=$(command -v chromium)
fi

version=$("$bin" --version 2>/dev/null | head -n1)
line="chromium.sh: $bin: $version"
echo "$line"
mkdir -p "$HOME/.cache/nanochat"
echo "$line" >"$HOME/.cache/nanochat/chromium-version"
