#!/usr/bin/env bash
# The Dockerfiles in images/: `dockerfile-utils lint` (npm; hadolint is not packaged) reports
# nothing; the runtime stage is debian:bookworm-slim, runs as 9999:9999 with the entrypoint
# /opt/flink/bin/flink-cpp; a self-contained `build-source` stage compiles the project; the
# runtime-stage packages exist in bookworm and provide every shared library the flink-cpp
# binary links (ldd + dpkg -S), and the ignore files let in every directory CMake reads.
# usage: dockerfiles_test.sh SOURCE_DIR [FLINK_CPP_BINARY]
SRC=$(cd "$1" && pwd)
BINARY=${2:-}
source "$SRC/test/packaging/lib.sh"
tools dockerfile-utils node

# Packages of the bookworm-slim base (minbase) that need not be listed: they are always there.
BASE_PACKAGES="libc6 libgcc-s1 libstdc++6 zlib1g"

# runtime_packages DOCKERFILE: the packages apt-get installs in the last stage.
runtime_packages() {
  awk '/^FROM /{stage++} {print stage "\t" $0}' "$1" | awk -F'\t' -v last="$(grep -c '^FROM ' "$1")" '$1 == last {print $2}' |
    sed -e ':a' -e '/\\$/N; s/\\\n//; ta' | grep 'apt-get install' |
    sed 's/.*apt-get install[^&]*--no-install-recommends//; s/&&.*//' | tr ' ' '\n' | grep -v '^$' | sort -u
}

if ! apt-cache show libc6 > /dev/null 2>&1; then
  [ "$(id -u)" -eq 0 ] || fail "apt's package lists are missing; run apt-get update"
  apt-get update -qq > /dev/null || fail "apt-get update"
fi

# The Debian package of each shared library the binary links (one dpkg -S for all: it is slow).
if [ -n "$BINARY" ]; then
  ldd "$BINARY" | awk '/=> \// {print $3}' > "$WORK/libs.txt"
  [ -s "$WORK/libs.txt" ] || fail "ldd $BINARY found no shared libraries"
  while read -r lib; do
    real=$(readlink -f "$lib")
    printf '%s\n' "$lib" "$real" "/usr$real" "${real#/usr}" "/usr$lib" "${lib#/usr}"
  done < "$WORK/libs.txt" | sort -u > "$WORK/candidates.txt"
  # shellcheck disable=SC2046
  dpkg -S $(cat "$WORK/candidates.txt") 2> /dev/null | sed 's/^\([^:]*\)\(:[a-z0-9]*\)\{0,1\}: /\1 /' > "$WORK/owned.txt" || true
  while read -r lib; do
    real=$(readlink -f "$lib")
    owner=$(awk -v a="$lib" -v b="$real" -v c="/usr$real" -v d="${real#/usr}" -v e="/usr$lib" -v f="${lib#/usr}" \
      '$2 == a || $2 == b || $2 == c || $2 == d || $2 == e || $2 == f {print $1; exit}' "$WORK/owned.txt")
    [ -n "$owner" ] || fail "no Debian package owns $lib"
    echo "$lib $owner"
  done < "$WORK/libs.txt" > "$WORK/lib-owners.txt"
fi

for image in runtime operator; do
  df="$SRC/images/$image/Dockerfile"
  [ -f "$df" ] || fail "no $df"
  step "$image: dockerfile-utils lint"
  out=$(dockerfile-utils lint "$df" 2>&1) || fail "dockerfile-utils lint images/$image/Dockerfile:"$'\n'"$out"
  [ -z "$out" ] || fail "dockerfile-utils lint images/$image/Dockerfile:"$'\n'"$out"

  step "$image: stages, user, entrypoint"
  grep -q '^ARG BASE_IMAGE=debian:bookworm-slim$' "$df" || fail "$image: BASE_IMAGE is not debian:bookworm-slim"
  [ "$(grep '^FROM ' "$df" | tail -n 1)" = 'FROM ${BASE_IMAGE}' ] || fail "$image: the runtime stage is not FROM \${BASE_IMAGE}"
  grep -q '^FROM ${BASE_IMAGE} AS build-source$' "$df" || fail "$image: no self-contained build-source stage"
  grep -q 'cmake --build' "$df" || fail "$image: the build-source stage does not compile"
  grep -q '^FROM build-${ARTIFACTS} AS artifacts$' "$df" || fail "$image: no artifacts stage selected by ARTIFACTS"
  [ "$(grep '^USER ' "$df" | tail -n 1)" = "USER 9999:9999" ] || fail "$image: does not run as 9999:9999"
  grep -q 'groupadd --system --gid 9999 flink' "$df" && grep -q 'useradd --system --uid 9999 --gid flink' "$df" ||
    fail "$image: no flink user/group 9999"
  grep -q '^ENTRYPOINT \["/opt/flink/bin/flink-cpp"\]$' "$df" || fail "$image: entrypoint is not /opt/flink/bin/flink-cpp"
  case $image in
    runtime) grep -q '^CMD \["jobmanager"\]$' "$df" || fail "runtime: CMD is not jobmanager" ;;
    operator) grep -q '^CMD \["operator"\]$' "$df" || fail "operator: CMD is not operator" ;;
  esac

  step "$image: runtime packages exist in bookworm"
  pkgs=$(runtime_packages "$df")
  [ -n "$pkgs" ] || fail "$image: no apt-get install in the runtime stage"
  # shellcheck disable=SC2086
  if ! apt-cache show --no-all-versions $pkgs > /dev/null 2>&1; then
    for p in $pkgs; do
      apt-cache show --no-all-versions "$p" > /dev/null 2>&1 || fail "$image: package $p is not in the configured Debian release"
    done
  fi
  echo "   $(echo $pkgs)"

  if [ -n "$BINARY" ]; then
    step "$image: the packages provide every library $(basename "$BINARY") links"
    while read -r lib owner; do
      # A sanitizer build (make test SANITIZE=...) links the sanitizer runtimes, which no image
      # build does (the Dockerfiles build without FLINK_SANITIZE).
      case "$owner" in libasan*|libubsan*|libtsan*) continue ;; esac
      grep -qx "$owner" <<< "$pkgs" || grep -qw "$owner" <<< "$BASE_PACKAGES" ||
        fail "$image: $lib comes from $owner, which the runtime stage does not install"
    done < "$WORK/lib-owners.txt"
  fi

  step "$image: the ignore file lets in what CMake reads"
  ignore="$SRC/images/$image/Dockerfile.dockerignore"
  [ -f "$ignore" ] || fail "no $ignore"
  for d in $(sed -n 's/^add_subdirectory(\([^)]*\)).*/\1/p' "$SRC/CMakeLists.txt"); do
    [ -f "$SRC/$d/CMakeLists.txt" ] || continue
    grep -qx "!$d/" "$ignore" || grep -qx "!$d/CMakeLists.txt" "$ignore" || fail "$ignore keeps out $d/ (add_subdirectory in CMakeLists.txt)"
  done
done
cmp -s "$SRC/images/runtime/Dockerfile.dockerignore" "$SRC/images/operator/Dockerfile.dockerignore" ||
  fail "the two Dockerfile.dockerignore files differ (same build context)"

echo "PASS: dockerfiles"
