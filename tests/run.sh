#!/usr/bin/env bash
#
# run.sh - run every Tollgate test suite in order (`make test` calls it after the build):
#   build/tests/test_config        config and CSV parsing, units (userspace)
#   build/tests/test_rules         enforcement rules: parsing, metrics, the state machine
#   build/tests/test_lists         the lists (reasons, flood classes, roles, modes, states,
#                                  maps) agree with every table, parser and metric made of them
#   build/tests/test_notify        the notification outbox: exec hook and webhook on loopback
#   build/tests/test_hardening     escaped free text, control socket and state.db permissions
#   build/tests/test_evid          event ids: unique, time-ordered, never reused (restart,
#                                  lost rows, restore, two nodes)
#   build/tests/test_whois         who held an address: the prefix -> customer history,
#                                  longest prefix at a time, IPv6, boundaries, retention
#   build/tests/test_capture       evidence samples in state.db: the pcap byte for byte,
#                                  the day's count, the purge with the audit log
#   build/tests/test_etcd          the etcd v3 client against a real etcd on loopback
#   build/tests/test_mitigation    BGP announcements: policy, keys, and gobgpd peering with
#                                  FRR in two namespaces (blackhole, FlowSpec, reconcile)
#   build/tests/test_alert         the Alertmanager webhook's checks: 400s, queued, ignored
#   build/tests/test_quota         volume quotas: period arithmetic (month ends, day 31,
#                                  weeks), config errors, accounting across counter resets,
#                                  clock steps and restarts; rule exemptions
#   tests/fuzz/run_fuzz.sh         libFuzzer on the config readers, FUZZ_SECONDS (20) each
#   build/tests/test_golden        golden packets through BPF_PROG_TEST_RUN
#   build/tests/test_pktfuzz       10^5 generated and mutated frames against a reference model
#                                  (a fixed seed here; make fuzz: 10^6, a new seed each run)
#   build/tests/test_contend       the policer with every CPU on one customer (BPF_PROG_TEST_RUN)
#   build/tests/test_sync          tollgated's incremental reloads against full syncs (maps)
#   tests/kernels/run.sh -s build/tests/test_golden -s tests/kernels/traffic.sh
#                                  the golden packets and real pings through tollgate on
#                                  Debian 12's kernel (6.1) under qemu, about 2 min (root;
#                                  `make test-kernels` adds test_sync there)
#   tests/integration/test_attach.sh  attach/detach/reload life cycle, tollgated (root)
#   tests/integration/test_linkwatch.sh  tollgated keeps its interfaces attached: recreated,
#                                     replaced, renamed; audit, metrics, status (root)
#   tests/integration/test_lab.sh  namespaces, veths, real traffic (root)
#   tests/integration/test_pppoe.sh  LACP/LLDP/STP and PPPoE frames (scapy) on a veth (root)
#   tests/integration/test_trtcm.sh   the two-rate policer with iperf3: delivery, yellow DSCP (root)
#   tests/integration/test_reload.sh  hitless reloads under traffic (root)
#   tests/integration/test_flood.sh   trafgen floods in the lab (root)
#   tests/integration/test_fanout.sh  scans and SMTP bots seen by the fan-out sketches (root)
#   tests/integration/test_bgp.sh     upstream mitigation: gobgpd peering with FRR, a flood
#                                     announced as FlowSpec then blackhole, the limits (root)
#   tests/integration/test_enforce.sh tollgated: suspension, rules, audit, notifications,
#                                     metrics, API, NOC page (Chromium), Prometheus (root)
#   tests/integration/test_capture.sh the evidence sample: a rule's and a by-hand capture
#                                     read back with tcpdump, the day's bound (root)
#   tests/integration/test_lowrate.sh low-rate spoofers (40, 55 pps; one CPU, both): rules,
#                                     evidence, CLI, API and /metrics read exact counts (root)
#   tests/integration/test_integrity.sh  enforcement against other writers, a full state
#                                     database, wall-clock steps; the watchdog (root)
#   tests/integration/test_cluster.sh  a cluster on etcd: 3 members (TLS), 2 tollgated
#                                     nodes; propagation, restarts, members lost, a
#                                     partition healed, notified once (root, ~1.5 min)
#   tests/integration/test_cluster_scale.sh  20 tollgated nodes and one etcd on one
#                                     machine: propagation p50/p99 of 100 suspensions,
#                                     etcd keys, bytes and watch events per 1000 (root, ~90 s)
#   tests/integration/test_alert.sh   cluster-wide rules: Prometheus and Alertmanager over
#                                     2 tollgated nodes, the webhook suspends a
#                                     multi-homed customer over its sum (root, ~30 s)
#   tests/integration/test_quota.sh   volume quotas with real traffic: a tiny quota throttles
#                                     B, exempt C is left alone; exact usage in the API,
#                                     /metrics, the page; kill -9, reload, restart (root)
#   tests/integration/test_soak.sh    60 s of reloads, suspensions, expiries, a port
#                                     recreated, webhook outages, kill -9 under traffic;
#                                     then state, events, policing, RSS/fds/maps (root;
#                                     `make soak`: SOAK_MINUTES, default 10)
# A suite is a command: its first word the executable, relative to the worktree.
# Each suite's output is shown as it runs. Each ends with its own "N passed, N failed"; the
# last line here sums them: "N passed, N failed, N skipped". A suite that exits 77 (the
# automake convention: it cannot run here, e.g. not root, a kernel feature or a tool
# missing, and it printed SKIP with the reason) counts as skipped, not failed; the checks
# it reports before that still count. A missing suite, a suite without that line, or one
# that exits non-zero (other than 77) although it reports no failure counts as one failure
# more. Before the total, the time each suite took, slowest first (make test has a budget
# of 20 minutes). Exits non-zero if anything failed.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT" || exit 1

