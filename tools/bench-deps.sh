#!/usr/bin/env bash
# Tools `make bench` measures with: hyperfine (timings) and GNU time (peak memory). Installed from
# the distribution when missing and this is a root shell with apt-get; otherwise the benchmark
# falls back to a perf_counter loop and getrusage, and says so.
need=()
command -v hyperfine >/dev/null 2>&1 || need+=(hyperfine)
[ -x /usr/bin/time ] || need+=(time)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "Installing ${need[*]} for the benchmark"
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}"; } >/dev/null 2>&1 \
    || echo "Could not install ${need[*]}: falling back to perf_counter / getrusage"
else
  echo "Not installed: ${need[*]} (falling back to perf_counter / getrusage)"
fi
exit 0
