#!/usr/bin/env bash
# Time from starting `ksn-setup` to its wizard window being mapped on an X server (Xvfb),
# and the size of the stripped release binary.
#
#   bash benches/startup.sh [--runs N]
#
# Needs Xvfb and xdotool (installed with apt-get when missing and run as root).
set -euo pipefail
runs=10
[[ "${1:-}" == "--runs" ]] && runs="$2"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

for tool in Xvfb xdotool; do
  if ! command -v "$tool" >/dev/null; then
    [[ "$(id -u)" -eq 0 ]] || { echo "error: $tool is missing (apt-get install xvfb xdotool)" >&2; exit 1; }
    apt-get update -q >/dev/null && apt-get install -y -q xvfb xdotool >/dev/null
  fi
done

cargo build --release --quiet
bin="${CARGO_TARGET_DIR:-$repo/target}/release/ksn-setup"

display=":97"
Xvfb "$display" -screen 0 1024x768x24 >/dev/null 2>&1 &
xvfb=$!
trap 'kill $xvfb 2>/dev/null || true' EXIT
sleep 1
export DISPLAY="$display"

times=()
for ((i = 0; i < runs; i++)); do
  dir="$(mktemp -d)"
  start=$(date +%s%N)
  "$bin" --dir "$dir/p" >/dev/null 2>&1 &
  pid=$!
  until xdotool search --onlyvisible --name "KSN Demo Security Setup" >/dev/null 2>&1; do :; done
  end=$(date +%s%N)
  times+=($(((end - start) / 1000000)))
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
done

sorted=$(printf '%s\n' "${times[@]}" | sort -n)
median=$(printf '%s\n' "$sorted" | awk -v n="${#times[@]}" 'NR == int((n + 1) / 2)')
min=$(printf '%s\n' "$sorted" | head -1)
max=$(printf '%s\n' "$sorted" | tail -1)
size=$(stat -c %s "$bin")
printf '| measure | value |\n| --- | --- |\n'
printf '| stripped release binary | %s bytes (%.1f MB) |\n' "$size" "$(echo "$size / 1000000" | bc -l)"
printf '| start to wizard window mapped (Xvfb, %d runs) | median %d ms (min %d, max %d) |\n' "$runs" "$median" "$min" "$max"
