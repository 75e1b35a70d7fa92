#!/usr/bin/env bash
# scripts/deb.sh: build the Debian package postgresql-15-convexlite (also: make deb).
#
#   bash scripts/deb.sh
#
# Packages a commit (default HEAD: what is committed, not the working tree's
# uncommitted changes) with Debian's PostgreSQL tooling: debian/ (control.in,
# pgversions, rules with dh --with pgxs_loop, which runs pg_buildext) and
# dpkg-buildpackage.  Nothing is built in the source tree: `git archive` of the
# commit becomes tmp/deb/build-<version>/convexlite_<upstream>.orig.tar.gz, it is
# unpacked next to it with debian/ added, and dpkg-buildpackage writes the source
# package (.dsc, .debian.tar.xz), the .changes and the .deb there; the .deb is
# copied to tmp/deb/.  The last line of output is the .deb's path.
#
# Works as root (it then installs the missing build dependencies, scripts/lib.sh
# CVX_DEPS_DEB) or as another user (it then says what to install); no fakeroot is
# needed (Rules-Requires-Root: no).
#
# Environment:
#   DEB_REF      the commit to package (default HEAD)
#   DEB_VERSION  the Debian version (default: the first entry of debian/changelog);
#                the changelog is cut to start at that entry, so an earlier release
#                is packaged with today's debian/ files:
#                DEB_REF=1e91a03 DEB_VERSION=0.2.0-1 bash scripts/deb.sh
#   DEB_OUT      where the .deb goes (default tmp/deb)
#   DEB_BUILD_OPTIONS  passed to dpkg-buildpackage (default parallel=<cores>)
# The upstream part of the version must be the commit's default_version
# (convexlite.control): a changelog that was not bumped fails here.
set -euo pipefail
# shellcheck source=scripts/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$CVX_ROOT"

REF=${DEB_REF:-HEAD}
OUT=${DEB_OUT:-$CVX_ROOT/tmp/deb}
PACKAGE="postgresql-$CVX_PG_MAJOR-convexlite"

(cvx_install_deps deb) || exit 1

git -C "$CVX_ROOT" rev-parse --git-dir >/dev/null 2>&1 ||
	cvx_die "$CVX_ROOT is not a git checkout: make deb packages a commit (git archive)"
commit=$(git rev-parse --verify --quiet "$REF^{commit}") ||
	cvx_die "DEB_REF=$REF is not a commit of this repository"
short=$(git rev-parse --short "$commit")
if [ "$REF" = HEAD ] && [ -n "$(git status --porcelain --untracked-files=no)" ]; then
	cvx_warn "the working tree has uncommitted changes: the package is built from HEAD ($short) without them"
fi
# debian/ as committed (HEAD's: an older commit may have none)
git cat-file -e "HEAD:debian/changelog" 2>/dev/null ||
	cvx_die "debian/ is not committed at HEAD: commit it first (make deb packages what is committed)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git archive HEAD debian | tar -x -C "$work"
version=${DEB_VERSION:-$(dpkg-parsechangelog -l "$work/debian/changelog" -S Version)}
if [ -n "${DEB_VERSION:-}" ]; then
	# the changelog from that entry down: its first line is "convexlite (VERSION) ..."
	awk -v v="$DEB_VERSION" 'index($0, "convexlite (" v ")") == 1 { on = 1 } on' \
		"$work/debian/changelog" >"$work/changelog"
	[ -s "$work/changelog" ] || cvx_die "debian/changelog has no entry for $DEB_VERSION"
	mv "$work/changelog" "$work/debian/changelog"
fi
upstream=${version%-*}
ctl_version=$(git show "$commit:convexlite.control" |
	sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p")
[ "$upstream" = "$ctl_version" ] ||
	cvx_die "debian/changelog says $version but $short's convexlite.control says $ctl_version: add a changelog entry (dch -v $ctl_version-1)"

build=$OUT/build-$version
src=$build/convexlite-$upstream
cvx_step "Packaging $PACKAGE $version from $short in ${build#"$CVX_ROOT"/}"
rm -rf "$build"
mkdir -p "$build"
# the upstream tarball, without any debian/ of the commit's own
git archive --format=tar --prefix="convexlite-$upstream/" "$commit" -- . ':(exclude)debian' |
	gzip -n >"$build/convexlite_$upstream.orig.tar.gz"
tar -xzf "$build/convexlite_$upstream.orig.tar.gz" -C "$build"
cp -a "$work/debian" "$src/"

: "${DEB_BUILD_OPTIONS:=parallel=$(nproc 2>/dev/null || echo 2)}"
export DEB_BUILD_OPTIONS
log=$build/build.log
cvx_info "dpkg-buildpackage -us -uc (DEB_BUILD_OPTIONS=$DEB_BUILD_OPTIONS; log: ${log#"$CVX_ROOT"/})"
if ! (cd "$src" && dpkg-buildpackage -us -uc) >"$log" 2>&1; then
	tail -n 40 "$log" >&2
	cvx_die "dpkg-buildpackage failed (the whole log: $log)"
fi
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
deb="${PACKAGE}_${version}_${arch}.deb"
[ -f "$build/$deb" ] || cvx_die "dpkg-buildpackage did not write $deb"
cp "$build/$deb" "$OUT/"
rm -rf "$src"
cvx_ok "built ${OUT#"$CVX_ROOT"/}/$deb"
dpkg-deb -f "$OUT/$deb" Version Depends Recommends | sed 's/^/    /'
echo "$OUT/$deb"
