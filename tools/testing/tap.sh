# SPDX-License-Identifier: GPL-2.0-only
#
# Sourced by the guest-side test scripts: kselftest-style TAP lines, counted
# into $pass and $fail for the "# Totals:" line the host adds up.

pass=${pass:-0} fail=${fail:-0}

# check WHAT COMMAND...: one "ok"/"not ok" line for COMMAND's status.
check() {
	local what=$1
	shift
	if "$@"; then
		echo "ok - $what"
		pass=$((pass + 1))
	else
		echo "not ok - $what"
		fail=$((fail + 1))
	fi
}
