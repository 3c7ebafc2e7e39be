#!/bin/bash
# dbx-prom-agent: Databricks cluster-scoped init script.
#
# Installs the self-contained agent binary on this node (driver or worker) and starts it in the
# background. Monitoring must never fail a cluster: a non-zero exit of an init script fails the
# cluster start (INIT_SCRIPT_FAILURE), so every error is logged and the script exits 0, unless
# DBX_PROM_STRICT=true. It binds no port (6062 on the driver belongs to Databricks).
#
# Usage: dbx-prom-agent-init.sh [install|uninstall|status|print-unit]
#   install (default)  copy the binary for `uname -m` from the artifacts folder, write the env
#                      file, start the agent (systemd unit, else a setsid supervisor); idempotent.
#                      Under the supervisor it waits (seconds) until the new agent runs, and
#                      reports a rejected setting or an agent that exits at once
#   uninstall          stop the agent (it deletes its Pushgateway group) and remove what install wrote
#                      (also: DBX_PROM_UNINSTALL=true)
#   status             print whether the agent runs; exit 0 if it does, 3 if not (also while the
#                      supervisor waits to restart an agent that exited: it prints the exit status)
#   print-unit         print the systemd unit install would write
#   supervise, run-logged   internal: the daemon side (restart loop / one run with a capped log)
#
# Settings (environment, e.g. the cluster's spark_env_vars):
#   DBX_PROM_ARTIFACTS      folder holding dbx-prom-agent-linux-x64, dbx-prom-agent-linux-arm64,
#                           this script and an optional dbx-prom-agent.env (KEY=VALUE settings)
#   DBX_PROM_*              agent settings (DBX_PROM_PUSHGATEWAY_URL, ...): they win over the file
#   DBX_PROM_STRICT=true    exit 1 on any error (for testing a new setup; it fails the cluster)
#   DBX_PROM_INSTALL_DIR    default /local_disk0/dbx-prom-agent, else /opt/dbx-prom-agent
#   DBX_PROM_LOG_MAX_BYTES  cap of the agent log before it rotates to agent.log.1 (default 10 MiB)
#   DBX_PROM_MAX_HEAP_MB    V8 heap cap of the agent (default 192; the unit's MemoryMax is 64 MiB more)
#   DBX_PROM_ROOT, DBX_PROM_UNAME_M   for tests only: a prefix for every local path, and `uname -m`
#
# Databricks Runtime 19+ in standard access mode hands init scripts only its own variables
# (DB_*), not spark_env_vars: there, set ARTIFACTS_DEFAULT below in the copy you upload, and put
# the settings in dbx-prom-agent.env in the artifacts folder.

set -u
umask 077

ARTIFACTS_DEFAULT=""
NAME=dbx-prom-agent
UNIT=dbx-prom-agent.service
VERSION_TIMEOUT=10
ROOT="${DBX_PROM_ROOT:-}"
ROOT="${ROOT%/}"
STRICT=false
case "${DBX_PROM_STRICT:-}" in [Tt][Rr][Uu][Ee] | 1 | [Yy][Ee][Ss]) STRICT=true ;; esac
PATH="${PATH:+$PATH:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export PATH

INSTALL_DIR=""
INIT_LOG=""

log() {
  local line
  line="$(date -u +%Y-%m-%dT%H:%M:%SZ) $NAME-init: $1: $2"
  printf '%s\n' "$line" >&2
  if [ -n "$INIT_LOG" ] && [ -d "${INIT_LOG%/*}" ]; then
    printf '%s\n' "$line" >>"$INIT_LOG" 2>/dev/null || true
  fi
}

# Logs the error and ends the script: exit 0 (never fail the cluster) unless strict.
fail() {
  log error "$1"
  if [ "$STRICT" = true ]; then
    log error "DBX_PROM_STRICT=true: exiting 1 (this fails the cluster start)"
    exit 1
  fi
  log info "the cluster starts without the agent (exit 0)"
  exit 0
}

resolve_install_dir() {
  if [ -n "${DBX_PROM_INSTALL_DIR:-}" ]; then
    INSTALL_DIR="$ROOT${DBX_PROM_INSTALL_DIR%/}"
  elif [ -d "$ROOT/local_disk0" ]; then
    # The instance's local SSD; the root file system of a Databricks node is small.
    INSTALL_DIR="$ROOT/local_disk0/$NAME"
  else
    INSTALL_DIR="$ROOT/opt/$NAME"
  fi
}

