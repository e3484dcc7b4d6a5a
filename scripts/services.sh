#!/usr/bin/env bash
# Local Kafka (single node, KRaft) and Redis for the integration and end-to-end tests.
#
#   bash scripts/services.sh up             install on first use, start both, wait until both answer
#   bash scripts/services.sh down           stop both (SIGTERM, wait, then SIGKILL)
#   bash scripts/services.sh status         report; exit 0 when both answer, 3 otherwise
#   bash scripts/services.sh env            EMBER_TEST_KAFKA_BROKERS=... and EMBER_TEST_REDIS_URL=... lines
#   bash scripts/services.sh restart-kafka  stop and start the broker, keeping its data (broker-restart tests)
#   bash scripts/services.sh stop-kafka     stop only the broker; start-kafka brings it back (outage tests)
#   bash scripts/services.sh restart-redis  stop and start Redis (its data is gone: no persistence; fault tests)
#   bash scripts/services.sh install        only install (Kafka jars via Maven, redis-server via apt)
#   bash scripts/services.sh logs           tails of both logs
#
# Everything lives under .cache/ (git-ignored): the broker jars in .cache/kafka/<version>-<pom hash>/,
# each service's config, data, log and pid file in .cache/services/{kafka,redis}-<port>/. Nothing
# system-wide is started or changed (apart from apt installing redis-server when it is missing).
# Why Kafka 4.x from Maven Central and these settings: docs/adr/0001-local-services.md.
#
# Environment:
#   EMBER_SVC_KAFKA_PORT             broker's plain listener (default 19092)
#   EMBER_SVC_KAFKA_CONTROLLER_PORT  KRaft controller listener (default: Kafka port + 1)
#   EMBER_SVC_REDIS_PORT             Redis (default 16379)
#   EMBER_SVC_KAFKA_HEAP             broker's -Xmx (default 512m)
#   EMBER_SVC_TIMEOUT                seconds to wait for each service to answer (default 120)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
POM="$ROOT/scripts/kafka/pom.xml"
LOG4J2="$ROOT/scripts/kafka/log4j2.properties"
SMOKE="$ROOT/scripts/kafka/smoke.mjs"

KAFKA_PORT="${EMBER_SVC_KAFKA_PORT:-19092}"
CTRL_PORT="${EMBER_SVC_KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
REDIS_PORT="${EMBER_SVC_REDIS_PORT:-16379}"
KAFKA_HEAP="${EMBER_SVC_KAFKA_HEAP:-512m}"
TIMEOUT="${EMBER_SVC_TIMEOUT:-120}"
HOST=127.0.0.1

KAFKA_VERSION="$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' "$POM" | head -n 1)"
KAFKA_HOME="$CACHE/kafka/$KAFKA_VERSION-$(sha256sum "$POM" | cut -c1-12)"
KDIR="$CACHE/services/kafka-$KAFKA_PORT"
RDIR="$CACHE/services/redis-$REDIS_PORT"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"

say() { printf 'services: %s\n' "$*"; }
die() {
  printf 'services: ERROR: %s\n' "$*" >&2
  exit 1
}

# One `up`/`down`/`restart-kafka` at a time (two test runners may start at once).
lock() {
  mkdir -p "$CACHE/services"
  exec 9>"$CACHE/services/.lock"
  flock -w 900 9 || die "another services.sh holds $CACHE/services/.lock for over 15 minutes"
}

port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# Prints the last lines of the given files to stderr, for errors.
show_tail() {
  local f
  for f in "$@"; do
    [ -s "$f" ] || continue
    printf -- '----- last lines of %s -----\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
  printf -- '-----\n' >&2
}

# pid from a pid file when that process is alive and its command line contains $2 (guards against
# a stale pid file whose number was reused by an unrelated process).
live_pid() {
  local file="$1" marker="$2" pid
  [ -s "$file" ] || return 1
  pid="$(tr -dc '0-9' <"$file")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker" || return 1
  echo "$pid"
}

# SIGTERM, wait up to $2 seconds, then SIGKILL.
stop_pid() {
  local pid="$1" grace="$2" name="$3" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < grace * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  say "$name (pid $pid) still running after ${grace}s: SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  die "$name (pid $pid) survived SIGKILL"
}

apt_install() {
  [ "$(id -u)" = 0 ] || die "need $* but not root: install it (apt-get install -y $*) and rerun"
  command -v apt-get >/dev/null || die "need $* and there is no apt-get: install it and rerun"
  say "installing $* with apt-get"
  local log="$CACHE/apt-install.log"
  mkdir -p "$CACHE"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"; } >"$log" 2>&1; then
    show_tail "$log"
    die "apt-get install $* failed (full log: $log)"
  fi
}

