#!/usr/bin/env bash
# bench/convert.sh — the 0-RTT TCP Convert benchmarks of issue 6, run with
# the shared machinery (bench/lib.sh: bench_hatun_convert):
#
#   1. ttfb         time to first response byte of a small HTTP request with
#                   20 ms client-converter and 20 ms converter-server one-way
#                   delays: direct TCP, hatun Convert, dante SOCKS5,
#                   shadowsocks-libev (bench/ttfb.sh --only ...);
#   2. relay        bulk throughput and CPU s/GiB through the converter on one
#                   unshaped path, against direct TCP on the same veth, and
#                   beside it the other relays on the same path (kernel
#                   MPTCP end to end, dante SOCKS5, shadowsocks-libev):
#                   what relaying itself costs on this machine
#                   (bench/throughput.sh --only direct,mptcp,dante,
#                   shadowsocks,hatun_convert);
#   3. aggregation  two 50 Mbit/s access links, one TCP flow from an
#                   unmodified application (iperf3 through -L) over the
#                   converter with an MPTCP subflow on each link, against
#                   one link alone (direct) and kernel MPTCP end to end
#                   (bench/throughput.sh --rate 50 --only direct,mptcp,
#                   hatun_convert with BENCH_CONVERT_SUBFLOW=1).
#
# usage: bench/convert.sh [--only ttfb,relay,aggregation] [--count N]
#                         [--seconds S]
#   --count N    TTFB requests per alternative (default 20)
#   --seconds S  iperf3 duration (default $BENCH_SECONDS or 10)
# env: HATUN_BUILD_DIR (Release build recommended), BENCH_SECONDS.
# Prints each part's markdown table on stdout.  Speed numbers mean
# something only on an otherwise idle machine.
set -u
SRC=$(cd "$(dirname "$0")/.." && pwd)
PARTS=ttfb,relay,aggregation
COUNT=20
SECONDS_ARG=()
while [ $# -gt 0 ]; do
	case $1 in
	--only) PARTS=$2; shift 2 ;;
	--count) COUNT=$2; shift 2 ;;
	--seconds) SECONDS_ARG=(--seconds "$2"); shift 2 ;;
	-h | --help) sed -n '2,30p' "$0"; exit 0 ;;
	*) echo "convert.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
rc=0
case ,$PARTS, in *,ttfb,*)
	echo "## Convert: time to first byte (20 ms / 20 ms)"
	bash "$SRC/bench/ttfb.sh" --count "$COUNT" --only direct,hatun_convert,dante,shadowsocks || rc=1
	;;
esac
case ,$PARTS, in *,relay,*)
	echo "## Convert: relay cost (one unshaped path)"
	bash "$SRC/bench/throughput.sh" "${SECONDS_ARG[@]}" --only direct,mptcp,dante,shadowsocks,hatun_convert || rc=1
	;;
esac
case ,$PARTS, in *,aggregation,*)
	echo "## Convert: aggregation (2 x 50 Mbit/s)"
	BENCH_CONVERT_SUBFLOW=1 bash "$SRC/bench/throughput.sh" "${SECONDS_ARG[@]}" --rate 50 \
		--only direct,mptcp,hatun_convert || rc=1
	;;
esac
exit "$rc"
