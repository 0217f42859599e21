# shellcheck shell=bash
# Numbered steps a person can follow through a long first run (sourced by up.sh and
# first-run.sh; also run as `steps.sh NAME TITLE -- CMD...` for one step from the Makefile):
#
#   [3/7] Kubernetes binaries (first run: about 12 min) ... done in 11m48s
#
# Each step's raw output goes to $STEP_LOGS/<name>.log. While a step runs, a line at
# least every 30 s says it still does and what it is at (the log's last line, or what
# STEP_STATUS, a shell command, prints: e.g. the pods not yet ready). A failed step
# prints its log's path, the log's last lines and how to run it again, then exits.
#
# Settings: STEP_LOGS (the log folder), STEP_TOTAL (the N of [i/N]), STEP_RERUN (the
# command that runs everything again; the step's own command is printed too).

STEP_LOGS=${STEP_LOGS:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/.local-cluster/logs}
STEP_TOTAL=${STEP_TOTAL:-0}
STEP_TICK=${STEP_TICK:-30}
step_index=0

# duration SECONDS -> 4m51s
duration() {
  local s=$1
  if [ "$s" -ge 60 ]; then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

# step_ticker LOG START TITLE: every STEP_TICK seconds, one line on what the step is at.
step_ticker() {
  local log=$1 start=$2 title=$3 at sleeper
  # Killed, it takes its sleep along: a stray sleep would hold the terminal's (or a
  # pipe's) descriptors open for up to a tick after the step is done.
  trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
  while :; do
    sleep "$STEP_TICK" &
    sleeper=$!
    wait "$sleeper"
    if [ -n "${STEP_STATUS:-}" ]; then
      at=$(bash -c "$STEP_STATUS" 2>/dev/null | head -n 3 | tr '\n' ';' | sed 's/;$//')
    else
      # The last non-empty line, without terminal control characters.
      at=$(tail -c 4096 "$log" 2>/dev/null | tr '\r' '\n' | sed -e 's/\x1b\[[0-9;]*[A-Za-z]//g' \
        | awk 'NF {l = $0} END {print l}')
    fi
    printf '      ... %s: still running after %s%s\n' "$title" "$(duration $(($(date +%s) - start)))" \
      "${at:+ (at: ${at:0:110})}" >&2
  done
}

# step NAME TITLE [HINT] -- CMD...: runs CMD as a numbered step (see the top of this file).
# CMD is a program, not a shell function: `set -e` does not apply inside a function called
# in a condition, so a function's failing line would go unnoticed (wrap it in bash -c).
step() {
  local name=$1 title=$2 hint="" start rc ticker log
  shift 2
  if [ "$1" != -- ]; then hint=$1; shift; fi
  shift  # --
  step_index=$((step_index + 1))
  mkdir -p "$STEP_LOGS"
  log=$STEP_LOGS/$name.log
  local number=""
  [ "$STEP_TOTAL" -gt 0 ] && number="[$step_index/$STEP_TOTAL] "
  printf '%s%s%s ...\n' "$number" "$title" "${hint:+ ($hint)}" >&2
  printf '\n==== %s %s: %s\n' "$(date -Is)" "$title" "$*" >>"$log"
  start=$(date +%s)
  step_ticker "$log" "$start" "$title" &
  ticker=$!
  rc=0
  "$@" </dev/null >>"$log" 2>&1 || rc=$?
  kill "$ticker" 2>/dev/null
  wait "$ticker" 2>/dev/null || true  # it ends by the kill: status 143
  if [ $rc = 0 ]; then
    printf '%s%s ... done in %s\n' "$number" "$title" "$(duration $(($(date +%s) - start)))" >&2
    return 0
  fi
  {
    printf '%s%s ... FAILED after %s (exit status %s)\n' "$number" "$title" \
      "$(duration $(($(date +%s) - start)))" "$rc"
    printf '  log: %s (last lines below)\n' "$log"
    tail -n "${STEP_TAIL:-25}" "$log" | sed 's/^/  | /'
    printf '  this step alone: %s\n' "$*"
    [ -z "${STEP_RERUN:-}" ] || printf '  everything again: %s\n' "$STEP_RERUN"
  } >&2
  exit "$rc"
}

# As a command: steps.sh NAME TITLE [HINT] -- CMD...
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  step "$@"
fi