SUITES=(
	build/tests/test_config
	build/tests/test_rules
	build/tests/test_lists
	build/tests/test_notify
	build/tests/test_hardening
	build/tests/test_evid
	build/tests/test_whois
	build/tests/test_capture
	build/tests/test_etcd
	build/tests/test_mitigation
	build/tests/test_alert
	build/tests/test_quota
	tests/fuzz/run_fuzz.sh
	build/tests/test_golden
	"build/tests/test_pktfuzz -n 100000 -s 20261207"
	build/tests/test_contend
	build/tests/test_sync
	"tests/kernels/run.sh -s build/tests/test_golden -s tests/kernels/traffic.sh"
	tests/integration/test_attach.sh
	tests/integration/test_linkwatch.sh
	tests/integration/test_lab.sh
	tests/integration/test_pppoe.sh
	tests/integration/test_trtcm.sh
	tests/integration/test_reload.sh
	tests/integration/test_flood.sh
	tests/integration/test_fanout.sh
	tests/integration/test_bgp.sh
	tests/integration/test_enforce.sh
	tests/integration/test_capture.sh
	tests/integration/test_lowrate.sh
	tests/integration/test_integrity.sh
	tests/integration/test_cluster.sh
	tests/integration/test_cluster_scale.sh
	tests/integration/test_alert.sh
	tests/integration/test_quota.sh
	tests/integration/test_soak.sh
)

LOG=$(mktemp "/tmp/tg-run-$$.XXXXXX")
trap 'rm -f "$LOG"' EXIT
trap 'exit 130' INT TERM

# The whole run is one function, read before it starts: editing this file while a run is
# going (a checkout, another engineer) cannot change what the run executes.
main() {
	total_pass=0
	total_fail=0
	total_skip=0
	bad=0
	times=()
	for suite in "${SUITES[@]}"; do
		echo "=== $suite"
		read -r -a cmd <<<"$suite"
		t0=$SECONDS
		if [ ! -x "${cmd[0]}" ]; then
			echo "FAIL $suite: not found or not executable (run 'make all')"
			total_fail=$((total_fail + 1))
			bad=1
			continue
		fi
		"./${cmd[0]}" "${cmd[@]:1}" 2>&1 | tee "$LOG"
		rc=${PIPESTATUS[0]}
		times+=("$((SECONDS - t0)) $suite")
		summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$LOG" | tail -n 1)
		if [ "$rc" -eq 77 ]; then
			why=$(grep -m 1 '^SKIP ' "$LOG" | cut -c6-)
			echo "SKIP $suite: exited 77${why:+ ($why)}"
			total_skip=$((total_skip + 1))
			if [ -n "$summary" ]; then
				read -r np _ nf _ <<<"$summary"
				total_pass=$((total_pass + np))
				total_fail=$((total_fail + nf))
				[ "$nf" -eq 0 ] || bad=1
			fi
			continue
		fi
		if [ -z "$summary" ]; then
			echo "FAIL $suite: exited $rc without an 'N passed, N failed' line"
			total_fail=$((total_fail + 1))
			bad=1
			continue
		fi
		read -r np _ nf _ <<<"$summary"
		total_pass=$((total_pass + np))
		total_fail=$((total_fail + nf))
		if [ "$rc" -ne 0 ]; then
			bad=1
			if [ "$nf" -eq 0 ]; then
				echo "FAIL $suite: exited $rc although it reports no failure"
				total_fail=$((total_fail + 1))
			fi
		fi
	done

	echo "=== time per suite, slowest first (${SECONDS} s in all)"
	printf '%s\n' "${times[@]}" | sort -rn | awk '{ t = $1; $1 = ""; printf "%5d s%s\n", t, $0 }'
	echo "=== total"
	echo "$total_pass passed, $total_fail failed, $total_skip skipped"
	[ "$bad" -eq 0 ] && [ "$total_fail" -eq 0 ]
}

main "$@"; exit
