#!/usr/bin/env bash
# Builds faultline and runs the bundled demo order service under a scenario, then shows
# what fired. Usage: demo/run.sh [SCENARIO.toml] (default: scenarios/checkout-chaos.toml)
set -euo pipefail
cd "$(dirname "$0")/.."
scenario="${1:-scenarios/checkout-chaos.toml}"
cargo build --release --workspace --quiet
out=target/release
events="$out/demo-events.jsonl"
rm -f "$events"
echo "== demo order service, 200 orders, scenario $scenario"
java "-agentpath:$PWD/$out/libfaultline_agent.so=scenario=$scenario,events=$events" \
    -cp "$out/faultline-demo.jar" com.acme.DemoMain run --orders 200
echo
echo "== what faultline injected ($events)"
python3 - "$events" <<'PY'
import collections, json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
fired = collections.Counter()
where = collections.defaultdict(collections.Counter)
for e in events:
    if e["kind"] in ("latency", "exception", "hang", "return", "respond"):
        # A preset's event names the call (the SQL, the request): shown without its query.
        site = f'{e["preset"]} {e["matched"].split("?")[0]}' if "preset" in e else e["method"]
        fired[(e["fault"], e["kind"], site)] += 1
        if "caught" in e:
            where[e["fault"]][e["caught"]] += 1
for (fault, kind, site), n in sorted(fired.items()):
    print(f"{fault:>16}  {kind:<9} x{n:<4} in {site}")
    for site, m in where[fault].most_common(3):
        print(f"{'':>16}  caught at {site} (x{m})")
print(f"{len(events)} events in total; first one: {json.dumps(events[0]) if events else 'none'}")
PY
