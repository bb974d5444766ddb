#!/usr/bin/env bash
# Local OpenSearch: one node on 127.0.0.1:$OPENSEARCH_PORT (transport $OPENSEARCH_TRANSPORT_PORT),
# no security plugin, with the k-NN plugin. Built once from Maven Central into
# $RAGCHAT_CACHE_DIR/opensearch-$OPENSEARCH_VERSION (reusable by any clone): the integ-test-zip
# distribution, the modules it lacks (assembled from their jars, see install_module) and the k-NN
# plugin zip. Config copy, data and logs live in $RAGCHAT_LOCAL_DIR. Runs as $RAGCHAT_SERVICE_USER
# because OpenSearch refuses root.
#
# Java: OpenSearch 3.x needs Java 21+ and runs on $OPENSEARCH_JAVA_HOME (env.sh picks the version
# by what Java is there). Maven itself runs on the system's Java 17.
#
# k-NN and native libraries: the k-NN zip on Maven Central has no native faiss/nmslib libraries.
# The plugin starts anyway (it loads them lazily) and the Lucene HNSW engine, the only one this
# project uses, is pure Java and works. But the first write to a field of engine faiss or nmslib
# throws UnsatisfiedLinkError, which OpenSearch treats as fatal: the node exits. Every knn_vector
# mapping must therefore name "engine": "lucene" explicitly (2.19 and 3.x default to faiss).
# Usage: opensearch.sh up|down|status
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

COMPONENT=opensearch
PORT=$OPENSEARCH_PORT
START_TIMEOUT=$OPENSEARCH_START_TIMEOUT
OPENSEARCH_HOME="$RAGCHAT_CACHE_DIR/opensearch-$OPENSEARCH_VERSION"
KNN_VERSION="$OPENSEARCH_VERSION.0"
OS_CONF="$CONF_DIR/opensearch"
OS_DATA="$DATA_DIR/opensearch"
OS_LOGS="$LOG_DIR/opensearch"
OS_TMP="$RAGCHAT_LOCAL_DIR/tmp/opensearch"
PROCESS_MARKER="-Dopensearch.path.conf=$OS_CONF"

# 3.x: OPENSEARCH_JAVA_HOME (Java 21+); 2.x: the system's Java 17 (2.x needs the Security
# Manager, which Java 24 removed).
java_home() {
  if ((${OPENSEARCH_VERSION%%.*} < 3)); then
    dirname "$(dirname "$(readlink -f "$(command -v java)")")"
  elif [[ -x $OPENSEARCH_JAVA_HOME/bin/java ]]; then
    echo "$OPENSEARCH_JAVA_HOME"
  else
    die "OpenSearch $OPENSEARCH_VERSION needs Java 21 or newer: set OPENSEARCH_JAVA_HOME to one"
  fi
}

# mvn_copy GROUP:ARTIFACT:VERSION:zip DIR
mvn_copy() {
  mvn_run org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy -Dartifact="$1" \
    -DoutputDirectory="$2"
}

# install_module HOME NAME ARTIFACT CLASS EXTENDED_PLUGINS [POLICY_LINE...]: the 2.x integ-test-zip
# ships only transport-netty4 (3.x ships these modules, and then this does nothing). A module is its
# jar plus runtime dependencies (minus jars the server already has in lib/, which would fail
# OpenSearch's jar-hell check), a plugin descriptor and a security policy; the values below are
# those of the full distribution. lang-painless is required (k-NN extends it); analysis-common (the
# retriever's "english" analyzer), reindex (its _delete_by_query and _reindex) and mapper-extras
# (common field types) make this node behave like the full distribution that docker-compose runs.
install_module() {
  local home=$1 name=$2 artifact=$3 class=$4 extended=$5 jar
  shift 5
  local dir="$home/modules/$name" jars="$home/.module-jars/$name"
  [[ -d $dir ]] && return
  mvn_run -f "$LOCAL_SCRIPTS_DIR/opensearch/module-pom.xml" -Dopensearch.version="$OPENSEARCH_VERSION" \
    -Dopensearch.module="$artifact" dependency:copy-dependencies -DoutputDirectory="$jars"
  mkdir -p "$dir"
  for jar in "$jars"/*.jar; do
    [[ -e $home/lib/${jar##*/} ]] || cp "$jar" "$dir/"
  done
  cat >"$dir/plugin-descriptor.properties" <<EOF
