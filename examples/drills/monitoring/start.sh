#!/usr/bin/env bash
# Starts Prometheus (127.0.0.1:9090) and Alertmanager (127.0.0.1:9093) for the monitored demo
# drill, with the configurations beside this script and their data in a temporary directory;
# Ctrl-C stops both. Needs Debian's `prometheus` and `prometheus-alertmanager` packages.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$data"' EXIT
prometheus-alertmanager --config.file="$here/alertmanager.yml" --storage.path="$data/alertmanager" \
    --web.listen-address=127.0.0.1:9093 --cluster.listen-address= 2>"$data/alertmanager.log" &
prometheus --config.file="$here/prometheus.yml" --storage.tsdb.path="$data/prometheus" \
    --web.listen-address=127.0.0.1:9090 2>"$data/prometheus.log" &
echo "Prometheus on http://127.0.0.1:9090, Alertmanager on http://127.0.0.1:9093 (Ctrl-C stops both)"
wait
