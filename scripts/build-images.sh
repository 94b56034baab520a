#!/usr/bin/env bash
# Builds the container images with buildah (daemon-less, `--isolation chroot`, vfs storage):
#   localhost/flink-cpp:<version>           images/runtime/Dockerfile  (jobmanager, taskmanager, standalone-job)
#   localhost/flink-cpp-operator:<version>  images/operator/Dockerfile (operator)
# both also tagged :latest. `make images` runs this.
#
# The base image is debian:bookworm-slim. When it cannot be pulled (no container registry
# reachable) and is not in local storage, a local one is made first: debootstrap --variant=minbase
# from the Debian mirror configured in /etc/apt/sources.list*, slimmed as Debian's -slim images
# are (no docs, man pages, locales), committed as localhost/debian:bookworm-slim.
#
# Environment:
#   BUILD_DIR=build                where the host build is (and images/ work files go)
#   FLINK_CPP_IMAGE_ARTIFACTS=prebuilt | source
#       prebuilt (default): the images' build stage takes the host's build output (built here
#         with cmake --build first); needs a Debian bookworm host, as the binary must match the
#         runtime stage's libraries. source: the reference multi-stage build that compiles the
#         project inside buildah (about as long as `make build` on this machine, plus packages).
#   FLINK_CPP_IMAGES="runtime operator"  which images
#   IMAGE_TAG=<project version>    tag (besides :latest)
#   BASE_IMAGE=debian:bookworm-slim
#   STORAGE_DRIVER=vfs             buildah storage driver; BUILDAH_ROOT=DIR: another storage root
#   DEBIAN_MIRROR=URL              mirror for debootstrap (default: the first in apt's sources)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

BUILD_DIR=${BUILD_DIR:-build}
ARTIFACTS=${FLINK_CPP_IMAGE_ARTIFACTS:-prebuilt}
IMAGES=${FLINK_CPP_IMAGES:-runtime operator}
BASE_IMAGE=${BASE_IMAGE:-debian:bookworm-slim}
LOCAL_BASE=localhost/debian:bookworm-slim
export STORAGE_DRIVER=${STORAGE_DRIVER:-vfs}
export BUILDAH_ISOLATION=chroot
VERSION=$(sed -n 's/^project([^)]* VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt | head -n 1)
IMAGE_TAG=${IMAGE_TAG:-${VERSION:-latest}}
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$ROOT/$BUILD_DIR" ;; esac
WORK="$BUILD_DIR/images"

log() { echo "build-images: $*" >&2; }
die() { log "error: $*"; exit 1; }

case "$ARTIFACTS" in prebuilt|source) ;; *) die "FLINK_CPP_IMAGE_ARTIFACTS must be prebuilt or source" ;; esac
[ "$(id -u)" -eq 0 ] || die "run as root: buildah with vfs storage and debootstrap need it here"

bash scripts/install-tools.sh buildah debootstrap

BUILDAH=(buildah --storage-driver "$STORAGE_DRIVER")
[ -z "${BUILDAH_ROOT:-}" ] || BUILDAH+=(--root "$BUILDAH_ROOT")
mkdir -p "$WORK"

have_image() { "${BUILDAH[@]}" inspect --type image "$1" > /dev/null 2>&1; }

# The Debian mirror apt uses here: deb822 "URIs:" or one-line "deb URI bookworm ...".
debian_mirror() {
  local f uri=""
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    case "$f" in
      *.sources) uri=$(awk '/^URIs:/ {u=$2} /^Suites:/ && / bookworm( |$)/ && u != "" {print u; exit}' "$f") ;;
      *) uri=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' "$f") ;;
    esac
    [ -z "$uri" ] || { echo "$uri"; return; }
  done
  echo "http://deb.debian.org/debian"
}
security_mirror() {
  cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2> /dev/null |
    awk '/^URIs:/ {u=$2} /^Suites:/ && /bookworm-security/ && u != "" {print u; exit}
         $1 == "deb" && $3 == "bookworm-security" {print $2; exit}'
}

