#!/usr/bin/env bash
# Benchmark: `ksn-setup install --payload P --dir T` against `tar -xf payload.tar -C T`
# (and `tar -xf … && sync -f T`) on the same payload, the same file system, in one run.
#
#   bash benches/install-bench.sh [--runs N] [--cold] [--dest-dir DIR]
#
# See benches/README.md for what is measured and how to read the result.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# log, die, take_opt, other_arg, check_runs, ensure_pkg, the payload cache (payload_root,
# tree, tarball), ensure_payload, build_release, q, qcmd, check_tree_diff, fs_of, ksn_rev.
# shellcheck source=benches/common.sh
source "$repo/benches/common.sh"

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
    --runs|--runs=*) take_opt --runs "$@"; runs="$opt_val" ;;
    --cold) cold=1; opt_shift=1 ;;
    --dest-dir|--dest-dir=*) take_opt --dest-dir "$@"; dest_dir="$opt_val" ;;
    *) other_arg "$1" ;;
  esac
  shift "$opt_shift"
done
check_runs "$runs"

cd "$repo"

# Everything the benchmark writes lives under the repo's target/ folder, so the payload,
# the tarball and the install target are all on one file system.
out_dir="$repo/target/bench"               # results
dest="${dest_dir:-$out_dir}/dest"          # install / extraction target, dropped between runs
mkdir -p "$payload_root" "$out_dir" "$(dirname "$dest")"
rm -f "$out_dir"/{install.md,hyperfine.md,hyperfine.json,time-v.txt,install.log,diff.txt,extras.txt}

# ---------------------------------------------------------------------------------------
# Tools: hyperfine and GNU time (installed with apt-get when missing and we are root).
# ---------------------------------------------------------------------------------------
ensure_pkg hyperfine hyperfine
ensure_pkg /usr/bin/time time
command -v python3 >/dev/null || die "python3 is needed to generate the payload"

if ((cold)); then
  [[ "$(id -u)" -eq 0 ]] || die "--cold needs root (it writes /proc/sys/vm/drop_caches)"
  { sync && echo 3 >/proc/sys/vm/drop_caches; } 2>/dev/null \
    || die "--cold: cannot write /proc/sys/vm/drop_caches here"
fi

# ---------------------------------------------------------------------------------------
# Payload (cached in target/bench-payload, shared with pack-bench.sh; see common.sh) and build.
# ---------------------------------------------------------------------------------------
ensure_payload
build_release

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

# The installed tree must hold the payload byte for byte, next to etc/, .ksn-setup/ and
# ksn-setup's own lib/ksn-setup/ and bin/ksn-settings (listed in extras.txt).
check_tree_diff install "$tree" "$dest" "$out_dir/diff.txt" "$out_dir/extras.txt" installer \
  || die "the installed tree differs from the payload (see $out_dir/diff.txt)"
[[ -f "$dest/.ksn-setup/receipt.toml" ]] || log "warning: no .ksn-setup/receipt.toml after install"
[[ ! -e "$dest/.ksn-setup/txn" ]] || log "warning: .ksn-setup/txn/ left behind after install"
rm -rf "$dest"

# ---------------------------------------------------------------------------------------
# Timed runs.
# ---------------------------------------------------------------------------------------
ksn_cmd="$(qcmd "$bin" "${ksn_args[@]}")"
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
fs_type="$(fs_of "$(dirname "$dest")")"
rev="$(ksn_rev)"
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