description=$name module, assembled from Maven Central by deploy/local/opensearch.sh
version=$OPENSEARCH_VERSION
name=$name
classname=$class
java.version=11
opensearch.version=$OPENSEARCH_VERSION
custom.foldername=
extended.plugins=$extended
has.native.controller=false
EOF
  if (($#)); then
    printf 'grant {\n%s\n};\n' "$(printf '  %s\n' "$@")" >"$dir/plugin-security.policy"
  fi
}

# Builds the distribution in a temporary folder renamed into place when complete.
install_distribution() {
  log "installing OpenSearch $OPENSEARCH_VERSION + k-NN $KNN_VERSION from Maven Central into $OPENSEARCH_HOME"
  mkdir -p "$RAGCHAT_CACHE_DIR"
  local tmp home
  tmp=$(mktemp -d "$OPENSEARCH_HOME.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  mvn_copy "org.opensearch.distribution.integ-test-zip:opensearch:$OPENSEARCH_VERSION:zip" "$tmp"
  mvn_copy "org.opensearch.plugin:opensearch-knn:$KNN_VERSION:zip" "$tmp"
  unzip -q "$tmp/opensearch-$OPENSEARCH_VERSION.zip" -d "$tmp"
  home="$tmp/opensearch-$OPENSEARCH_VERSION"
  install_module "$home" lang-painless lang-painless org.opensearch.painless.PainlessPlugin "" \
    'permission java.lang.RuntimePermission "createClassLoader";' \
    'permission java.lang.RuntimePermission "getClassLoader";'
  install_module "$home" analysis-common analysis-common \
    org.opensearch.analysis.common.CommonAnalysisPlugin lang-painless
  install_module "$home" mapper-extras mapper-extras-client \
    org.opensearch.index.mapper.MapperExtrasPlugin ""
  install_module "$home" reindex reindex-client org.opensearch.index.reindex.ReindexPlugin "" \
    'permission java.net.SocketPermission "*", "connect";'
  rm -rf "$home/.module-jars"
  if ! OPENSEARCH_JAVA_HOME=$(java_home) "$home/bin/opensearch-plugin" install --batch \
    "file://$tmp/opensearch-knn-$KNN_VERSION.zip" >>"$LOG_DIR/opensearch-install.log" 2>&1; then
    show_log_tail "$LOG_DIR/opensearch-install.log"
    die "installing the k-NN plugin failed"
  fi
  # The service user reads it: mktemp made the parent 0700, and root's umask may be strict.
  chmod -R a+rX "$home"
  install_into_place "$home" "$OPENSEARCH_HOME"
  rm -rf "$tmp"
  trap - EXIT
}

component_install() {
  ensure_java
  ensure_command unzip unzip
  ensure_command curl curl
  ensure_service_user
  [[ -d $OPENSEARCH_HOME ]] || install_distribution
  grant_traverse "$OPENSEARCH_HOME"
  grant_traverse "$RAGCHAT_LOCAL_DIR"
}

# A config copy rewritten on every start (the keystore the node creates there is kept).
component_configure() {
  mkdir -p "$OS_CONF/jvm.options.d" "$OS_DATA" "$OS_LOGS" "$OS_TMP"
  cp "$OPENSEARCH_HOME/config/log4j2.properties" "$OS_CONF/"
  # jvm.options names paths relative to the working directory: make them absolute.
  sed -e "s|logs/gc.log|$OS_LOGS/gc.log|" -e "s|HeapDumpPath=data|HeapDumpPath=$OS_DATA|" \
    -e "s|ErrorFile=logs/|ErrorFile=$OS_LOGS/|" \
    "$OPENSEARCH_HOME/config/jvm.options" >"$OS_CONF/jvm.options"
  printf -- '-Xms%s\n-Xmx%s\n' "$OPENSEARCH_HEAP" "$OPENSEARCH_HEAP" \
    >"$OS_CONF/jvm.options.d/heap.options"
  cat >"$OS_CONF/opensearch.yml" <<EOF
# Generated by deploy/local/opensearch.sh on every start: edit the script, not this file.
cluster.name: ragchat-local
node.name: local
network.host: 127.0.0.1
http.port: $OPENSEARCH_PORT
transport.port: $OPENSEARCH_TRANSPORT_PORT
discovery.type: single-node
path.data: $OS_DATA
path.logs: $OS_LOGS
# A nearly full developer disk must not turn indices read-only.
cluster.routing.allocation.disk.threshold_enabled: false
EOF
  chown_service_user "$OS_CONF" "$OS_DATA" "$OS_LOGS" "$OS_TMP"
}

# bin/opensearch execs the JVM, so the pid of this background job is the server's.
component_start() {
  (
    OPENSEARCH_JAVA_HOME=$(java_home)
    export OPENSEARCH_JAVA_HOME OPENSEARCH_PATH_CONF="$OS_CONF" OPENSEARCH_TMPDIR="$OS_TMP"
    exec_as_service_user setsid "$OPENSEARCH_HOME/bin/opensearch"
  ) </dev/null >>"$(log_file)" 2>&1 &
  echo $! >"$(pid_file)"
}

component_healthy() {
  curl -fsS -m 5 -o /dev/null \
    "http://127.0.0.1:$OPENSEARCH_PORT/_cluster/health?wait_for_status=yellow&timeout=1s" 2>/dev/null
}

component_main "$@"
