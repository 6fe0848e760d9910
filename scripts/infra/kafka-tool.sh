#!/usr/bin/env bash
# Run a Kafka CLI tool on the jars cached by up.sh (no Kafka distribution needed).
#   scripts/infra/kafka-tool.sh topics --list
#   scripts/infra/kafka-tool.sh topics --create --topic t1 --partitions 3
#   echo hi | scripts/infra/kafka-tool.sh console-producer --topic t1
#   scripts/infra/kafka-tool.sh console-consumer --topic t1 --from-beginning --max-messages 1
#   scripts/infra/kafka-tool.sh consumer-groups --list
#   scripts/infra/kafka-tool.sh org.apache.kafka.tools.GetOffsetShell --topic t1
# --bootstrap-server 127.0.0.1:$KAFKA_PORT is put first unless given.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
source "$INFRA_DIR/services.sh"

(($# >= 1)) || die "usage: kafka-tool.sh TOOL [args...] (topics, console-producer, console-consumer, consumer-groups, metadata-quorum, or a class name)"
tool=$1; shift
case $tool in
  topics) class=org.apache.kafka.tools.TopicCommand ;;
  console-producer) class=org.apache.kafka.tools.ConsoleProducer ;;
  console-consumer) class=org.apache.kafka.tools.consumer.ConsoleConsumer ;;
  consumer-groups) class=org.apache.kafka.tools.consumer.group.ConsumerGroupCommand ;;
  metadata-quorum) class=org.apache.kafka.tools.MetadataQuorumCommand ;;
  *.*) class=$tool ;;
  *) die "unknown Kafka tool '$tool'" ;;
esac
[[ -f "$KAFKA_HOME/.complete" ]] || kafka_install

args=()
[[ " $* " == *" --bootstrap-server "* || " $* " == *" --bootstrap-controller "* ]] \
  || args+=(--bootstrap-server "$INFRA_HOST:$KAFKA_PORT")
args+=("$@")
exec java -Xmx256m -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
  -Dlog4j2.configurationFile="$INFRA_DIR/kafka/tools-log4j2.properties" \
  -cp "$KAFKA_HOME/libs/*" "$class" "${args[@]}"
