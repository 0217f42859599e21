# shellcheck shell=bash
# Sourced by the build scripts: need_go WHO MINOR TOOLCHAIN checks that Go (>= 1.21, which
# can fetch toolchains) is on PATH and, when it is older than 1.MINOR, has the go command
# fetch TOOLCHAIN from the module proxy (GOTOOLCHAIN), as a module like any other.
need_go() {
  local who=$1 want=$2 toolchain=$3 minor
  command -v go >/dev/null || { echo "$who: Go >= 1.21 is needed on PATH (https://go.dev/doc/install, or Debian's golang from bookworm-backports)" >&2; exit 1; }
  minor=$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')
  if [ "$minor" -lt 21 ]; then
    echo "$who: $(go env GOVERSION) is too old: Go >= 1.21 is needed" >&2; exit 1
  elif [ "$minor" -lt "$want" ]; then
    export GOTOOLCHAIN=$toolchain
  fi
}
