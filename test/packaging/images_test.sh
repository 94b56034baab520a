#!/usr/bin/env bash
# Builds the images with scripts/build-images.sh (buildah, chroot isolation, vfs storage; a
# debootstrapped debian:bookworm-slim when no registry is reachable) and checks them: user
# 9999:9999, entrypoint /opt/flink/bin/flink-cpp, default command, the binary runs in the image
# as that user, the example job library in /opt/flink/usrlib; prints their sizes.
# Slow and needs root: runs only with FLINK_CPP_BUILD_IMAGES=1, else exits 77 (skipped).
# FLINK_CPP_IMAGE_ARTIFACTS=source builds from source inside buildah (the reference build).
# usage: images_test.sh SOURCE_DIR BUILD_DIR
SRC=$(cd "$1" && pwd)
BUILD=$(cd "$2" && pwd)
if [ "${FLINK_CPP_BUILD_IMAGES:-0}" != 1 ]; then
  echo "SKIP: set FLINK_CPP_BUILD_IMAGES=1 to build the images with buildah (make images)"
  exit 77
fi
source "$SRC/test/packaging/lib.sh"
[ "$(id -u)" -eq 0 ] || fail "building images needs root (buildah with vfs storage, debootstrap)"

TAG="test-$$"
step "scripts/build-images.sh (tag $TAG)"
BUILD_DIR="$BUILD" IMAGE_TAG="$TAG" bash "$SRC/scripts/build-images.sh" || fail "scripts/build-images.sh"
B=(buildah --storage-driver "${STORAGE_DRIVER:-vfs}")
CLEANUP+=("${B[*]} rmi localhost/flink-cpp:$TAG localhost/flink-cpp-operator:$TAG > /dev/null 2>&1")

for name in flink-cpp flink-cpp-operator; do
  ref="localhost/$name:$TAG"
  step "$ref"
  cfg=$("${B[@]}" inspect --type image --format '{{.OCIv1.Config.User}}|{{.OCIv1.Config.Entrypoint}}|{{.OCIv1.Config.Cmd}}' "$ref") ||
    fail "no image $ref"
  case $name in
    flink-cpp) want='9999:9999|[/opt/flink/bin/flink-cpp]|[jobmanager]' ;;
    flink-cpp-operator) want='9999:9999|[/opt/flink/bin/flink-cpp]|[operator]' ;;
  esac
  [ "$cfg" = "$want" ] || fail "$ref: user|entrypoint|cmd = $cfg, expected $want"
  ctr=$("${B[@]}" from --quiet "$ref")
  CLEANUP=("${B[*]} rm $ctr > /dev/null 2>&1" "${CLEANUP[@]}")
  out=$("${B[@]}" run --isolation chroot "$ctr" -- sh -c 'id -u; id -g; /opt/flink/bin/flink-cpp list-jobs' 2>&1) ||
    fail "$ref: flink-cpp does not run: $out"
  [ "$(sed -n 1p <<< "$out"):$(sed -n 2p <<< "$out")" = "9999:9999" ] || fail "$ref: runs as $(head -n 2 <<< "$out" | tr '\n' ' ')"
  if [ $name = flink-cpp ]; then
    "${B[@]}" run --isolation chroot "$ctr" -- test -r /opt/flink/usrlib/route-counts.so || fail "$ref: no /opt/flink/usrlib/route-counts.so"
    # The entrypoint with the image's default role starts a JobManager (stopped after a few seconds).
    jm=$(timeout 8 "${B[@]}" run --isolation chroot "$ctr" -- /opt/flink/bin/flink-cpp jobmanager \
           -D rest.port=0 -D jobmanager.rpc.port=0 -D metrics.reporter.prom.port=0 2>&1 || true)
    grep -q 'JobManager started' <<< "$jm" || fail "$ref: the entrypoint did not start a JobManager: $(head -n 5 <<< "$jm")"
  fi
  missing=$("${B[@]}" run --isolation chroot "$ctr" -- sh -c 'ldd /opt/flink/bin/flink-cpp | grep "not found" || true')
  [ -z "$missing" ] || fail "$ref: missing libraries: $missing"
  echo "   $("${B[@]}" images --format '{{.Size}}' "$ref" | head -n 1)"
done
echo "PASS: images"
