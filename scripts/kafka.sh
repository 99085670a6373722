#!/usr/bin/env bash
# A real single-node Apache Kafka broker (KRaft mode, broker + controller in
# one JVM) on loopback, for development and tests. The jars come from Maven
# Central through the machine's Maven and are cached outside the repo.
#
#   scripts/kafka.sh up        fetch (first time), format and start; waits until ready
#   scripts/kafka.sh down      stop (SIGTERM, then SIGKILL after 30 s)
#   scripts/kafka.sh restart   stop and start again, keeping the data (for outage tests)
#   scripts/kafka.sh status    exit 0 and print the bootstrap address if running
#   scripts/kafka.sh fetch     only download the jars
#   scripts/kafka.sh logs      the broker's log
#
# Environment: KAFKA_VERSION (default 4.1.1), KAFKA_PORT (19092),
# KAFKA_CONTROLLER_PORT (19093), GREP_STREAMS_CACHE (~/.cache/grep-streams).
# Each `up` of a stopped broker starts a fresh, empty cluster.
set -euo pipefail

KAFKA_VERSION=${KAFKA_VERSION:-4.1.1}
LOG4J_VERSION=2.24.3
PORT=${KAFKA_PORT:-19092}
CPORT=${KAFKA_CONTROLLER_PORT:-19093}
CACHE=${GREP_STREAMS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/grep-streams}
LIBS="$CACHE/kafka-$KAFKA_VERSION/libs"
RUN="$CACHE/kafka-run-$PORT"
PIDFILE="$RUN/kafka.pid"
LOG="$RUN/server.log"
java_opts=(-Xms256m -Xmx768m -XX:+UseG1GC -Djava.awt.headless=true
  "-Dlog4j2.configurationFile=$RUN/log4j2.properties" "-Dkafka.logs.dir=$RUN")

say() { printf 'kafka.sh: %s\n' "$*" >&2; }

need() {
  command -v "$1" >/dev/null 2>&1 || { say "$1 is required: $2"; exit 1; }
}

fetch() {
  [ -f "$LIBS/.complete" ] && return 0
  need java "install a Java 17 or newer JDK"
  need mvn "install Maven (Debian: apt-get install maven)"
  say "fetching Apache Kafka $KAFKA_VERSION jars with Maven into $LIBS (first time only)"
  local work
  work=$(mktemp -d)
  cat >"$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.grep-streams</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>$KAFKA_VERSION</version></dependency>
    <!-- Kafka 4 logs through log4j2; the binding is not a transitive dependency. -->
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-api</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-core</artifactId><version>$LOG4J_VERSION</version></dependency>
    <dependency><groupId>org.apache.logging.log4j</groupId><artifactId>log4j-slf4j-impl</artifactId><version>$LOG4J_VERSION</version></dependency>
  </dependencies>
</project>
POM
  rm -rf "$LIBS"
  mkdir -p "$LIBS"
  mvn -q -B -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$LIBS"
  rm -rf "$work"
  touch "$LIBS/.complete"
  say "fetched $(ls "$LIBS" | wc -l) jars"
}

running() {
  [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

up() {
  start fresh
}

# start fresh|keep: a new empty cluster, or the stopped one with its data.
start() {
  if running; then
    say "already running on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"
    echo "127.0.0.1:$PORT"
    return 0
  fi
  if port_open "$PORT" || port_open "$CPORT"; then
    say "port $PORT or $CPORT is taken by another process; set KAFKA_PORT / KAFKA_CONTROLLER_PORT"
    exit 1
  fi
  fetch
  if [ "$1" = keep ] && [ -f "$RUN/server.properties" ]; then
    launch
    return
  fi
  rm -rf "$RUN"
  mkdir -p "$RUN/data"
  cat >"$RUN/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$RUN/data
num.partitions=4
auto.create.topics.enable=true
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
# No time-based retention unless a topic asks for it (retention.ms). The tests
# write history with fixed timestamps (2026-01-01, 1_700_000_000_000, even
# 1000 ms), which Kafka's default of 7 days deletes, active segment included,
# at the next retention check (every 5 s here): records vanished between a
# test's produce and its reads (a count of 0, or a subscription waiting for
# an event that was gone). Tests of retention set it per topic or use
# DeleteRecords.
log.retention.ms=-1
log.retention.check.interval.ms=5000
PROPS
  cat >"$RUN/log4j2.properties" <<'L4J'
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache.kafka
logger.apache.level = WARN
L4J
  local cluster_id
  cluster_id=$(java -cp "$LIBS/*" "${java_opts[@]}" kafka.tools.StorageTool random-uuid 2>>"$RUN/format.log" | tail -n 1)
  java -cp "$LIBS/*" "${java_opts[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$RUN/server.properties" >>"$RUN/format.log" 2>&1 ||
    { say "formatting the storage failed:"; cat "$RUN/format.log" >&2; exit 1; }
  launch
}

launch() {
  # Readiness is read from the log: a restart must not see the previous run's lines.
  [ -f "$LOG" ] && mv "$LOG" "$LOG.prev"
  say "starting Kafka $KAFKA_VERSION on 127.0.0.1:$PORT"
  nohup java -cp "$LIBS/*" "${java_opts[@]}" kafka.Kafka "$RUN/server.properties" >"$RUN/stdout.log" 2>&1 &
  echo $! >"$PIDFILE"
  local deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-90}))
  until grep -q "Kafka Server started" "$LOG" 2>/dev/null && port_open "$PORT"; do
    if ! running; then
      say "the broker exited during start-up; its output:"
      tail -n 40 "$RUN/stdout.log" "$LOG" >&2 2>/dev/null || true
      exit 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "the broker did not become ready in time; stopping it"
      down
      exit 1
    fi
    sleep 0.5
  done
  say "ready on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"), logs in $RUN)"
  echo "127.0.0.1:$PORT"
}

down() {
  if ! running; then
    say "not running"
    rm -f "$PIDFILE"
    return 0
  fi
  local pid
  pid=$(cat "$PIDFILE")
  kill -TERM "$pid"
  for _ in $(seq 60); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "still running after 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PIDFILE"
  say "stopped"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  restart) down && start keep ;;
  status) if running; then echo "127.0.0.1:$PORT"; else say "not running"; exit 1; fi ;;
  fetch) fetch ;;
  logs) cat "$LOG" ;;
  *) say "usage: scripts/kafka.sh up|down|status|fetch|logs"; exit 2 ;;
esac
