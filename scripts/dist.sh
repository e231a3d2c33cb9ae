#!/usr/bin/env bash
# `make dist`: the release artefacts, under dist/ (git-ignored):
#   linux_<arch>/otelcol-webjourney, linux_<arch>/webjourneyctl   static binaries (CGO off)
#   otelcol-webjourney_<version>_<arch>.deb, otelcol-webjourney-<version>-1.<rpm arch>.rpm
#   otelcol-webjourney_<version>_linux_<arch>.tar.gz               the packages' tree
#   otelcol-webjourney_<version>_oci.tar                           OCI image, every arch built
#   otelcol-webjourney_<version>.cdx.json, webjourneyctl_<version>.cdx.json  CycloneDX SBOMs
#   SHA256SUMS
# Usage: scripts/dist.sh [ARCH ...]   (default: amd64 arm64; `make test` builds
# the host's architecture only). Needs bin/ocb, bin/nfpm, bin/cyclonedx-gomod
# and bin/ociimage (the Makefile builds them from tools/go.mod).
#
# Versions: the packages carry dist.version from builder-config.yaml; the
# binaries' --version adds the commit and the commit's time as semver build
# metadata (0.1.0+<commit>.<yyyymmddThhmmssZ>). Every time stamp (binaries,
# packages, tarballs, image) is the commit time, so a rebuild of the same
# commit gives the same files.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
GO="${GO:-go}"

arches=("$@")
((${#arches[@]})) || arches=(amd64 arm64)
for t in ocb nfpm cyclonedx-gomod ociimage; do
  [[ -x "bin/$t" ]] || { echo "dist.sh: bin/$t missing; run make dist" >&2; exit 1; }
done

version="$(sed -n 's/^  version: *//p' builder-config.yaml | head -1)"
commit="$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ]]; then commit+="-dirty"; fi
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"
built="$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)"
binary_version="$version+$commit.$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y%m%dT%H%M%SZ)"

dist="$ROOT/dist"
work="$dist/.work"
mkdir -p "$work"

# The collector's sources: ocb from builder-config.yaml with the binary
# version, our module from this checkout, and the committed go.sum of
# _build/ so that the same module versions are verified.
src="$work/otelcol-webjourney"
mkdir -p "$src"
cp _build/go.mod _build/go.sum "$src/"
sed -e "s|^  version: .*|  version: $binary_version|" \
    -e "s|^  output_path: .*|  output_path: $src|" \
    -e "s|^  - github.com/webjourney/webjourney => .*|  - github.com/webjourney/webjourney => $ROOT|" \
    builder-config.yaml >"$work/builder-config.yaml"
echo "dist: generating the collector $binary_version (ocb)" >&2
bin/ocb --config "$work/builder-config.yaml" --skip-compilation >"$work/ocb.log" 2>&1 || { cat "$work/ocb.log" >&2; exit 1; }

# deb/rpm changelog: one entry for this build.
changelog="$work/changelog.Debian"
cat >"$changelog" <<EOF
otelcol-webjourney ($version-1) unstable; urgency=medium

  * Built from commit $commit.

 -- webjourney developers <dev@webjourney.example>  $(date -u -d "@$SOURCE_DATE_EPOCH" -R)
EOF

for arch in "${arches[@]}"; do
  out="$dist/linux_$arch"
  mkdir -p "$out"
  echo "dist: linux/$arch binaries" >&2
  # Same flags as ocb's own build (make build), so these reuse its cache.
  (cd "$src" && CGO_ENABLED=0 GOOS=linux GOARCH="$arch" "$GO" build -trimpath -ldflags "-s -w" -o "$out/otelcol-webjourney" .)
  CGO_ENABLED=0 GOOS=linux GOARCH="$arch" "$GO" build -trimpath \
    -ldflags "-s -w -X main.buildVersion=$version -X main.buildCommit=$commit -X main.buildDate=$built" \
    -o "$out/webjourneyctl" ./cmd/webjourneyctl

  # The installed tree, shared by the packages and the tarball.
  stage="$work/root_linux_$arch"
  rm -rf "$stage"
  install -D -m 0755 "$out/otelcol-webjourney" "$stage/usr/bin/otelcol-webjourney"
  install -D -m 0755 "$out/webjourneyctl" "$stage/usr/bin/webjourneyctl"
  install -D -m 0644 config/production.yaml "$stage/etc/otelcol-webjourney/config.yaml"
  install -D -m 0644 deploy/systemd/otelcol-webjourney.conf "$stage/etc/otelcol-webjourney/otelcol-webjourney.conf"
  install -D -m 0644 deploy/systemd/otelcol-webjourney.service "$stage/lib/systemd/system/otelcol-webjourney.service"
  install -D -m 0644 packaging/copyright "$stage/usr/share/doc/otelcol-webjourney/copyright"
  install -D -m 0644 packaging/lintian-overrides "$stage/usr/share/lintian/overrides/otelcol-webjourney"
  gzip -n -9 <"$changelog" >"$stage/usr/share/doc/otelcol-webjourney/changelog.Debian.gz"
  chmod 0644 "$stage/usr/share/doc/otelcol-webjourney/changelog.Debian.gz"

  echo "dist: linux/$arch .deb, .rpm, .tar.gz" >&2
  sed -e "s|\${ARCH}|$arch|g" -e "s|\${VERSION}|$version|g" -e "s|\${STAGE}|$stage|g" \
    packaging/nfpm.yaml >"$work/nfpm_$arch.yaml"
  for packager in deb rpm; do
    bin/nfpm package --config "$work/nfpm_$arch.yaml" --packager "$packager" --target "$dist/" >"$work/nfpm.log" 2>&1 || { cat "$work/nfpm.log" >&2; exit 1; }
  done
  # Owners root, directories included, sorted, the commit's time: reproducible.
  tar --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$SOURCE_DATE_EPOCH" \
    -C "$stage" -cf - . | gzip -n -9 >"$dist/otelcol-webjourney_${version}_linux_${arch}.tar.gz"
done

echo "dist: SBOMs (CycloneDX, from the binaries' module list)" >&2
for b in otelcol-webjourney webjourneyctl; do
  bin/cyclonedx-gomod bin -json -version "v$version" -output "$dist/${b}_${version}.cdx.json" "$dist/linux_${arches[0]}/$b" 2>"$work/sbom.log" \
    || { cat "$work/sbom.log" >&2; exit 1; }
done

echo "dist: OCI image (${arches[*]})" >&2
platforms=()
for arch in "${arches[@]}"; do platforms+=(--platform "linux/$arch=$dist/linux_$arch"); done
bin/ociimage --out "$dist/otelcol-webjourney_${version}_oci.tar" --version "$version" --revision "$commit" \
  --created "$built" --config config/production.yaml \
  --zoneinfo "$("$GO" env GOROOT)/lib/time/zoneinfo.zip" "${platforms[@]}"

(
  cd "$dist"
  sha256sum -- *"_${version}"* *"-${version}-"* linux_*/* >SHA256SUMS
)
echo "dist: done, $(wc -l <"$dist/SHA256SUMS") files in SHA256SUMS:" >&2
(cd "$dist" && ls -l --time-style=+ -- *"_${version}"* *"-${version}-"* linux_*/* SHA256SUMS | awk '{print "  " $5 "\t" $NF}') >&2