# debootstrap a minbase bookworm, slim it as Debian's -slim images, commit it as LOCAL_BASE.
make_local_base() {
  local mirror=${DEBIAN_MIRROR:-$(debian_mirror)} security rootfs="$WORK/rootfs"
  security=$(security_mirror)
  log "no $BASE_IMAGE to pull: building $LOCAL_BASE with debootstrap from $mirror"
  rm -rf "$rootfs"
  if ! debootstrap --variant=minbase bookworm "$rootfs" "$mirror" > "$WORK/debootstrap.log" 2>&1; then
    tail -n 30 "$WORK/debootstrap.log" >&2
    die "debootstrap failed (log: $WORK/debootstrap.log)"
  fi
  # As debuerreotype's slimify: dpkg keeps documentation, man pages and translations out.
  cat > "$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
EOF
  cat > "$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  echo 'Acquire::Languages "none";' > "$rootfs/etc/apt/apt.conf.d/docker-no-languages"
  echo 'APT::AutoRemove::SuggestsImportant "false";' > "$rootfs/etc/apt/apt.conf.d/docker-autoremove-suggests"
  (
    cd "$rootfs"
    find usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
    find usr/share/doc -mindepth 1 -type d -empty -delete
    rm -rf usr/share/groff/* usr/share/info/* usr/share/linda/* usr/share/lintian/overrides/* \
      usr/share/locale/* usr/share/man/*
    rm -rf var/lib/apt/lists/* var/cache/apt/*.bin var/cache/apt/archives/*.deb var/cache/debconf/*-old \
      var/log/* tmp/* root/.bash_history
    : > etc/machine-id
    : > etc/resolv.conf
    echo localhost > etc/hostname
    rm -f etc/apt/sources.list
  )
  {
    echo "Types: deb"
    echo "URIs: $mirror"
    echo "Suites: bookworm bookworm-updates"
    echo "Components: main"
    echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    if [ -n "$security" ]; then
      echo
      echo "Types: deb"
      echo "URIs: $security"
      echo "Suites: bookworm-security"
      echo "Components: main"
      echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
    fi
  } > "$rootfs/etc/apt/sources.list.d/debian.sources"

  local ctr mnt
  ctr=$("${BUILDAH[@]}" from scratch)
  mnt=$("${BUILDAH[@]}" mount "$ctr")
  tar -C "$rootfs" --numeric-owner -cf - . | tar -C "$mnt" --numeric-owner -xpf -
  "${BUILDAH[@]}" umount "$ctr" > /dev/null
  "${BUILDAH[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd '["bash"]' --label org.opencontainers.image.description="debian bookworm minbase (debootstrap, slimmed)" \
    "$ctr"
  "${BUILDAH[@]}" commit --quiet "$ctr" "$LOCAL_BASE" > /dev/null
  "${BUILDAH[@]}" rm "$ctr" > /dev/null 2>&1 || true
  rm -rf "$rootfs"
}

resolve_base() {
  if have_image "$BASE_IMAGE"; then echo "$BASE_IMAGE"; return; fi
  if [ "$BASE_IMAGE" = "debian:bookworm-slim" ] && have_image "$LOCAL_BASE"; then echo "$LOCAL_BASE"; return; fi
  log "pulling $BASE_IMAGE"
  if timeout 120 "${BUILDAH[@]}" pull --quiet "docker.io/library/$BASE_IMAGE" > "$WORK/pull.log" 2>&1 ||
     timeout 120 "${BUILDAH[@]}" pull --quiet "$BASE_IMAGE" >> "$WORK/pull.log" 2>&1; then
    echo "$BASE_IMAGE"
    return
  fi
  log "cannot pull $BASE_IMAGE: $(tail -n 1 "$WORK/pull.log")"
  [ "$BASE_IMAGE" = "debian:bookworm-slim" ] || die "no base image $BASE_IMAGE"
  make_local_base
  echo "$LOCAL_BASE"
}

BASE=$(resolve_base)
log "base image: $BASE"

# Prebuilt artifacts: the host's build, stripped, in a build context of their own.
build_args=(--build-arg "BASE_IMAGE=$BASE" --build-arg "ARTIFACTS=$ARTIFACTS")
if [ "$ARTIFACTS" = prebuilt ]; then
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [ "$codename" = bookworm ] || die "prebuilt artifacts need a Debian bookworm host (this is '$codename'); use FLINK_CPP_IMAGE_ARTIFACTS=source"
  if [ ! -f "$BUILD_DIR/CMakeCache.txt" ]; then
    cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release > /dev/null
  fi
  cmake --build "$BUILD_DIR" -j "$(nproc)" --target flink-cpp route_counts > "$WORK/host-build.log" 2>&1 ||
    { tail -n 30 "$WORK/host-build.log" >&2; die "host build failed"; }
  grep -q '^CMAKE_BUILD_TYPE:STRING=Release' "$BUILD_DIR/CMakeCache.txt" ||
    log "warning: $BUILD_DIR is not a Release build"
  prebuilt="$WORK/prebuilt"
  rm -rf "$prebuilt"
  install -D -m 0755 "$BUILD_DIR/bin/flink-cpp" "$prebuilt/bin/flink-cpp"
  install -D -m 0644 "$BUILD_DIR/lib/route-counts.so" "$prebuilt/lib/route-counts.so"
  strip --strip-unneeded "$prebuilt/bin/flink-cpp" "$prebuilt/lib/route-counts.so"
  build_args+=(--build-context "prebuilt=$prebuilt")
fi

for image in $IMAGES; do
  case "$image" in
    runtime) name=flink-cpp ;;
    operator) name=flink-cpp-operator ;;
    *) die "unknown image '$image' (runtime, operator)" ;;
  esac
  log "building localhost/$name:$IMAGE_TAG from images/$image/Dockerfile ($ARTIFACTS artifacts)"
  start=$SECONDS
  # The images these tags name now: removed after the build if nothing else names them.
  previous=$(for t in "$IMAGE_TAG" latest; do
    "${BUILDAH[@]}" inspect --type image --format '{{.FromImageID}}' "localhost/$name:$t" 2> /dev/null && echo
  done | grep . | sort -u || true)
  if ! "${BUILDAH[@]}" bud --isolation chroot --layers=false \
      --ignorefile "images/$image/Dockerfile.dockerignore" \
      "${build_args[@]}" \
      -f "images/$image/Dockerfile" -t "localhost/$name:$IMAGE_TAG" -t "localhost/$name:latest" . \
      > "$WORK/$image.log" 2>&1; then
    tail -n 40 "$WORK/$image.log" >&2
    die "buildah bud failed for $image (log: $WORK/$image.log)"
  fi
  # Smoke test: the binary starts in the image as its user (every shared library resolves).
  ctr=$("${BUILDAH[@]}" from --quiet "localhost/$name:$IMAGE_TAG")
  if ! out=$("${BUILDAH[@]}" run --isolation chroot "$ctr" -- /opt/flink/bin/flink-cpp list-jobs 2>&1); then
    "${BUILDAH[@]}" rm "$ctr" > /dev/null 2>&1 || true
    die "localhost/$name:$IMAGE_TAG: flink-cpp does not start: $out"
  fi
  user=$("${BUILDAH[@]}" inspect --type image --format '{{.OCIv1.Config.User}}' "localhost/$name:$IMAGE_TAG")
  "${BUILDAH[@]}" rm "$ctr" > /dev/null 2>&1 || true
  [ "$user" = "9999:9999" ] || die "localhost/$name: runs as '$user', expected 9999:9999"
  tagged=$("${BUILDAH[@]}" images --no-trunc --noheading --format '{{.ID}} {{.Name}}' | awk '$2 != "<none>" {print $1}')
  for id in $previous; do
    grep -q "$id" <<< "$tagged" || "${BUILDAH[@]}" rmi "$id" > /dev/null 2>&1 || true
  done
  log "built localhost/$name:$IMAGE_TAG in $((SECONDS - start)) s"
done

"${BUILDAH[@]}" images --format '{{.Name}}:{{.Tag}} {{.Size}}' |
  grep -E "(flink-cpp|flink-cpp-operator|debian):" | sort -u | sed 's/^/  /'