# ---------------------------------------------------------------------------------------------- Kafka

java_major() { "$JAVA" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1; }

install_kafka() {
  [ -f "$KAFKA_HOME/.complete" ] && return 0
  command -v "$JAVA" >/dev/null || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null || apt_install maven
  local major
  major="$(java_major)"
  if ! [[ "$major" =~ ^[0-9]+$ ]] || ((major < 17)); then
    die "Kafka $KAFKA_VERSION needs Java 17 or newer; $JAVA is version '${major:-unknown}'"
  fi

  say "installing Kafka $KAFKA_VERSION (KRaft) from Maven Central into ${KAFKA_HOME#"$ROOT"/}"
  local t0=$SECONDS tmp="$KAFKA_HOME.tmp.$$" log="$CACHE/kafka/mvn.log"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  # -q: only errors; the full output is kept in mvn.log when something fails.
  if ! mvn -f "$POM" -B -q -Dstyle.color=never \
    -Dmaven.wagon.http.retryHandler.count=3 \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp/libs" >"$log" 2>&1; then
    sed -i 's/\x1b\[[0-9;]*m//g' "$log" # Maven 3.8 colours even with -B
    show_tail "$log"
    rm -rf "$tmp"
    die "could not fetch the Kafka jars with Maven (full log: $log)"
  fi
  [ -f "$tmp/libs/kafka_2.13-$KAFKA_VERSION.jar" ] || die "Maven finished but kafka_2.13-$KAFKA_VERSION.jar is missing"
  echo "$KAFKA_VERSION" >"$tmp/.complete"
  rm -rf "$KAFKA_HOME"
  mv "$tmp" "$KAFKA_HOME"
  # Older installs (another version or pom) are of no further use.
  find "$CACHE/kafka" -mindepth 1 -maxdepth 1 -type d ! -path "$KAFKA_HOME" -exec rm -rf {} +
  say "Kafka jars ready ($(find "$KAFKA_HOME/libs" -name '*.jar' | wc -l) jars, $((SECONDS - t0))s)"
}

# The JVM command line shared by the broker and StorageTool.
KAFKA_JVM=("$JAVA" -Xms128m -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20
  -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true
  -Dlog4j2.configurationFile="$LOG4J2" -Dkafka.logs.dir="$KDIR/logs"
  -cp "$KAFKA_HOME/libs/*")
kafka_java() { "${KAFKA_JVM[@]}" "$@"; }

write_kafka_config() {
  mkdir -p "$KDIR/data" "$KDIR/logs"
  cat >"$KDIR/server.properties" <<EOF
# Written by scripts/services.sh on every start; edit the script, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$CTRL_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$CTRL_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$KDIR/data

# Tests create their topics explicitly; a typo must fail, not create a topic.
auto.create.topics.enable=false
num.partitions=3
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0

# Large uploads (64 MiB) pass end to end; socket.request.max.bytes (100 MiB default) stays above.
message.max.bytes=67108864
replica.fetch.max.bytes=67108864

# A 2-core machine shared with the tests.
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
EOF
}

kafka_pid() { live_pid "$KDIR/kafka.pid" "$KDIR/server.properties"; }

kafka_answers() {
  if [ -f "$ROOT/node_modules/kafkajs/package.json" ] && command -v node >/dev/null; then
    node "$SMOKE" ready --brokers "$HOST:$KAFKA_PORT" --timeout-ms 3000 >/dev/null 2>&1
  else
    # Without node_modules (npm ci not run yet): the listener is open and the broker said so.
    port_open "$KAFKA_PORT" && grep -q 'Kafka Server started' "$KDIR/logs/server.log" 2>/dev/null
  fi
}

