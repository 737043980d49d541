#!/usr/bin/env bash
# fetch-npm-libs.sh: fetch shared libraries out of one npm package tarball,
# checking pinned SHA-256 sums of the tarball and of every extracted file.
#
#   fetch-npm-libs.sh DEST_DIR NPM_SPEC TARBALL_SHA256 PATH_IN_TARBALL=NAME=SHA256...
#
# Each PATH_IN_TARBALL is extracted (and nothing else: the asus4 packages
# also carry Android, iOS, macOS and Windows builds) and installed as
# DEST_DIR/NAME. When every NAME is already there with its sum, nothing is
# downloaded: CI caches DEST_DIR. The tarball comes from `npm pack
# --ignore-scripts` (never `npm install`, whose scripts try to reach other
# registries) unless $WTONNX_NPM_TARBALL_DIR holds it already; set
# WTONNX_NPM_KEEP_TARBALLS=DIR to keep downloaded tarballs there.
set -euo pipefail

log() { printf 'fetch-npm-libs: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $# -ge 4 ]] || die "usage: $0 DEST_DIR NPM_SPEC TARBALL_SHA256 PATH_IN_TARBALL=NAME=SHA256..."
dest_dir="$1" spec="$2" tarball_sha="$3"
shift 3

sha256_of() {
	if command -v sha256sum >/dev/null 2>&1; then
		sha256sum "$1" | cut -d' ' -f1
	elif command -v shasum >/dev/null 2>&1; then
		shasum -a 256 "$1" | cut -d' ' -f1
	else
		die "need sha256sum or shasum to verify downloads"
	fi
}

missing=0
for entry in "$@"; do
	IFS='=' read -r _ name sum <<<"$entry"
	if [[ ! -f "${dest_dir}/${name}" || "$(sha256_of "${dest_dir}/${name}")" != "$sum" ]]; then
		missing=1
	fi
done
if [[ $missing == 0 ]]; then
	log "${spec}: already cached in ${dest_dir}"
	exit 0
fi

os="$(uname -s)" arch="$(uname -m)"
if [[ "$os" != "Linux" || ( "$arch" != "x86_64" && "$arch" != "amd64" ) ]]; then
	die "${spec}: only the linux/x64 libraries are fetched (this machine is ${os}/${arch})"
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# npm pack names the tarball after the package: @scope/name@v -> scope-name-v.tgz.
pkg="${spec%@*}" ver="${spec##*@}"
file="$(printf '%s' "${pkg#@}" | tr '/' '-')-${ver}.tgz"
if [[ -n "${WTONNX_NPM_TARBALL_DIR:-}" && -f "${WTONNX_NPM_TARBALL_DIR}/${file}" ]]; then
	tarball="${WTONNX_NPM_TARBALL_DIR}/${file}"
	log "${spec}: using ${tarball}"
else
	command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js/npm (make deps)"
	log "${spec}: downloading with npm pack"
	start=$SECONDS
	(cd "$tmp" && npm pack --ignore-scripts --silent "$spec" >/dev/null) || die "npm pack ${spec} failed"
	tarball="${tmp}/${file}"
	[[ -f "$tarball" ]] || die "npm pack did not produce ${file}"
	log "${spec}: $(( $(stat -c %s "$tarball") / 1000000 )) MB in $(( SECONDS - start )) s"
fi
got="$(sha256_of "$tarball")"
[[ "$got" == "$tarball_sha" ]] || die "${tarball}: sha256 ${got}, want ${tarball_sha}"

paths=()
for entry in "$@"; do
	paths+=("${entry%%=*}")
done
tar -xzf "$tarball" -C "$tmp" "${paths[@]}" || die "${tarball} lacks one of ${paths[*]}"
mkdir -p "$dest_dir"
for entry in "$@"; do
	IFS='=' read -r path name sum <<<"$entry"
	got="$(sha256_of "${tmp}/${path}")"
	[[ "$got" == "$sum" ]] || die "${spec}: ${path}: sha256 ${got}, want ${sum}"
	cp "${tmp}/${path}" "${dest_dir}/${name}.partial"
	chmod 0755 "${dest_dir}/${name}.partial"
	mv -f "${dest_dir}/${name}.partial" "${dest_dir}/${name}"
done
if [[ -n "${WTONNX_NPM_KEEP_TARBALLS:-}" && "$tarball" == "${tmp}/"* ]]; then
	mkdir -p "$WTONNX_NPM_KEEP_TARBALLS" && cp "$tarball" "${WTONNX_NPM_KEEP_TARBALLS}/${file}"
fi
log "${spec}: cached $(($# )) file(s) in ${dest_dir}"
