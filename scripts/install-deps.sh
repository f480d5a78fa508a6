#!/usr/bin/env bash
# Install every Debian package hatun's build, tests, benchmarks and demo need.
# Idempotent: packages already present are skipped without touching apt.
#   --bench  also the alternatives bench/ compares hatun with (wireguard-go,
#            OpenVPN, shadowsocks-libev, dante, proxychains4, mptcpize)
# Debian 12 (bookworm); run as root.  Nothing is fetched from anywhere but
# the configured Debian mirrors.
set -euo pipefail

PACKAGES=(
	# build
	build-essential cmake pkg-config clang libclang-rt-14-dev
	# libraries
	libngtcp2-dev libngtcp2-crypto-gnutls-dev libgnutls28-dev nettle-dev
	zlib1g-dev libcmocka-dev libmnl-dev
	# testbed: namespaces, shaping, NAT, real peers
	iproute2 nftables iputils-ping iperf3 socat curl ethtool procps psmisc
	python3 gnutls-bin arping
	# Convert (issue 6): MPTCP servers (mptcpize), the SYN capture (tcpdump)
	mptcpize tcpdump
	# lint
	shellcheck
)

if [ "${1:-}" = --bench ]; then
	PACKAGES+=(wireguard-go wireguard-tools openvpn shadowsocks-libev dante-server
		proxychains4 mptcpize openssl)
fi

missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#PACKAGES[@]} packages present"
	exit 0
fi
if [ "$(id -u)" != 0 ]; then
	echo "install-deps: missing packages (run as root to install): ${missing[*]}" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The benchmark alternatives ship system services; bench/ starts its own
# instances inside namespaces, so never leave the packaged ones running.
if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
	for unit in shadowsocks-libev openvpn danted; do
		systemctl disable --now "$unit" >/dev/null 2>&1 || true
	done
fi
echo "install-deps: done"