format_kafka() {
  # Data written by another Kafka version is throwaway test data: start over rather than risk
  # an unsupported upgrade or downgrade of the metadata log.
  if [ -f "$KDIR/data/meta.properties" ] && [ "$(cat "$KDIR/kafka-version" 2>/dev/null)" != "$KAFKA_VERSION" ]; then
    say "data in ${KDIR#"$ROOT"/} is from Kafka $(cat "$KDIR/kafka-version" 2>/dev/null || echo '?'): wiping it"
    rm -rf "$KDIR/data"
    mkdir -p "$KDIR/data"
  fi
  if [ ! -s "$KDIR/cluster-id" ]; then
    kafka_java kafka.tools.StorageTool random-uuid >"$KDIR/cluster-id.tmp" 2>"$KDIR/logs/format.log" ||
      { show_tail "$KDIR/logs/format.log"; die "StorageTool random-uuid failed"; }
    mv "$KDIR/cluster-id.tmp" "$KDIR/cluster-id"
  fi
  if [ ! -f "$KDIR/data/meta.properties" ]; then
    kafka_java kafka.tools.StorageTool format --ignore-formatted \
      -t "$(tr -d '[:space:]' <"$KDIR/cluster-id")" -c "$KDIR/server.properties" >"$KDIR/logs/format.log" 2>&1 ||
      { show_tail "$KDIR/logs/format.log"; die "could not format the KRaft storage in $KDIR/data"; }
    echo "$KAFKA_VERSION" >"$KDIR/kafka-version"
  fi
}

start_kafka() {
  local pid
  if pid="$(kafka_pid)"; then
    wait_kafka "$pid"
    return 0
  fi
  port_open "$KAFKA_PORT" && die "port $KAFKA_PORT is in use by another process: set EMBER_SVC_KAFKA_PORT"
  port_open "$CTRL_PORT" && die "port $CTRL_PORT is in use by another process: set EMBER_SVC_KAFKA_CONTROLLER_PORT"
  install_kafka
  write_kafka_config
  format_kafka
  local t0=$SECONDS
  : >"$KDIR/logs/stdout.log"
  rm -f "$KDIR/kafka.pid"
  KLOG_START="$(stat -c %s "$KDIR/logs/server.log" 2>/dev/null || echo 0)"
  # setsid: the broker outlives this shell (and a Ctrl-C of the test runner). The inner bash writes
  # its own pid and then becomes the JVM, so the pid file names the broker. 9>&-: the broker must
  # not inherit the lock.
  # shellcheck disable=SC2016
  setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$KDIR/kafka.pid" \
    "${KAFKA_JVM[@]}" kafka.Kafka "$KDIR/server.properties" \
    </dev/null >>"$KDIR/logs/stdout.log" 2>&1 9>&- &
  local i
  for ((i = 0; i < 50; i++)); do
    [ -s "$KDIR/kafka.pid" ] && break
    sleep 0.1
  done
  pid="$(tr -dc '0-9' <"$KDIR/kafka.pid")"
  wait_kafka "$pid"
  say "kafka $KAFKA_VERSION up on $HOST:$KAFKA_PORT (pid $pid, $((SECONDS - t0))s)"
}

# The JVM's own output, and what the broker logged since this start (server.log is appended to).
kafka_failure_tail() {
  show_tail "$KDIR/logs/stdout.log"
  local log="$KDIR/logs/server.log" size
  size="$(stat -c %s "$log" 2>/dev/null || echo 0)"
  if ((size > ${KLOG_START:-0})); then
    printf -- '----- last lines of %s (this start) -----\n' "$log" >&2
    tail -c +"$((${KLOG_START:-0} + 1))" "$log" | tail -n 40 >&2
    printf -- '-----\n' >&2
  fi
}

wait_kafka() {
  local pid="$1" deadline=$((SECONDS + TIMEOUT))
  while ! kafka_answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      kafka_failure_tail
      die "kafka exited while starting (logs in ${KDIR#"$ROOT"/}/logs)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      kafka_failure_tail
      die "kafka (pid $pid) did not answer a metadata request on $HOST:$KAFKA_PORT within ${TIMEOUT}s"
    fi
    sleep 0.5
  done
}

stop_kafka() {
  local pid
  if pid="$(kafka_pid)"; then
    # A clean KRaft shutdown of one node takes a few seconds; the log is recovered if it is killed.
    stop_pid "$pid" 45 kafka
    say "kafka stopped"
  fi
  rm -f "$KDIR/kafka.pid"
}

# ---------------------------------------------------------------------------------------------- Redis

install_redis() {
  command -v redis-server >/dev/null && command -v redis-cli >/dev/null && return 0
  apt_install redis-server
}

redis_pid() { live_pid "$RDIR/redis.pid" "redis-server"; }

