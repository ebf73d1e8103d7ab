#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Regenerate the fuzzer's seed corpus: one file per option form.
# File layout (see fuzz_mptcp_opt.c): byte 0 = context bits
#   0x01 TCP flags known, 0x02 SYN, 0x04 ACK, 0x08 v0, 0x10 rfc_strict
# then a TCP option area. Usage: lib/fuzz/make_corpus.sh [DIR]
set -eu
dir=${1:-$(dirname "$0")/corpus}
mkdir -p "$dir"
rm -f "$dir"/seed-*

# Context bytes
ANY=00 SYN=03 SYNACK=07 ACK=05 V0=08 STRICT=10
K1=0123456789abcdef K2=fedcba9876543210
A4=0a000102 A6=fd000000000000000000000000000002 H8=1122334455667788

seed() { # seed NAME CTX HEX...
	local name=$1 ctx=$2; shift 2
	local hex="$ctx$(printf '%s' "$@" | tr -d ' ')"
	printf '%s' "$hex" | xxd -r -p > "$dir/seed-$name"
}

seed mpc-v1-syn         $SYN    1e040181
seed mpc-v1-syn-c       $SYN    1e0401a1
seed mpc-v1-synack      $SYNACK 1e0c0181 $K2
seed mpc-v1-ack         $ACK    1e140181 $K1 $K2
seed mpc-v1-ack-data    $ACK    1e160101 $K1 $K2 05dc
seed mpc-v1-ack-csum    $ACK    1e180181 $K1 $K2 05dc beef
seed mpc-v0-syn         $SYN    1e0c0081 $K1
seed mpc-v0-synack      $SYNACK 1e0c0081 $K2
seed mpc-v0-ack         $ACK    1e140081 $K1 $K2
seed mpj-syn            $SYN    1e0c1102 a1b2c3d4 01020304
seed mpj-synack         $SYNACK 1e101002 $H8 05060708
seed mpj-ack            $ACK    1e181000 $H8 $H8 99aabbcc
seed mpj-syn-draft-prio $SYN    1e0c1b02 a1b2c3d4 01020304
seed mpj-strict         13 1e0c1102 a1b2c3d4 01020304
for flags in 00 01 03 04 05 07 0c 0d 0f 10 11 14 15 1f; do
	case $flags in
	00|10) body= ;;
	01|11) body="00001000" ;;
	03) body="0000000000001000" ;;
	04|14) body="00001000 00000001 05dc" ;;
	05|15) body="00002000 00001000 00000001 05dc" ;;
	07) body="0000000000002000 00001000 00000001 05dc" ;;
	0c) body="0000000000001000 00000001 05dc" ;;
	0d) body="00002000 0000000000001000 00000001 05dc" ;;
	0f|1f) body="0000000000002000 0000000000001000 00000001 05dc" ;;
	esac
	len=$(( 4 + $(printf '%s' "$body" | tr -d ' ' | wc -c) / 2 ))
	seed "dss-$flags" $ANY 1e"$(printf %02x $len)"20"$flags" $body
done
seed dss-map-csum       $ANY 1e10 2004 00001000 00000001 05dc abcd
seed dss-full-csum      $ANY 1e1c 200f 0000000000002000 0000000000001000 00000001 05dc abcd
seed add-addr-v4        $ANY 1e103002 $A4 $H8
seed add-addr-v4-port   $ANY 1e123002 $A4 1f90 $H8
seed add-addr-v6        $ANY 1e1c3002 $A6 $H8
seed add-addr-v6-port   $ANY 1e1e3002 $A6 1f90 $H8
seed add-addr-v4-echo   $ANY 1e083102 $A4
seed add-addr-v4-port-echo $ANY 1e0a3102 $A4 1f90
seed add-addr-v6-echo   $ANY 1e143102 $A6
seed add-addr-v6-port-echo $ANY 1e163102 $A6 1f90
seed add-addr-draft-v4       $ANY 1e113002 $A4 5b $H8
seed add-addr-draft-v4-port  $ANY 1e133002 $A4 5b 1f90 $H8
seed add-addr-draft-v6       $ANY 1e1d3002 $A6 5b $H8
seed add-addr-draft-v6-port  $ANY 1e1f3002 $A6 5b 1f90 $H8
seed add-addr-draft-v4-echo  $ANY 1e093102 $A4 5b
seed add-addr-draft-v4-port-echo $ANY 1e0b3102 $A4 5b 1f90
seed add-addr-draft-v6-echo  $ANY 1e153102 $A6 5b
seed add-addr-draft-v6-port-echo $ANY 1e173102 $A6 5b 1f90
seed add-addr-v0-v4     $V0  1e083402 $A4
seed add-addr-v0-v4-port $V0 1e0a3402 $A4 1f90
seed add-addr-v0-v6     $V0  1e143602 $A6
seed add-addr-v0-v6-port $V0 1e163602 $A6 1f90
seed rm-addr-1          $ANY 1e044002
seed rm-addr-3          $ANY 1e06400203 04
seed prio               $ANY 1e0351
seed prio-draft         $ANY 1e035d
seed prio-v0-addrid     $ANY 1e045102
seed fail               $ANY 1e0c6000 0000000000001000
seed fastclose          $ANY 1e0c7000 $K2
seed tcprst             $ANY 1e048106
seed experimental       $ANY 1e06f3 aabbcc
# Whole option areas, as tcp_options_walk sees them.
seed area-syn    $SYN    020405b4 0402 080a0000000100000000 01 030307 1e040181 00
seed area-data   $ACK    0101 080a0000000200000001 1e140181 $K1 $K2
seed area-dss    $ACK    0101 080a0000000200000001 1e08 2001 00001000 1e0351
