# Shared by benches/install-bench.sh and benches/pack-bench.sh (sourced, not run):
# messages, tools, the cached benchmark payload, the release build, shell quoting, the
# check of an installed tree and the machine facts under the tables.
#
# The caller sets `repo` (the repository root) before sourcing this file and defines `usage`.
# Functions that die use `die`, which exits the calling script.

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------
# Options. Each script loops over its arguments with
#   case "$1" in --runs|--runs=*) take_opt --runs "$@"; runs="$opt_val" ;; … *) other_arg "$1" ;; esac
#   shift "$opt_shift"
# ---------------------------------------------------------------------------------------
# take_opt NAME ARGS...: ARGS starts with "NAME VALUE" or "NAME=VALUE"; sets opt_val and
# opt_shift (how many arguments that took). Exits 2 when the value is missing.
take_opt() {
  local name="$1"; shift
  if [[ "$1" == "$name="* ]]; then
    opt_val="${1#"$name="}"; opt_shift=1
  else
    (($# >= 2)) || { echo "error: $name needs a value" >&2; exit 2; }
    opt_val="$2"; opt_shift=2
  fi
}
# other_arg ARG: -h/--help prints usage and exits 0; anything else is an error (exit 2).
other_arg() {
  case "$1" in
    -h|--help) usage; exit 0 ;;
    *) echo "error: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
}
# check_runs N: exits 2 unless N (the --runs value) is an integer >= 2.
check_runs() {
  if ! [[ "$1" =~ ^[0-9]+$ ]] || (($1 < 2)); then
    echo "error: --runs must be an integer >= 2 (got '$1')" >&2
    exit 2
  fi
}