redis_answers() { [ "$(redis-cli -h "$HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

start_redis() {
  local pid
  install_redis
  if pid="$(redis_pid)"; then
    wait_redis "$pid"
    return 0
  fi
  port_open "$REDIS_PORT" && die "port $REDIS_PORT is in use by another process: set EMBER_SVC_REDIS_PORT"
  mkdir -p "$RDIR/data"
  cat >"$RDIR/redis.conf" <<EOF
# Written by scripts/services.sh on every start; edit the script, not this file.
bind $HOST
port $REDIS_PORT
protected-mode yes
daemonize yes
pidfile $RDIR/redis.pid
logfile $RDIR/redis.log
dir $RDIR/data
# Test data: no snapshots or AOF (no fork under load, nothing to clean).
save ""
appendonly no
always-show-logo no
EOF
  local t0=$SECONDS
  rm -f "$RDIR/redis.pid"
  redis-server "$RDIR/redis.conf" </dev/null >>"$RDIR/redis.log" 2>&1 9>&- || {
    show_tail "$RDIR/redis.log"
    die "redis-server did not start"
  }
  local i
  for ((i = 0; i < 50; i++)); do
    [ -s "$RDIR/redis.pid" ] && break
    sleep 0.1
  done
  pid="$(tr -dc '0-9' <"$RDIR/redis.pid" 2>/dev/null || true)"
  wait_redis "${pid:-0}"
  say "redis $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') up on $HOST:$REDIS_PORT (pid $pid, $((SECONDS - t0))s)"
}

wait_redis() {
  local pid="$1" deadline=$((SECONDS + TIMEOUT))
  while ! redis_answers; do
    if ! kill -0 "$pid" 2>/dev/null; then
      show_tail "$RDIR/redis.log"
      die "redis exited while starting (log: ${RDIR#"$ROOT"/}/redis.log)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      show_tail "$RDIR/redis.log"
      die "redis (pid $pid) did not answer PING on $HOST:$REDIS_PORT within ${TIMEOUT}s"
    fi
    sleep 0.2
  done
}

stop_redis() {
  local pid
  if pid="$(redis_pid)"; then
    stop_pid "$pid" 15 redis
    say "redis stopped"
  fi
  rm -f "$RDIR/redis.pid"
}

# ---------------------------------------------------------------------------------------------- main

status() {
  local rc=0 pid
  if pid="$(kafka_pid)"; then
    if kafka_answers; then
      say "kafka $KAFKA_VERSION: up on $HOST:$KAFKA_PORT (pid $pid, data ${KDIR#"$ROOT"/}/data)"
    else
      say "kafka $KAFKA_VERSION: running (pid $pid) but not answering on $HOST:$KAFKA_PORT"
      rc=3
    fi
  else
    say "kafka $KAFKA_VERSION: down ($([ -f "$KAFKA_HOME/.complete" ] && echo installed || echo 'not installed'))"
    rc=3
  fi
  if pid="$(redis_pid)"; then
    if redis_answers; then
      say "redis: up on $HOST:$REDIS_PORT (pid $pid)"
    else
      say "redis: running (pid $pid) but not answering on $HOST:$REDIS_PORT"
      rc=3
    fi
  else
    say "redis: down"
    rc=3
  fi
  return "$rc"
}

cmd="${1:-}"
case "$cmd" in
  up)
    lock
    t0=$SECONDS
    if kafka_pid >/dev/null && redis_pid >/dev/null && kafka_answers && redis_answers; then
      say "already up (kafka $HOST:$KAFKA_PORT, redis $HOST:$REDIS_PORT)"
      exit 0
    fi
    start_redis
    start_kafka
    say "up in $((SECONDS - t0))s"
    ;;
  down)
    lock
    stop_kafka
    stop_redis
    ;;
  restart-kafka)
    lock
    t0=$SECONDS
    stop_kafka
    start_kafka
    say "kafka restarted in $((SECONDS - t0))s"
    ;;
  restart-redis)
    lock
    t0=$SECONDS
    stop_redis
    start_redis
    say "redis restarted in $((SECONDS - t0))s"
    ;;
  stop-kafka)
    # for failure tests: the broker goes away, Redis stays (start-kafka brings it back)
    lock
    stop_kafka
    ;;
  start-kafka)
    lock
    start_kafka
    ;;
  status) status ;;
  env)
    echo "EMBER_TEST_KAFKA_BROKERS=$HOST:$KAFKA_PORT"
    echo "EMBER_TEST_REDIS_URL=redis://$HOST:$REDIS_PORT"
    ;;
  install)
    lock
    install_redis
    install_kafka
    ;;
  logs)
    show_tail "$KDIR/logs/stdout.log" "$KDIR/logs/server.log" "$RDIR/redis.log" 2>&1
    ;;
  *)
    sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
    ;;
esac
