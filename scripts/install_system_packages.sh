#!/usr/bin/env bash
# Install the Debian packages named on the command line that are not installed yet.
#
#   scripts/install_system_packages.sh [PKG...]
#
# Only missing packages are installed, so the common case (all present) costs no apt-get update.
# As a normal user nothing is installed: the script says what is missing and leaves it to you
# (tests that need a package skip or fail with their own message). It prints what it did either way.
set -euo pipefail

log() { echo "install_system_packages: $*"; }

if [ "$#" -eq 0 ]; then
    log "no system packages requested"
    exit 0
fi

if ! command -v dpkg >/dev/null 2>&1; then
    log "no dpkg here (not Debian?): install these yourself if missing: $*"
    exit 0
fi

missing=()
for pkg in "$@"; do
    # 'dpkg -s' also succeeds for removed packages whose config files remain, so read the status.
    if dpkg -s "$pkg" 2>/dev/null | grep -q '^Status: install ok installed$'; then
        log "$pkg: already installed"
    else
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    log "not root, installing nothing; missing: ${missing[*]} (sudo apt-get install -y ${missing[*]})"
    exit 0
fi

export DEBIAN_FRONTEND=noninteractive
log "installing: ${missing[*]}"
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
log "installed: ${missing[*]}"