set_paths() {
  BIN="$INSTALL_DIR/bin/$NAME"
  SELF_COPY="$INSTALL_DIR/bin/$NAME-init.sh"
  ENV_FILE="$INSTALL_DIR/agent.env"
  RUN_DIR="$INSTALL_DIR/run"
  LOG_DIR="$INSTALL_DIR/log"
  AGENT_LOG="$LOG_DIR/agent.log"
  SUPERVISOR_PID="$RUN_DIR/supervisor.pid"
  AGENT_PID="$RUN_DIR/agent.pid"
  EXIT_FILE="$RUN_DIR/agent.exit"
  # The supervisor numbers the agent's runs: RUN_FILE holds the current run, LAST_EXIT
  # "<run> <status> <backoff seconds> <time>" of the last exit; RESTART_FILE asks it to restart
  # at once, without backoff.
  RUN_FILE="$RUN_DIR/agent.run"
  LAST_EXIT="$RUN_DIR/agent.last-exit"
  RESTART_FILE="$RUN_DIR/agent.restart"
  UNIT_FILE="$ROOT/etc/systemd/system/$UNIT"
}

arch_suffix() {
  case "$1" in
    x86_64 | amd64) echo x64 ;;
    aarch64 | arm64) echo arm64 ;;
    *) return 1 ;;
  esac
}

truthy() {
  case "${1:-}" in [Tt][Rr][Uu][Ee] | 1 | [Yy][Ee][Ss]) return 0 ;; *) return 1 ;; esac
}

uses_systemd() {
  # systemd's own test for "booted with systemd" (sd_booted(3)).
  [ -d "$ROOT/run/systemd/system" ] && command -v systemctl >/dev/null 2>&1
}

# Quotes a value for the env file the way the agent's parser reads it ('...' with '\'' escapes).
quote() {
  local v=$1 q="'\\''"
  printf "'%s'" "${v//\'/$q}"
}

unit_text() {
  local max_bytes=${DBX_PROM_LOG_MAX_BYTES:-10485760} heap=${DBX_PROM_MAX_HEAP_MB:-192}
  cat <<EOF
# Written by $NAME-init.sh; removed by '$NAME-init.sh uninstall'.
[Unit]
Description=dbx-prom-agent: host and Spark metrics pushed to Prometheus
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
Environment=DBX_PROM_LOG_MAX_BYTES=$max_bytes
Environment=NODE_OPTIONS=--max-old-space-size=$heap
ExecStart=/bin/bash $SELF_COPY run-logged
Restart=always
RestartSec=5
# Exit status 2 is a configuration error: restarting cannot fix it.
RestartPreventExitStatus=2
# The agent must never compete with Spark for the node: its heap cap and 64 MiB for the rest
# (256M at the default heap; a driver forwarding ~100k Spark series needs DBX_PROM_MAX_HEAP_MB=320).
MemoryMax=$((heap + 64))M
CPUQuota=25%
Nice=10
IOSchedulingClass=idle
TimeoutStopSec=10
# Only the wrapper gets SIGTERM and forwards it once; the agent deletes its group, then exits.
KillMode=mixed

[Install]
WantedBy=multi-user.target
EOF
}

