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
# Besides the plaintext listener on KAFKA_PORT it listens with SASL/PLAIN on
# KAFKA_PORT+2 (user grep-streams, password grep-streams-secret) and with TLS
# on KAFKA_PORT+3 (a certificate for 127.0.0.1 signed by a CA made at start,
# $RUN/tls/ca.pem), for the tests of those client options.
#
# Environment: KAFKA_VERSION (default 4.1.1), KAFKA_PORT (19092),
# KAFKA_CONTROLLER_PORT (19093), GREP_STREAMS_CACHE (~/.cache/grep-streams).
# Each `up` of a stopped broker starts a fresh, empty cluster.
set -euo pipefail

KAFKA_VERSION=${KAFKA_VERSION:-4.1.1}
LOG4J_VERSION=2.24.3
PORT=${KAFKA_PORT:-19092}
CPORT=${KAFKA_CONTROLLER_PORT:-19093}
SASL_PORT=$((PORT + 2))
TLS_PORT=$((PORT + 3))
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
  if port_open "$PORT" || port_open "$CPORT" || port_open "$SASL_PORT" || port_open "$TLS_PORT"; then
    say "port $PORT, $CPORT, $SASL_PORT or $TLS_PORT is taken by another process; set KAFKA_PORT / KAFKA_CONTROLLER_PORT"
    exit 1
  fi
  fetch
  if [ "$1" = keep ] && [ -f "$RUN/server.properties" ]; then
    launch
    return
  fi
  rm -rf "$RUN"
  mkdir -p "$RUN/data"
  make_certs
  cat >"$RUN/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CPORT
listeners=PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CPORT,SASL_PLAINTEXT://127.0.0.1:$SASL_PORT,SSL://127.0.0.1:$TLS_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$PORT,SASL_PLAINTEXT://127.0.0.1:$SASL_PORT,SSL://127.0.0.1:$TLS_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL
# SASL/PLAIN for clients only (brokers talk plaintext): one test user.
sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.sasl.enabled.mechanisms=PLAIN
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_grep-streams="grep-streams-secret";
# TLS with a PEM key and certificate (no client certificates asked for).
ssl.keystore.type=PEM
ssl.keystore.location=$RUN/tls/broker.pem
ssl.client.auth=none
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

# A CA and a certificate for 127.0.0.1 signed by it, for the TLS listener.
make_certs() {
  need openssl "install OpenSSL (Debian: apt-get install openssl)"
  local d="$RUN/tls"
  mkdir -p "$d"
  {
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/ca.key" -out "$d/ca.pem" -days 3650 -subj "/CN=grep-streams test CA"
    openssl req -newkey rsa:2048 -nodes -keyout "$d/broker.key" -out "$d/broker.csr" -subj "/CN=127.0.0.1"
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$d/san.ext"
    openssl x509 -req -in "$d/broker.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -out "$d/broker.crt" -days 3650 -extfile "$d/san.ext"
    # Kafka's PEM keystore wants the key in PKCS#8 and the certificate after it.
    openssl pkcs8 -topk8 -nocrypt -in "$d/broker.key" -out "$d/broker.pk8"
  } >>"$RUN/format.log" 2>&1 || { say "making the test certificates failed:"; cat "$RUN/format.log" >&2; exit 1; }
  cat "$d/broker.pk8" "$d/broker.crt" >"$d/broker.pem"
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
  *) say "usage: scripts/kafka.sh up|down|restart|status|fetch|logs"; exit 2 ;;
esac