# ---------------------------------------------------------------------------------------
# Tools, installed with apt-get when missing and we are root.
# ---------------------------------------------------------------------------------------
apt_updated=0
try_pkg() { # try_pkg COMMAND-PATH-OR-NAME PACKAGE: 0 if the command is (now) there
  local cmd="$1" pkg="$2"
  if [[ "$cmd" == /* ]]; then [[ -x "$cmd" ]] && return 0; else command -v "$cmd" >/dev/null && return 0; fi
  if [[ "$(id -u)" -ne 0 ]] || ! command -v apt-get >/dev/null; then
    return 1
  fi
  log "installing $pkg"
  if ((apt_updated == 0)); then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return 1
    apt_updated=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$pkg" >&2 || return 1
}
ensure_pkg() { # ensure_pkg COMMAND-PATH-OR-NAME PACKAGE
  try_pkg "$1" "$2" || die "'$1' is missing: install the '$2' package (apt-get install -y $2)"
}

# ---------------------------------------------------------------------------------------
# Payload: deterministic (seeded, benches/gen-payload.py), generated once and cached until
# the generator, seed or size changes. Both scripts share one cache: the tree, an
# uncompressed tarball of it (timed by install-bench.sh) and a stamp holding the key.
# ---------------------------------------------------------------------------------------
payload_root="$repo/target/bench-payload"  # cached payload tree + tarball
tree="$payload_root/tree"
tarball="$payload_root/payload.tar"
stamp="$payload_root/stamp"
generator="$repo/benches/gen-payload.py"
PAYLOAD_SEED=20241123
PAYLOAD_MIN_BYTES=$((120 * 1024 * 1024))

gen_key() { # gen_key SEED MIN_BYTES -> cache key of the generator's output
  { cat "$generator"; printf '%s\n%s\n' "$1" "$2"; } | sha256sum | cut -c1-16
}
tree_stats() { # tree_stats DIR -> "files dirs bytes"
  printf '%s %s %s\n' "$(find "$1" -type f | wc -l)" "$(find "$1" -mindepth 1 -type d | wc -l)" \
    "$(find "$1" -type f -printf '%s\n' | awk '{s += $1} END {printf "%d", s}')"
}

# gen_tree LABEL ROOT SEED MIN_BYTES SIZE_NOTE [TAR_NOTE]: makes ROOT/tree with the
# generator, or reuses it when ROOT/stamp holds the key of the generator, SEED and MIN_BYTES.
# With a 6th argument (even ""), also ROOT/payload.tar, an uncompressed tarball of the tree
# (its message ends in "(TAR_NOTE)" when TAR_NOTE is not empty).
gen_tree() {
  local label="$1" root="$2" seed="$3" min_bytes="$4" size_note="$5" with_tar=$(($# >= 6))
  local tar_note="${6:-}" key
  local out="$root/tree" tar="$root/payload.tar" st="$root/stamp"
  command -v python3 >/dev/null || die "python3 is needed to generate the payload"
  [[ -f "$generator" ]] || die "missing $generator"
  mkdir -p "$root"
  key="$(gen_key "$seed" "$min_bytes")"
  if [[ -f "$st" && -d "$out" ]] && { ((!with_tar)) || [[ -f "$tar" ]]; } \
    && [[ "$(head -n1 "$st")" == "$key" ]]; then
    log "$label: reusing $out (cached, key $key)"
    return 0
  fi
  log "$label: generating under $root (seed $seed$size_note; once, then cached)"
  rm -rf "$out" "$out.tmp" "$tar" "$tar.tmp" "$st"
  python3 "$generator" "$out.tmp" "$seed" "$min_bytes" >"$root/gen.out"
  mv "$out.tmp" "$out"
  if ((with_tar)); then
    log "$label: making the uncompressed tarball${tar_note:+ ($tar_note)}"
    tar --sort=name --owner=0 --group=0 --numeric-owner -cf "$tar.tmp" -C "$out" .
    mv "$tar.tmp" "$tar"
  fi
  { echo "$key"; cat "$root/gen.out"; } >"$st.tmp"
  mv "$st.tmp" "$st"
}

# ensure_payload [NOTE]: generates (or reuses) $tree, $tarball and $stamp, then sets
# payload_files, payload_dirs and payload_bytes. NOTE is added to the tarball message.
ensure_payload() {
  gen_tree payload "$payload_root" "$PAYLOAD_SEED" "$PAYLOAD_MIN_BYTES" "" "${1:-}"
  read -r payload_files payload_dirs payload_bytes < <(tree_stats "$tree")
  log "payload: $payload_files files, $payload_dirs folders, $payload_bytes bytes"
  ((payload_files >= 2000 && payload_bytes >= 100000000)) \
    || die "payload is smaller than intended (need >= 2,000 files and >= 100 MB)"
}

# ---------------------------------------------------------------------------------------
# Build: sets bin to the release binary.
# ---------------------------------------------------------------------------------------
build_release() {
  log "cargo build --release"
  cargo build --release >&2 || die "cargo build --release failed"
  bin="${CARGO_TARGET_DIR:-$repo/target}/release/ksn-setup"
  [[ -x "$bin" ]] || die "no binary at $bin after the build"
}

# Shell quoting for the command lines handed to hyperfine and shown under the tables.
q() { printf '%q' "$1"; }
qcmd() { local s="" a; for a in "$@"; do s+="${s:+ }$(q "$a")"; done; printf '%s' "$s"; }

# ---------------------------------------------------------------------------------------
# Check of an installed / extracted tree against the payload.
# ---------------------------------------------------------------------------------------
# ksn-setup's own files in an install, next to the payload: lib/ksn-setup/ (the statements
# and, for installs from a packed installer, the maintenance program) and bin/ksn-settings.
KSN_OWN_PATHS=(lib/ksn-setup bin/ksn-settings)

# _on_own_path REL: 0 if REL (relative to the install) is one of KSN_OWN_PATHS, inside one,
# or a folder that leads to one (lib, bin).
_on_own_path() {
  local p="$1" o
  for o in "${KSN_OWN_PATHS[@]}"; do
    [[ "$p" == "$o" || "$p" == "$o"/* || "$o" == "$p"/* ]] && return 0
  done
  return 1
}

# split_own_paths DIFFS DEST EXTRAS: moves the lines of DIFFS (the output of
# `diff -rq SRC DEST`) that only name ksn-setup's own files out of DIFFS and writes those
# files, relative to DEST, to EXTRAS (one a line). The payload may lack the folder too:
# "Only in DEST/lib: ksn-setup" when the payload has lib/, "Only in DEST: lib" when it has
# none, which is accepted only if DEST/lib holds lib/ksn-setup and nothing else. Any other
# line stays in DIFFS.
split_own_paths() {
  local diffs="$1" dest="$2" extras="$3" line rel rest entry o ok
  local -a found
  : >"$extras"
  : >"$diffs.tmp"
  while IFS= read -r line || [[ -n "$line" ]]; do
    rel=""
    if [[ "$line" == "Only in $dest: "* ]]; then
      rel="${line#"Only in $dest: "}"
    elif [[ "$line" == "Only in $dest/"*": "* ]]; then
      rest="${line#"Only in $dest/"}"
      rel="${rest%%: *}/${rest#*: }"
    fi
    ok=0
    if [[ -n "$rel" ]] && _on_own_path "$rel"; then
      ok=1
      # A folder the payload lacks (lib, bin) must hold nothing but ksn-setup's own files.
      if [[ -d "$dest/$rel" && ! -L "$dest/$rel" ]]; then
        while IFS= read -r -d '' entry; do
          _on_own_path "${entry#"$dest/"}" || { ok=0; break; }
        done < <(find "$dest/$rel" -mindepth 1 -print0)
      fi
    fi
    found=()
    if ((ok)); then
      for o in "${KSN_OWN_PATHS[@]}"; do
        if [[ "$rel" == "$o"/* ]]; then
          found+=("$rel")  # inside lib/ksn-setup/ when the payload has that folder too
        elif [[ "$o" == "$rel" || "$o" == "$rel"/* ]] && [[ -e "$dest/$o" || -L "$dest/$o" ]]; then
          found+=("$o")
        fi
      done
    fi
    if ((${#found[@]})); then
      printf '%s\n' "${found[@]}" >>"$extras"
    else
      printf '%s\n' "$line" >>"$diffs.tmp"
    fi
  done <"$diffs"
  mv "$diffs.tmp" "$diffs"
}

# check_tree_diff NAME SRC DEST DIFFS EXTRAS [installer]: DEST must hold SRC byte for byte.
# ksn-setup adds etc/ and .ksn-setup/ next to it (left out of the diff); with "installer",
# its own files (KSN_OWN_PATHS) are allowed too, listed in EXTRAS and logged. Anything else
# fails: the first differences are printed, the whole list is in DIFFS.
check_tree_diff() {
  local name="$1" src="$2" dest="$3" diffs="$4" extras="$5" own="${6:-}"
  diff -rq --no-dereference -x etc -x .ksn-setup "$src" "$dest" >"$diffs" 2>&1 || true
  : >"$extras"
  [[ -z "$own" ]] || split_own_paths "$diffs" "$dest" "$extras"
  if [[ -s "$diffs" ]]; then
    head -n 20 "$diffs" >&2
    return 1
  fi
  [[ -s "$extras" ]] && log "$name: besides the payload, the installer added: $(paste -sd ' ' "$extras")"
  return 0
}

# ---------------------------------------------------------------------------------------
# Facts under the tables.
# ---------------------------------------------------------------------------------------
fs_of() { df -PT "$1" | awk 'NR == 2 {print $2 " (" $1 ")"}'; }  # "ext4 (/dev/vda)"
ksn_rev() { # short HEAD, noting uncommitted changes to the program
  local rev
  rev="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo 'no commit')"
  if [[ -n "$(git -C "$repo" status --porcelain -- src Cargo.toml 2>/dev/null)" ]]; then rev+=", uncommitted changes"; fi
  printf '%s\n' "$rev"
}