pid_alive() {
  [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null
}

# An agent that exited stays a zombie until the supervisor reaps it (within a second): it
# answers kill -0 but does not run.
process_runs() {
  local stat
  pid_alive "${1:-}" || return 1
  [ -r "/proc/$1/stat" ] || return 0
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# Replaces a small state file whole: a reader never sees half of it.
put_state() {
  printf '%s\n' "$2" >"$1.tmp" 2>/dev/null && mv -f "$1.tmp" "$1"
}

LX_RUN="" LX_STATUS="" LX_BACKOFF="" LX_AT=""

# Reads LAST_EXIT into LX_*; fails if there is none (or it is not what the supervisor writes).
read_last_exit() {
  LX_RUN="" LX_STATUS="" LX_BACKOFF="" LX_AT=""
  [ -f "$LAST_EXIT" ] || return 1
  read -r LX_RUN LX_STATUS LX_BACKOFF LX_AT <"$LAST_EXIT" 2>/dev/null || [ -n "$LX_RUN" ] || return 1
  case "$LX_RUN$LX_STATUS$LX_BACKOFF" in '' | *[!0-9]*) return 1 ;; esac
}

# The pid of our running supervisor, if any (the pid file alone could name a recycled pid).
running_supervisor() {
  local pid
  [ -f "$SUPERVISOR_PID" ] || return 1
  pid=$(cat "$SUPERVISOR_PID" 2>/dev/null) || return 1
  pid_alive "$pid" || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$NAME-init.sh supervise" || return 1
  echo "$pid"
}

rotate_log() {
  local max=${DBX_PROM_LOG_MAX_BYTES:-10485760} size
  [ -f "$AGENT_LOG" ] || return 0
  size=$(wc -c <"$AGENT_LOG" 2>/dev/null) || return 0
  if [ "${size:-0}" -gt "$max" ]; then
    # Copy, then truncate in place: the agent holds the file open with O_APPEND.
    cp -f "$AGENT_LOG" "$AGENT_LOG.1" 2>/dev/null && : >"$AGENT_LOG"
  fi
}

note() {
  printf '%s %s-supervisor: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$NAME" "$1" >>"$AGENT_LOG"
}

CHILD=""
SLEEPER=""
STOPPING=false

# shellcheck disable=SC2317  # called by trap
on_stop() {
  STOPPING=true
  if [ -n "$SLEEPER" ]; then kill -TERM "$SLEEPER" 2>/dev/null; fi
  if [ -n "$CHILD" ]; then kill -TERM "$CHILD" 2>/dev/null; fi
}

# Sleeps in the background so that a TERM is handled at once.
nap() {
  sleep "$1" &
  SLEEPER=$!
  wait "$SLEEPER" 2>/dev/null
  SLEEPER=""
}

# Runs the agent once with its output appended to the capped log; returns its exit status.
run_agent_once() {
  local rc
  rotate_log
  if [ -n "${2:-}" ]; then
    # The init script waits on this line: what the log holds after it comes from this run.
    note "agent run $2 starting (supervisor $$)"
    put_state "$RUN_FILE" "$2"
  fi
  if command -v ionice >/dev/null 2>&1 && [ "${1:-}" = lowprio ]; then
    nice -n 10 ionice -c 3 "$BIN" run --settings-file "$ENV_FILE" </dev/null >>"$AGENT_LOG" 2>&1 &
  elif [ "${1:-}" = lowprio ]; then
    nice -n 10 "$BIN" run --settings-file "$ENV_FILE" </dev/null >>"$AGENT_LOG" 2>&1 &
  else
    "$BIN" run --settings-file "$ENV_FILE" </dev/null >>"$AGENT_LOG" 2>&1 &
  fi
  CHILD=$!
  echo "$CHILD" >"$AGENT_PID"
  # Poll each second rather than `wait`: the log must stay capped while the agent runs.
  while pid_alive "$CHILD"; do
    nap 1
    rotate_log
  done
  wait "$CHILD"
  rc=$?
  # A TERM that interrupted `wait` leaves the agent finishing its final push: wait for it.
  while pid_alive "$CHILD"; do
    wait "$CHILD"
    rc=$?
  done
  CHILD=""
  rm -f "$AGENT_PID"
  return "$rc"
}

# The daemon side when systemd is absent: restart the agent with exponential backoff.
supervise() {
  local rc started backoff=1 run=0
  echo $$ >"$SUPERVISOR_PID"
  rm -f "$EXIT_FILE" "$RUN_FILE" "$LAST_EXIT" "$RESTART_FILE"
  trap on_stop TERM INT HUP
  note "supervisor started (pid $$)"
  while [ "$STOPPING" = false ]; do
    run=$((run + 1))
    started=$(date +%s)
    run_agent_once lowprio "$run"
    rc=$?
    [ "$STOPPING" = true ] && break
    if [ "$rc" -eq 2 ]; then
      # Exit 2 is a configuration error (the message above names the setting): retrying cannot fix it.
      echo 2 >"$EXIT_FILE"
      put_state "$LAST_EXIT" "$run 2 0 $(date -u +%Y-%m-%dT%H:%M:%SZ)"
      note "agent exited 2 (configuration error): not restarting; fix the settings and run the init script again"
      break
    fi
    if [ -f "$RESTART_FILE" ]; then
      # The init script stopped it to start a new binary or settings: no backoff for that.
      rm -f "$RESTART_FILE"
      note "agent stopped for a restart (status $rc): starting the new binary or settings"
      backoff=1
      continue
    fi
    if [ $(($(date +%s) - started)) -ge 60 ]; then backoff=1; fi
    # `status` and the init script tell from this why no agent runs.
    put_state "$LAST_EXIT" "$run $rc $backoff $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    note "agent exited with status $rc; restarting in ${backoff}s"
    nap "$backoff"
    backoff=$((backoff * 2))
    [ "$backoff" -gt 60 ] && backoff=60
  done
  note "supervisor stopped"
  rm -f "$SUPERVISOR_PID"
  exit 0
}

# The daemon side under systemd: one run with a capped log; systemd restarts it.
run_logged() {
  local rc
  trap on_stop TERM INT HUP
  run_agent_once
  rc=$?
  [ "$STOPPING" = true ] && exit 0
  exit "$rc"
}

# Stops a running supervisor (and its agent) and waits until both are gone.
stop_supervisor() {
  local pid agent
  pid=$(running_supervisor) || return 0
  agent=$(cat "$AGENT_PID" 2>/dev/null || true)
  kill -TERM "$pid" 2>/dev/null
  # The agent makes a final push and deletes its Pushgateway group within 5 s.
  for _ in $(seq 1 100); do
    pid_alive "$pid" || break
    sleep 0.1
  done
  if pid_alive "$pid"; then
    log warn "supervisor $pid did not stop in 10 s: killing it"
    kill -KILL "$pid" 2>/dev/null
  fi
  if pid_alive "$agent"; then kill -KILL "$agent" 2>/dev/null; fi
  rm -f "$SUPERVISOR_PID" "$AGENT_PID"
}

start_supervisor() {
  local pid=""
  rm -f "$EXIT_FILE" "$RUN_FILE" "$LAST_EXIT" "$RESTART_FILE"
  # A clean environment (the daemon must not depend on the init script's), a new session (the
  # init script's process group may be killed when it ends), no inherited descriptors.
  if command -v setsid >/dev/null 2>&1; then
    env -i PATH="/usr/sbin:/usr/bin:/sbin:/bin" LANG=C.UTF-8 \
      DBX_PROM_LOG_MAX_BYTES="${DBX_PROM_LOG_MAX_BYTES:-10485760}" \
      NODE_OPTIONS="--max-old-space-size=${DBX_PROM_MAX_HEAP_MB:-192}" \
      setsid /bin/bash "$SELF_COPY" supervise </dev/null >/dev/null 2>&1 9>&- &
  else
    env -i PATH="/usr/sbin:/usr/bin:/sbin:/bin" LANG=C.UTF-8 \
      DBX_PROM_LOG_MAX_BYTES="${DBX_PROM_LOG_MAX_BYTES:-10485760}" \
      NODE_OPTIONS="--max-old-space-size=${DBX_PROM_MAX_HEAP_MB:-192}" \
      nohup /bin/bash "$SELF_COPY" supervise </dev/null >/dev/null 2>&1 9>&- &
  fi
  for _ in $(seq 1 50); do
    pid=$(running_supervisor) && break
    sleep 0.1
  done
  [ -n "$pid" ] || return 1
  echo "$pid"
}

log_size() {
  if [ -f "$AGENT_LOG" ]; then wc -c <"$AGENT_LOG" 2>/dev/null || echo 0; else echo 0; fi
}

# The agent log written after byte $1. Rotation (copy to .1, then empty) may have happened once
# meanwhile; reading from an offset keeps a 10 MiB log from being scanned ten times a second.
log_since() {
  if [ "$(log_size)" -ge "$1" ]; then
    tail -c +$(($1 + 1)) "$AGENT_LOG" 2>/dev/null
  else
    tail -c +$(($1 + 1)) "$AGENT_LOG.1" 2>/dev/null
    cat "$AGENT_LOG" 2>/dev/null
  fi
}

# The log lines after byte $1 that follow the last line holding $2; nothing if there is none.
run_log() {
  log_since "$1" | awk -v m="$2" 'index($0, m) { found = 1; out = ""; next } found { out = out $0 "\n" } END { printf "%s", out }'
}

# The last line the agent itself wrote, of the text on stdin.
last_agent_line() {
  grep -v -- "$NAME-supervisor: " | tail -n 1
}

WAIT_DETAIL=""

# Waits for agent run $1 of supervisor $2 (the log before it ends at byte $3) to say it runs,
# or to exit. Returns 0 when it runs; 2 when it rejected its configuration (the supervisor has
# stopped); 3 when it exited otherwise (LX_* say how; the supervisor restarts it after a
# backoff); 4 when the supervisor is gone; 1 when none of that happened in time.
# WAIT_DETAIL: the run's last log line. "agent running" counts only after the run's own
# "agent run N starting" line: an old agent, or an earlier run, may have logged it too.
wait_for_agent() {
  local run=$1 sup=$2 from=$3 marker current started=false limit rc
  marker="agent run $run starting (supervisor $sup)"
  # Until the run starts: an agent being replaced makes its final push and DELETE (up to 5 s),
  # and the supervisor notices its exit within a second. Then the agent checks its settings at
  # once and says it runs in a fraction of a second: 10 s is for a loaded node.
  limit=$((SECONDS + 20))
  while :; do
    rc=""
    if [ -f "$EXIT_FILE" ]; then
      rc=2
    elif [ "$started" = false ]; then
      current=$(cat "$RUN_FILE" 2>/dev/null || true)
      case "$current" in '' | *[!0-9]*) ;; *) [ "$current" -ge "$run" ] && started=true && limit=$((SECONDS + 10)) ;; esac
    fi
    if [ -z "$rc" ] && [ "$started" = true ]; then
      if run_log "$from" "$marker" | grep -q '"msg":"agent running"'; then
        return 0
      fi
      if read_last_exit && [ "$LX_RUN" -ge "$run" ]; then
        rc=3
        [ "$LX_STATUS" -eq 2 ] && rc=2
      fi
    fi
    # process_runs: a supervisor this script started and that exited stays its zombie.
    if [ -z "$rc" ] && ! process_runs "$sup"; then
      rc=4
      [ -f "$EXIT_FILE" ] && rc=2
    fi
    if [ -z "$rc" ] && [ "$SECONDS" -ge "$limit" ]; then rc=1; fi
    if [ -n "$rc" ]; then
      WAIT_DETAIL=$(run_log "$from" "$marker" | last_agent_line)
      [ -n "$WAIT_DETAIL" ] || WAIT_DETAIL=$(log_since "$from" | last_agent_line)
      return "$rc"
    fi
    sleep 0.1
  done
}

