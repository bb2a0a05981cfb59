#!/usr/bin/env bash
# A chat from the CLI, tokens printed as they stream:
#   bash examples/cone-cli.sh "What is a cone?"
# With OPENAI_API_KEY set it talks to OpenAI (MODEL=gpt-4o-mini by default); without
# it the fake provider of the test suite stands in, on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
prompt="${1:-Hello there, cone!}"
model="${MODEL:-gpt-4o-mini}"
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

# Waits for a line matching $2 in file $1 and prints the first capture (a URL).
wait_for() { for _ in $(seq 100); do m=$(sed -nE "s/$2/\1/p" "$1" | head -1); [ -n "$m" ] && { echo "$m"; return; }; sleep 0.1; done; echo "timed out waiting for $1" >&2; cat "$1" >&2; exit 1; }

if [ -z "${OPENAI_API_KEY:-}" ]; then
  node --import tsx test/support/fake-llm-server.ts 0 > "$work/fake.log" &
  pids+=($!)
  export OPENAI_BASE_URL="$(wait_for "$work/fake.log" '.*OPENAI_BASE_URL=([^)]*)\).*')"
  echo "(no OPENAI_API_KEY: using the fake provider at $OPENAI_BASE_URL)"
fi

node bin/hub.js serve --port 0 --no-builtins --with cone --data-dir "$work/data" > "$work/hub.log" &
pids+=($!)
url="$(wait_for "$work/hub.log" '.* on (ws:\/\/[^ ]*)$')"

set -x
node bin/hub.js call cone.create --url "$url" --name demo --model_id "$model" --system_prompt "Answer in one sentence."
node bin/hub.js call cone.chat --url "$url" --identifier demo --prompt "$prompt" --text content
node bin/hub.js call cone.chat --url "$url" --identifier demo --prompt "And in three words?" --text content
node bin/hub.js call cone.get --url "$url" --identifier demo
set +x
# The conversation as arbor stores it (cone resolves its message handles for the render).
tree=$(node bin/hub.js call cone.get --url "$url" --identifier demo --raw | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const l of s.trim().split("\n")){const i=JSON.parse(l);if(i.type==="data")console.log(i.content.cone.head.tree_id)}})')
node bin/hub.js call arbor.tree_render --url "$url" --tree_id "$tree" --raw | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const l of s.trim().split("\n")){const i=JSON.parse(l);if(i.type==="data")process.stdout.write(i.content.render)}})'
