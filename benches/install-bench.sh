#!/usr/bin/env bash
# Benchmark: `ksn-setup install --payload P --dir T` against `tar -xf payload.tar -C T`
# (and `tar -xf … && sync -f T`) on the same payload, the same file system, in one run.
#
#   bash benches/install-bench.sh [--runs N] [--cold] [--dest-dir DIR]
#
# See benches/README.md for what is measured and how to read the result.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: bash benches/install-bench.sh [--runs N] [--cold] [--dest-dir DIR]

  --runs N   timed runs per command (default 5, at least 2)
  --cold     drop the page cache (sync; echo 3 > /proc/sys/vm/drop_caches) before
             every run; needs root. Default: warm cache, with one warm-up run.
  --dest-dir DIR
             install and extract under DIR (e.g. a tmpfs, to take the disk out of the
             comparison) instead of target/bench.

Writes target/bench/install.md (also printed) and hyperfine's own exports beside it.
EOF
}

runs=5
cold=0
dest_dir=""
while (($#)); do
  case "$1" in
    --runs)
      (($# >= 2)) || { echo "error: --runs needs a value" >&2; exit 2; }
      runs="$2"; shift 2 ;;
    --runs=*) runs="${1#--runs=}"; shift ;;
    --cold) cold=1; shift ;;
    --dest-dir)
      (($# >= 2)) || { echo "error: --dest-dir needs a value" >&2; exit 2; }
      dest_dir="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
if ! [[ "$runs" =~ ^[0-9]+$ ]] || ((runs < 2)); then
  echo "error: --runs must be an integer >= 2 (got '$runs')" >&2
  exit 2
fi

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

# Everything the benchmark writes lives under the repo's target/ folder, so the payload,
# the tarball and the install target are all on one file system.
payload_root="$repo/target/bench-payload"  # cached payload tree + tarball
out_dir="$repo/target/bench"               # results
dest="${dest_dir:-$out_dir}/dest"          # install / extraction target, dropped between runs
tree="$payload_root/tree"
tarball="$payload_root/payload.tar"
stamp="$payload_root/stamp"
mkdir -p "$payload_root" "$out_dir" "$(dirname "$dest")"
rm -f "$out_dir"/{install.md,hyperfine.md,hyperfine.json,time-v.txt,install.log,diff.txt}

# ---------------------------------------------------------------------------------------
# Tools: hyperfine and GNU time (installed with apt-get when missing and we are root).
# ---------------------------------------------------------------------------------------
apt_updated=0
ensure_pkg() { # ensure_pkg COMMAND-PATH-OR-NAME PACKAGE
  local cmd="$1" pkg="$2"
  if [[ "$cmd" == /* ]]; then [[ -x "$cmd" ]] && return 0; else command -v "$cmd" >/dev/null && return 0; fi
  if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null; then
    die "'$cmd' is missing: install the '$pkg' package (apt-get install -y $pkg)"
  fi
  log "installing $pkg"
  if ((apt_updated == 0)); then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >&2
}
ensure_pkg hyperfine hyperfine
ensure_pkg /usr/bin/time time
command -v python3 >/dev/null || die "python3 is needed to generate the payload"

if ((cold)); then
  [[ "$(id -u)" -eq 0 ]] || die "--cold needs root (it writes /proc/sys/vm/drop_caches)"
  { sync && echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null \
    || die "--cold: cannot write /proc/sys/vm/drop_caches here"
fi

# ---------------------------------------------------------------------------------------
# Payload: deterministic (seeded), generated once and cached until the generator changes.
# ---------------------------------------------------------------------------------------
IFS= read -r -d '' GENERATOR <<'PY' || true
import os, random, sys

# Deterministic payload: the same seed and parameters give byte-identical trees.
out, seed, min_total = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
KiB, MiB = 1024, 1024 * 1024

# --- text-like content: lines of code, config and prose from a made-up vocabulary -----
syll = ["ka", "sp", "er", "sky", "net", "scan", "ver", "lo", "mi", "tra", "con", "fig",
        "up", "date", "sig", "base", "core", "ui", "el", "an", "ro", "de", "pol", "ix"]
words = sorted({"".join(rng.choice(syll) for _ in range(rng.randint(1, 4))) for _ in range(3000)})
kw = ["fn", "let", "if", "else", "return", "for", "in", "match", "struct", "impl", "pub",
      "const", "true", "false", "None", "self", "while", "import", "def", "class"]

def text_line():
    r = rng.random()
    if r < 0.35:   # code
        ind = "    " * rng.randint(0, 3)
        toks = [rng.choice(kw if rng.random() < 0.3 else words) for _ in range(rng.randint(2, 9))]
        return ind + " ".join(toks) + rng.choice([";", " {", "}", ":", ",", ")"])
    if r < 0.6:    # config / key = value
        return "%s.%s = %s" % (rng.choice(words), rng.choice(words),
                               rng.choice([str(rng.randint(0, 99999)), '"%s"' % rng.choice(words),
                                           rng.choice(["true", "false"])]))
    if r < 0.75:   # log-ish line with numbers (less compressible)
        return "2024-%02d-%02dT%02d:%02d:%02d.%03dZ %s [%s] %s %08x" % (
            rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23), rng.randint(0, 59),
            rng.randint(0, 59), rng.randint(0, 999), rng.choice(["INFO", "WARN", "DEBUG"]),
            rng.choice(words), " ".join(rng.choice(words) for _ in range(rng.randint(3, 8))),
            rng.getrandbits(32))
    if r < 0.8:
        return ""
    sentence = " ".join(rng.choice(words) for _ in range(rng.randint(5, 16)))
    return sentence.capitalize() + "."

pool_parts, pool_len = [], 0
while pool_len < 6 * MiB:
    line = text_line() + "\n"
    pool_parts.append(line)
    pool_len += len(line)
text_pool = "".join(pool_parts).encode()

def text_bytes(n):
    # A slice of the pool at a random offset (wrapping), so files differ from each other.
    off = rng.randrange(len(text_pool))
    buf = bytearray()
    while len(buf) < n:
        take = min(n - len(buf), len(text_pool) - off)
        buf += text_pool[off:off + take]
        off = 0
    return bytes(buf)

def random_bytes(n):   # already-compressed data: images, archives, packed resources
    return rng.randbytes(n)

def binary_bytes(n):   # executable-like: code (random), tables (patterned), zero padding, strings
    buf = bytearray()
    while len(buf) < n:
        blk = min(4 * KiB, n - len(buf))
        r = rng.random()
        if r < 0.5:
            buf += rng.randbytes(blk)
        elif r < 0.7:
            pat = rng.randbytes(rng.choice([4, 8, 16, 32]))
            buf += (pat * (blk // len(pat) + 1))[:blk]
        elif r < 0.85:
            buf += bytes(blk)
        else:
            buf += text_bytes(blk)
    return bytes(buf)

KINDS = {
    "text":   (text_bytes,   [".txt", ".json", ".xml", ".ini", ".py", ".js", ".css", ".html", ".md", ".toml"]),
    "binary": (binary_bytes, [".so", ".dll", ".bin", ".dat", ".mo", ".exe"]),
    "random": (random_bytes, [".png", ".jpg", ".pak", ".gz", ".zip", ".bdb"]),
}

# --- folders: a product-like nested layout, depth 1..5 (no "etc": the installer owns it) --
tops = ["bin", "lib", "share", "plugins", "data", "resources", "modules", "locale", "doc"]
dirs = list(tops)
while len(dirs) < 240:
    parent = rng.choice(dirs)
    if parent.count("/") >= 4:
        continue
    dirs.append(parent + "/" + rng.choice(words)[:12] + "_" + str(rng.randint(0, 99)))
dirs = sorted(set(dirs))

used = set()
def new_path(ext):
    while True:
        p = "%s/%s%s" % (rng.choice(dirs), rng.choice(words)[:16] + "-" + str(rng.randint(0, 9999)), ext)
        if p not in used:
            used.add(p)
            return p

def loguniform(lo, hi):
    import math
    return int(math.exp(rng.uniform(math.log(lo), math.log(hi))))

def pick_kind(weights):
    r, acc = rng.random(), 0.0
    for k, w in weights:
        acc += w
        if r < acc:
            return k
    return weights[-1][0]

specs = []   # (size, kind)
for _ in range(2600):   # many small files, 1..64 KiB, log-uniform (most are a few KiB)
    specs.append((loguniform(1 * KiB, 64 * KiB), pick_kind([("text", .6), ("binary", .25), ("random", .15)])))
for _ in range(120):    # some medium files, 64 KiB..1 MiB
    specs.append((loguniform(64 * KiB, 1 * MiB), pick_kind([("text", .4), ("binary", .4), ("random", .2)])))
total = sum(s for s, _ in specs)
n_large = 0
while total < min_total or n_large < 8:   # some large files, 1..8 MiB, until the total is reached
    size = rng.randint(1 * MiB, 8 * MiB)
    specs.append((size, pick_kind([("binary", .5), ("random", .5)])))
    total += size
    n_large += 1

FIXED_MTIME = 1_700_000_000
for d in dirs:
    os.makedirs(os.path.join(out, d), exist_ok=True)
for size, kind in specs:
    gen, exts = KINDS[kind]
    rel = new_path(rng.choice(exts))
    path = os.path.join(out, rel)
    with open(path, "wb") as f:
        f.write(gen(size))
    mode = 0o755 if (rel.startswith("bin/") or rel.endswith((".so", ".exe"))) else 0o644
    os.chmod(path, mode)
    os.utime(path, (FIXED_MTIME, FIXED_MTIME))

for d in sorted(dirs, reverse=True) + [""]:   # folders last: writing files changes their mtime
    os.utime(os.path.join(out, d), (FIXED_MTIME, FIXED_MTIME))

print("files=%d bytes=%d dirs=%d" % (len(specs), total, len(dirs)))
PY

PAYLOAD_SEED=20241123
PAYLOAD_MIN_BYTES=$((120 * 1024 * 1024))
payload_key="$(printf '%s\n%s\n%s\n' "$GENERATOR" "$PAYLOAD_SEED" "$PAYLOAD_MIN_BYTES" | sha256sum | cut -c1-16)"

if [[ -f "$stamp" && -d "$tree" && -f "$tarball" ]] && [[ "$(head -n1 "$stamp")" == "$payload_key" ]]; then
  log "payload: reusing $tree (cached, key $payload_key)"
else
  log "payload: generating under $payload_root (seed $PAYLOAD_SEED; once, then cached)"
  rm -rf "$tree" "$tree.tmp" "$tarball" "$tarball.tmp" "$stamp"
  python3 -c "$GENERATOR" "$tree.tmp" "$PAYLOAD_SEED" "$PAYLOAD_MIN_BYTES" >"$payload_root/gen.out"
  mv "$tree.tmp" "$tree"
  log "payload: making the uncompressed tarball"
  tar --sort=name --owner=0 --group=0 --numeric-owner -cf "$tarball.tmp" -C "$tree" .
  mv "$tarball.tmp" "$tarball"
  { echo "$payload_key"; cat "$payload_root/gen.out"; } >"$stamp.tmp"
  mv "$stamp.tmp" "$stamp"
fi
payload_files="$(find "$tree" -type f | wc -l)"
payload_dirs="$(find "$tree" -mindepth 1 -type d | wc -l)"
payload_bytes="$(find "$tree" -type f -printf '%s\n' | awk '{s += $1} END {printf "%d", s}')"
log "payload: $payload_files files, $payload_dirs folders, $payload_bytes bytes"
((payload_files >= 2000 && payload_bytes >= 100000000)) \
  || die "payload is smaller than intended (need >= 2,000 files and >= 100 MB)"

# ---------------------------------------------------------------------------------------
# Build.
# ---------------------------------------------------------------------------------------
log "cargo build --release"
cargo build --release >&2 || die "cargo build --release failed"
bin="${CARGO_TARGET_DIR:-$repo/target}/release/ksn-setup"
[[ -x "$bin" ]] || die "no binary at $bin after the build"

# ---------------------------------------------------------------------------------------
# One install under /usr/bin/time -v: peak RSS, and a check that it installed the payload.
# ---------------------------------------------------------------------------------------
ksn_args=(install --unattended --accept-eula --accept-privacy-policy --ksn decline
          --payload "$tree" --dir "$dest")
cleanup() { rm -rf "$dest"; }
trap cleanup EXIT

log "one install under /usr/bin/time -v (peak RSS, result check)"
rm -rf "$dest"
sync -f "$out_dir"
install_rc=0
/usr/bin/time -v -o "$out_dir/time-v.txt" "$bin" "${ksn_args[@]}" \
  </dev/null >"$out_dir/install.log" 2>&1 || install_rc=$?
if ((install_rc != 0)); then
  {
    echo "---- $bin ${ksn_args[*]}"
    echo "---- exited with status $install_rc; its output (stdout and stderr):"
    cat "$out_dir/install.log"
    echo "----"
  } >&2
  die "ksn-setup install failed; nothing was measured (log: $out_dir/install.log)"
fi
rss_kib="$(awk -F': ' '/Maximum resident set size/ {print $2}' "$out_dir/time-v.txt")"
[[ -n "$rss_kib" ]] || die "could not read the peak RSS from $out_dir/time-v.txt"

# The installed tree must hold the payload byte for byte (next to etc/ and .ksn-setup/).
if ! diff -rq --no-dereference -x etc -x .ksn-setup "$tree" "$dest" >"$out_dir/diff.txt" 2>&1; then
  head -n 20 "$out_dir/diff.txt" >&2
  die "the installed tree differs from the payload (see $out_dir/diff.txt)"
fi
[[ -f "$dest/.ksn-setup/receipt.toml" ]] || log "warning: no .ksn-setup/receipt.toml after install"
[[ ! -e "$dest/.ksn-setup/txn" ]] || log "warning: .ksn-setup/txn/ left behind after install"
rm -rf "$dest"

# ---------------------------------------------------------------------------------------
# Timed runs.
# ---------------------------------------------------------------------------------------
q() { printf '%q' "$1"; }
ksn_cmd="$(q "$bin")"
for a in "${ksn_args[@]}"; do ksn_cmd+=" $(q "$a")"; done
tar_cmd="tar -xf $(q "$tarball") -C $(q "$dest")"
tar_sync_cmd="$tar_cmd && sync -f $(q "$dest")"

# Between runs: drop the target, then flush the file system (untimed), so no run pays for
# writing back or deleting what the previous run left. --cold also drops the page cache.
flush="sync -f $(q "$out_dir")"
((cold)) && flush="sync && echo 3 > /proc/sys/vm/drop_caches"
prep_ksn="rm -rf $(q "$dest") && $flush"          # ksn-setup creates its target itself
prep_tar="rm -rf $(q "$dest") && mkdir $(q "$dest") && $flush"  # tar -C needs it to exist

warmup=1
((cold)) && warmup=0
log "hyperfine: $runs runs per command, $([[ $cold == 1 ]] && echo 'cold cache' || echo 'warm cache')"
hyperfine --runs "$runs" --warmup "$warmup" \
  --export-markdown "$out_dir/hyperfine.md" --export-json "$out_dir/hyperfine.json" \
  --command-name "ksn-setup install" --prepare "$prep_ksn" "$ksn_cmd" \
  --command-name "tar -xf" --prepare "$prep_tar" "$tar_cmd" \
  --command-name "tar -xf && sync -f" --prepare "$prep_tar" "$tar_sync_cmd" >&2

# ---------------------------------------------------------------------------------------
# Table.
# ---------------------------------------------------------------------------------------
fs_type="$(df -PT "$(dirname "$dest")" | awk 'NR == 2 {print $2 " (" $1 ")"}')"
rev="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo 'no commit')"
if [[ -n "$(git -C "$repo" status --porcelain -- src Cargo.toml 2>/dev/null)" ]]; then rev+=", uncommitted changes"; fi
facts="$(nproc) CPUs, $(uname -sr), target on $fs_type, $(hyperfine --version), ksn-setup @ $rev"

python3 - "$out_dir/hyperfine.json" "$out_dir/install.md" "$runs" "$cold" "$warmup" \
  "$payload_bytes" "$payload_files" "$payload_dirs" "$rss_kib" "$facts" \
  "$ksn_cmd" "$tar_cmd" "$tar_sync_cmd" "$repo" <<'PY'
import json, sys
(json_path, md_path, runs, cold, warmup, nbytes, nfiles, ndirs, rss_kib, facts,
 ksn_cmd, tar_cmd, tar_sync_cmd, repo) = sys.argv[1:]
results = {r["command"]: r for r in json.load(open(json_path))["results"]}

def t(x, unit_of=None):
    # One unit per row, picked by the mean: "1.234 s ± 0.056 s", "812.3 ms ± 9.1 ms".
    if (x if unit_of is None else unit_of) < 1:
        return "%.1f ms" % (x * 1e3)
    return "%.3f s" % x

base = results["tar -xf"]["mean"]
rows = [("`ksn-setup install`", "ksn-setup install"), ("`tar -xf`", "tar -xf"),
        ("`tar -xf && sync -f`", "tar -xf && sync -f")]
nbytes, nfiles, ndirs = int(nbytes), int(nfiles), int(ndirs)
out = []
out.append("## ksn-setup install vs tar: %.1f MB (%.1f MiB) in %s files, %s folders; "
           "ksn-setup peak RSS %.1f MiB"
           % (nbytes / 1e6, nbytes / 2**20, format(nfiles, ","), format(ndirs, ","), int(rss_kib) / 1024))
out.append("")
out.append("%s page cache, %s timed runs per command%s; %s."
           % ("Cold (dropped before every run)" if cold == "1" else "Warm", runs,
              " after %s warm-up" % warmup if warmup != "0" else "", facts))
out.append("")
out.append("| command | mean ± σ | min | ratio to `tar -xf` |")
out.append("| --- | --- | --- | --- |")
for label, name in rows:
    r = results[name]
    m = r["mean"]
    out.append("| %s | %s ± %s | %s | %.2f× |" % (label, t(m), t(r["stddev"] or 0.0, m),
                                                 t(r["min"], m), m / base))
ratio = results["ksn-setup install"]["mean"] / base
ratio_sync = results["ksn-setup install"]["mean"] / results["tar -xf && sync -f"]["mean"]
out.append("")
out.append("Aim: ksn-setup install ≤ 1.20× `tar -xf` while hashing every file: **%s** (%.2f×). "
           "Against `tar -xf && sync -f` (same durability): %.2f×."
           % ("met" if ratio <= 1.20 else "not met", ratio, ratio_sync))
out.append("")
out.append("Commands (paths relative to the repo):")
out.append("")
for c in (ksn_cmd, tar_cmd, tar_sync_cmd):
    out.append("    " + c.replace(repo + "/", ""))
text = "\n".join(out) + "\n"
open(md_path, "w").write(text)
sys.stdout.write(text)
PY
log "written: $out_dir/install.md (hyperfine's own: $out_dir/hyperfine.md, hyperfine.json)"