# Says how wait_for_agent ended ($1) for supervisor $2; $3 is the line for an agent that runs.
report_agent_start() {
  case "$1" in
    0) log info "$3" ;;
    2) fail "the agent rejected its configuration: ${WAIT_DETAIL:-see $AGENT_LOG}" ;;
    3)
      log error "the agent exited with status $LX_STATUS right after it started; last log line: ${WAIT_DETAIL:-none}"
      log info "supervisor $2 restarts it in ${LX_BACKOFF}s, then with a growing backoff (up to 60 s); '$NAME-init.sh status' shows its state; log $AGENT_LOG"
      if [ "$STRICT" = true ]; then
        log error "DBX_PROM_STRICT=true: exiting 1 (this fails the cluster start)"
        exit 1
      fi
      log info "the cluster starts; the supervisor keeps restarting the agent (exit 0)"
      ;;
    4) fail "supervisor $2 stopped before the agent ran; last log line: ${WAIT_DETAIL:-none} (see $AGENT_LOG)" ;;
    *) log warn "the agent has not logged \"agent running\" in time; supervisor $2 keeps it going; last log line: ${WAIT_DETAIL:-none}; see $AGENT_LOG" ;;
  esac
}

# Collects the agent settings: the artifacts env file first, then DB_* context and DBX_PROM_*
# settings from this environment (later lines win in the agent's parser, as env wins over file).
compose_env() {
  local src=$1 name value
  echo "# Written by $NAME-init.sh: Databricks context and agent settings. Mode 0600: may hold tokens."
  if [ -n "$src" ]; then
    echo "# from ${src}"
    printf '%s\n' "$ENV_SRC_TEXT"
  fi
  echo "# from the init script environment"
  for name in $(compgen -e | LC_ALL=C sort); do
    case "$name" in
      DBX_PROM_ROOT | DBX_PROM_STRICT | DBX_PROM_ARTIFACTS | DBX_PROM_UNINSTALL | DBX_PROM_UNAME_M | \
        DBX_PROM_INSTALL_DIR | DBX_PROM_LOG_MAX_BYTES | DBX_PROM_MAX_HEAP_MB | DBX_PROM_ENV_FILE | DBX_PROM_SETTINGS_FILE) continue ;;
      DB_* | DBX_PROM_* | DATABRICKS_RUNTIME_VERSION) ;;
      *) continue ;;
    esac
    value=${!name}
    case "$value" in
      *$'\n'*)
        log warn "$name holds a line break: left out of the agent settings"
        continue
        ;;
    esac
    printf '%s=%s\n' "$name" "$(quote "$value")"
  done
}

