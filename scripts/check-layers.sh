#!/bin/sh
# check-layers.sh - the rooms of user/ and who may include whom (make lint).
#
# Each folder of user/ is a room with one door: the header named after it (lib/lib.h,
# config/config.h, ...). A file includes its own room's headers by name and another
# room's only through its door, and only from a room below it:
#
#   lib  <  config  <  state  <  datapath, cluster, mitigation  <  reload  <  view  <  daemon, cli
#
# so there is no circle between rooms and no lower layer includes a higher one; config
# includes neither libbpf nor SQLite (it never reaches the maps or the state database).
# One pair more is forbidden though below: datapath never includes state (the sync does
# no database I/O; the reload path reads the database and passes what the sync needs).
# Exit 1 with one line per offending #include.
set -eu
cd "$(dirname "$0")/.."

rank() {
	case "$1" in
	lib) echo 0 ;;
	config) echo 1 ;;
	state) echo 2 ;;
	datapath | cluster | mitigation) echo 3 ;;
	reload) echo 4 ;;
	view) echo 5 ;;
	daemon | cli) echo 6 ;;
	*) echo -1 ;;
	esac
}

bad=0
for f in user/*/*.c user/*/*.h; do
	room=${f#user/}
	room=${room%%/*}
	r=$(rank "$room")
	if [ "$r" -lt 0 ]; then
		echo "$f: room '$room' is not in scripts/check-layers.sh's list" >&2
		bad=1
		continue
	fi
	grep -n '^#include "[^"]*"' "$f" | while IFS= read -r line; do
		n=${line%%:*}
		h=$(printf '%s\n' "$line" | sed 's/^[0-9]*:#include "\([^"]*\)".*/\1/')
		case "$h" in
		*/*)
			to=${h%%/*}
			door="$to/$to.h"
			[ "$to" = "$room" ] && { echo "$f:$n: $h: include a header of its own room by name" >&2; exit 1; }
			t=$(rank "$to")
			if [ "$t" -lt 0 ]; then
				continue # a generated header (bench/..., build dir)
			fi
			[ "$h" = "$door" ] || { echo "$f:$n: $h: another room is entered by its door, $door" >&2; exit 1; }
			[ "$t" -lt "$r" ] || { echo "$f:$n: $h: $room may not include $to (a room at its level or above)" >&2; exit 1; }
			case "$room>$to" in
			"datapath>state") echo "$f:$n: $h: datapath may not include state (the reload path owns the database)" >&2; exit 1 ;;
			esac
			;;
		*)
			[ -f "user/$room/$h" ] || [ -f "headers/$h" ] || [ -f "build/$h" ] ||
				case "$h" in *.skel.h | page.h) ;; *) echo "$f:$n: $h: not in user/$room/ nor headers/" >&2; exit 1 ;; esac
			;;
		esac
	done || bad=1
done
# config reads files and nothing else: never the data plane's maps nor the state database
for f in user/config/*.c user/config/*.h; do
	if grep -n '^#include <\(bpf/\|sqlite3\.h\|linux/bpf\.h\)' "$f" >&2; then
		echo "$f: config may not reach the data plane (libbpf) or the state database (SQLite)" >&2
		bad=1
	fi
done
[ "$bad" -eq 0 ] && echo "layers: user/ rooms include only through doors, downwards"
exit "$bad"