# Checks the KEY=VALUE file the way the agent will read it, so a typo is reported here.
check_env_text() {
  local n=0 line
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    line="${line#"${line%%[![:space:]]*}"}"
    case "$line" in '' | '#'*) continue ;; esac
    if ! [[ $line =~ ^(export[[:space:]]+)?[A-Za-z_][A-Za-z0-9_]*= ]]; then
      echo "line $n is not KEY=VALUE"
      return 1
    fi
  done <<<"$1"
}

# Writes $2 (text) to $1 if it differs, atomically, with mode $3; returns 0 if it changed.
write_if_changed() {
  local dest=$1 text=$2 mode=$3 tmp
  if [ -f "$dest" ] && [ "$(cat "$dest" 2>/dev/null)" = "$text" ]; then
    chmod "$mode" "$dest" 2>/dev/null
    return 1
  fi
  tmp="$dest.tmp.$$"
  printf '%s\n' "$text" >"$tmp" && chmod "$mode" "$tmp" && mv -f "$tmp" "$dest" && return 0
  rm -f "$tmp"
  fail "cannot write $dest"
}

find_artifacts() {
  local self_dir
  if [ -n "${DBX_PROM_ARTIFACTS:-}" ]; then
    # Volumes are mounted at /Volumes on the node; the dbfs: form is what the UI often shows.
    case "$DBX_PROM_ARTIFACTS" in
      dbfs:/Volumes/*) echo "${DBX_PROM_ARTIFACTS#dbfs:}" ;;
      *) echo "${DBX_PROM_ARTIFACTS%/}" ;;
    esac
    return 0
  fi
  # Runtime 19+ standard access mode: no custom variables. Try the folder this script came from.
  self_dir=$(cd "$(dirname "$0")" 2>/dev/null && pwd) || self_dir=""
  if [ -n "$self_dir" ] && ls "$self_dir"/$NAME-linux-* >/dev/null 2>&1; then
    echo "$self_dir"
    return 0
  fi
  if [ -n "$ARTIFACTS_DEFAULT" ]; then
    echo "$ARTIFACTS_DEFAULT"
    return 0
  fi
  return 1
}

ENV_SRC_TEXT=""

# A size or heap setting that is not a whole number would silently stop log rotation, or make
# the agent refuse to start in a restart loop: fall back to the default, and say so.
whole_number_or_default() {
  local name=$1 default=$2 value
  value=${!name:-}
  case "$value" in
    '') value=$default ;;
    *[!0-9]*)
      log warn "$name=$value is not a whole number; using $default"
      value=$default
      ;;
  esac
  printf -v "$name" '%s' "$value"
  export "${name?}"
}

install() {
  local machine arch artifacts bin_src env_src="" changed=false self_changed=false why pid out rc t0 agent run from
  whole_number_or_default DBX_PROM_LOG_MAX_BYTES 10485760
  whole_number_or_default DBX_PROM_MAX_HEAP_MB 192
  machine=${DBX_PROM_UNAME_M:-$(uname -m)}
  arch=$(arch_suffix "$machine") ||
    fail "unsupported architecture '$machine' (supported: x86_64/amd64, aarch64/arm64): agent not installed"

  artifacts=$(find_artifacts) ||
    fail "DBX_PROM_ARTIFACTS is not set (and no binaries beside $0): set it in the cluster's spark_env_vars or ARTIFACTS_DEFAULT in this script"
  [ -d "$artifacts" ] || fail "artifacts folder $artifacts does not exist or cannot be read (DBX_PROM_ARTIFACTS)"

  bin_src="$artifacts/$NAME-linux-$arch"
  { [ -f "$bin_src" ] && [ -r "$bin_src" ]; } ||
    fail "binary not found: $bin_src (upload $NAME-linux-$arch for this $machine node)"

  if [ -e "$artifacts/$NAME.env" ] || [ -L "$artifacts/$NAME.env" ]; then
    env_src="$artifacts/$NAME.env"
    ENV_SRC_TEXT=$(cat -- "$env_src" 2>&1) ||
      fail "cannot read env file $env_src: ${ENV_SRC_TEXT##*: }"
    why=$(check_env_text "$ENV_SRC_TEXT") || fail "env file $env_src: $why"
  fi

  # An operator's own folder (DBX_PROM_INSTALL_DIR=/shared, mode 1777) keeps its mode.
  [ -d "$INSTALL_DIR" ] || { mkdir -p "$INSTALL_DIR" 2>/dev/null && chmod 755 "$INSTALL_DIR" 2>/dev/null; }
  mkdir -p "$INSTALL_DIR/bin" "$RUN_DIR" "$LOG_DIR" 2>/dev/null || fail "cannot create $INSTALL_DIR"
  chmod 755 "$INSTALL_DIR/bin" 2>/dev/null
  chmod 700 "$RUN_DIR" "$LOG_DIR" 2>/dev/null
  INIT_LOG="$LOG_DIR/init.log"
  log info "node: ${DB_IS_DRIVER:+DB_IS_DRIVER=$DB_IS_DRIVER }${DB_CLUSTER_ID:+cluster $DB_CLUSTER_ID }arch $machine; artifacts $artifacts; install dir $INSTALL_DIR"

  # Serialise concurrent runs (a manual run while the init script runs).
  if command -v flock >/dev/null 2>&1; then
    exec 9>"$RUN_DIR/install.lock"
    flock -w 60 9 || fail "another $NAME-init.sh holds $RUN_DIR/install.lock"
  fi

  if ! cmp -s "$bin_src" "$BIN"; then
    cp -f "$bin_src" "$BIN.tmp.$$" 2>/dev/null || {
      rm -f "$BIN.tmp.$$"
      fail "cannot copy $bin_src to $INSTALL_DIR/bin"
    }
    chmod 755 "$BIN.tmp.$$"
    # Refuse a binary that does not run here (truncated upload, wrong architecture, old glibc).
    # The cluster start waits on this: the agent answers in ~150 ms (a few seconds on a loaded
    # node), so 10 s is ample for a binary that works; -k kills one that ignores the TERM.
    t0=$SECONDS
    out=$(timeout -k 2 "$VERSION_TIMEOUT" "$BIN.tmp.$$" --version 2>&1)
    rc=$?
    if [ "$rc" -ne 0 ]; then
      rm -f "$BIN.tmp.$$"
      # timeout exits 124 after its TERM, 137 (128+KILL) when it had to kill.
      if [ "$rc" -eq 124 ] || { [ "$rc" -eq 137 ] && [ $((SECONDS - t0)) -ge "$VERSION_TIMEOUT" ]; }; then
        fail "$bin_src does not run on this node: '--version' timed out after $VERSION_TIMEOUT s${out:+ (output: $out)}"
      fi
      fail "$bin_src does not run on this node: ${out:-no output, exit status $rc}"
    fi
    mv -f "$BIN.tmp.$$" "$BIN" || fail "cannot install $BIN"
    log info "installed $BIN (version $out)"
    changed=true
  fi

  if [ -f "$0" ] && ! cmp -s "$0" "$SELF_COPY"; then
    if ! { cp -f "$0" "$SELF_COPY.tmp.$$" && chmod 755 "$SELF_COPY.tmp.$$" && mv -f "$SELF_COPY.tmp.$$" "$SELF_COPY"; }; then
      rm -f "$SELF_COPY.tmp.$$"
      fail "cannot copy $0 to $SELF_COPY"
    fi
    changed=true
    self_changed=true
  elif [ ! -f "$SELF_COPY" ]; then
    fail "cannot find this script as a file ($0) to install the supervisor"
  fi

  if write_if_changed "$ENV_FILE" "$(compose_env "$env_src")" 600; then
    log info "wrote $ENV_FILE (mode 0600)"
    changed=true
  fi

  if uses_systemd; then
    mkdir -p "${UNIT_FILE%/*}" 2>/dev/null
    umask 022
    if write_if_changed "$UNIT_FILE" "$(unit_text)" 644; then
      changed=true
      systemctl daemon-reload || fail "systemctl daemon-reload failed"
    fi
    umask 077
    if [ "$changed" = true ]; then
      systemctl enable "$UNIT" >/dev/null 2>&1 || log warn "systemctl enable $UNIT failed"
      systemctl restart --no-block "$UNIT" || fail "systemctl restart $UNIT failed"
      log info "started $UNIT (systemd; log $AGENT_LOG)"
    elif systemctl is-active --quiet "$UNIT"; then
      log info "$UNIT already runs and nothing changed: nothing to do"
    else
      systemctl start --no-block "$UNIT" || fail "systemctl start $UNIT failed"
      log info "started $UNIT (systemd; log $AGENT_LOG)"
    fi
    return 0
  fi

  # Either way the script waits until the (re)started agent runs or exits, and reports that
  # here, in the init script log where operators look.
  if pid=$(running_supervisor); then
    agent=$(cat "$AGENT_PID" 2>/dev/null || true)
    if process_runs "$agent"; then
      if [ "$changed" = false ]; then
        log info "agent already runs under supervisor $pid and nothing changed: nothing to do"
        return 0
      fi
      run=$(cat "$RUN_FILE" 2>/dev/null || true)
      case "$run" in '' | *[!0-9]*) run="" ;; esac
      if [ "$self_changed" = false ] && [ -n "$run" ]; then
        from=$(log_size)
        : >"$RESTART_FILE" 2>/dev/null
        if kill -TERM "$agent" 2>/dev/null; then
          wait_for_agent $((run + 1)) "$pid" "$from"
          report_agent_start $? "$pid" "binary or settings changed: agent restarted under supervisor $pid"
          return 0
        fi
        rm -f "$RESTART_FILE"
      fi
      if [ "$self_changed" = true ]; then
        log info "this script changed: replacing supervisor $pid, so that it runs the new one"
      else
        log info "supervisor $pid does not number its runs (an older script): replacing it"
      fi
    elif read_last_exit; then
      log info "no agent runs under supervisor $pid: it exited with status $LX_STATUS at $LX_AT and waits to restart; replacing the supervisor (no backoff)"
    else
      log info "no agent runs under supervisor $pid: replacing it"
    fi
    # A fresh supervisor: it runs this script's code, numbers its runs, and has no backoff.
    stop_supervisor
  fi
  from=$(log_size)
  pid=$(start_supervisor) || fail "the supervisor did not start (see $AGENT_LOG)"
  wait_for_agent 1 "$pid" "$from"
  report_agent_start $? "$pid" "started agent under supervisor $pid (setsid, restart with backoff; log $AGENT_LOG)"
}

uninstall() {
  if uses_systemd || [ -f "$UNIT_FILE" ]; then
    if command -v systemctl >/dev/null 2>&1; then
      systemctl disable --now "$UNIT" >/dev/null 2>&1 || log warn "systemctl disable --now $UNIT failed"
    fi
    rm -f "$UNIT_FILE"
    if command -v systemctl >/dev/null 2>&1; then systemctl daemon-reload >/dev/null 2>&1; fi
  fi
  stop_supervisor
  # Remove only what install wrote: INSTALL_DIR may be a path an operator chose.
  rm -rf "${INSTALL_DIR:?}/bin" "${INSTALL_DIR:?}/run" "${INSTALL_DIR:?}/log" "$ENV_FILE"
  [ -n "${DBX_PROM_INSTALL_DIR:-}" ] || rmdir "$INSTALL_DIR" 2>/dev/null
  log info "uninstalled: agent stopped, $INSTALL_DIR removed"
}

# The agent's last log line: the live log may hold only supervisor lines just after a rotation.
recent_agent_line() {
  local line
  line=$({ tail -n 200 "$AGENT_LOG.1" 2>/dev/null; tail -n 200 "$AGENT_LOG" 2>/dev/null; } | last_agent_line)
  printf '%s' "${line:-none}"
}

status() {
  local pid agent why
  if uses_systemd; then
    systemctl is-active --quiet "$UNIT" && {
      echo "$UNIT active"
      return 0
    }
    echo "$UNIT not active"
    return 3
  fi
  if pid=$(running_supervisor); then
    agent=$(cat "$AGENT_PID" 2>/dev/null || true)
    if process_runs "$agent"; then
      echo "supervisor $pid running, agent pid $agent; log $AGENT_LOG"
      return 0
    fi
    # The supervisor waits out its backoff after the agent exited: say why it exited.
    if read_last_exit; then
      why="the agent exited with status $LX_STATUS at $LX_AT; restart in ${LX_BACKOFF}s (backoff)"
    else
      why="the agent has just exited or is starting"
    fi
    echo "supervisor $pid running, but no agent process: $why; last log line: $(recent_agent_line); log $AGENT_LOG"
    return 3
  fi
  echo "not running${INSTALL_DIR:+ ($INSTALL_DIR)}"
  if [ -f "$EXIT_FILE" ]; then
    echo "last exit: configuration error (status 2); see $AGENT_LOG"
  elif read_last_exit; then
    echo "last exit: status $LX_STATUS at $LX_AT; see $AGENT_LOG"
  fi
  return 3
}

main() {
  local cmd=${1:-install}
  case "$cmd" in
    supervise | run-logged)
      # The daemon side runs from the installed copy: its folder is the install dir.
      INSTALL_DIR=$(cd "$(dirname "$0")/.." && pwd) || exit 1
      set_paths
      if [ "$cmd" = supervise ]; then supervise; else run_logged; fi
      ;;
  esac
  resolve_install_dir
  set_paths
  if truthy "${DBX_PROM_UNINSTALL:-}"; then cmd=uninstall; fi
  case "$cmd" in
    install) install ;;
    uninstall) uninstall ;;
    status)
      status
      exit $?
      ;;
    print-unit) unit_text ;;
    *) fail "unknown command '$cmd' (install, uninstall, status, print-unit)" ;;
  esac
  exit 0
}

# Anything unexpected (a bug here, a signal) must still not fail the cluster.
trap 'log error "interrupted"; if [ "$STRICT" = true ]; then exit 1; fi; exit 0' INT TERM
main "$@"
